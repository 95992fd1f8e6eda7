"""The app's own tables. Everything else it reads belongs to AWX and is never migrated here."""

from django.db import models

from .columns import NAME_MAX_LENGTH, SOURCES


class ChannelOverflow(models.Model):
    """channels_redis "over capacity" records of one group on one node, coalesced per window.

    Writers never read-modify-write a row: they add to it with one INSERT ... ON CONFLICT DO
    UPDATE (overflow/upsert.py), so any number of processes on any number of nodes can count into the
    same row at once.
    """

    node = models.CharField(max_length=NAME_MAX_LENGTH, help_text="CLUSTER_HOST_ID, else the host name.")
    group = models.CharField(max_length=NAME_MAX_LENGTH, help_text="The channel layer group that overflowed.")
    window_start = models.DateTimeField(help_text="Start of the window (CAPTURE_WINDOW) counted.")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    drops = models.BigIntegerField(help_text="Records: group messages dropped for some members.")
    queues_over = models.BigIntegerField(help_text="Sum of the queues found full, over all records.")
    max_group_size = models.IntegerField(help_text="Largest member count seen in one record.")
    source = models.CharField(max_length=16, choices=SOURCES)

    class Meta:
        verbose_name = "channel overflow"
        constraints = [
            models.UniqueConstraint(
                fields=["node", "group", "window_start", "source"], name="awx_eventdebug_overflow_key"
            )
        ]
        indexes = [
            # since/until over every group, and purge by age.
            models.Index(fields=["window_start"], name="awx_eventdebug_overflow_win"),
            # one group (exact or a prefix glob) over time.
            models.Index(fields=["group", "window_start"], name="awx_eventdebug_overflow_grp"),
        ]

    def __str__(self):
        return f"{self.group} on {self.node} at {self.window_start:%Y-%m-%d %H:%M:%S}: {self.drops}"


class IngestedRecord(models.Model):
    """The fingerprint of one log record already counted by ``eventdebug ingest``.

    Ingest counts a record only when inserting its fingerprint succeeds, in the same transaction
    as the counts, so a file ingested twice, or a rotated file overlapping the last one, adds
    nothing the second time (overflow/ingest.py).
    """

    fingerprint = models.CharField(max_length=32, unique=True)
    logged_at = models.DateTimeField(db_index=True, help_text="The record's own time (purge by age).")

    class Meta:
        verbose_name = "ingested overflow record"

    def __str__(self):
        return self.fingerprint


class IngestHorizon(models.Model):
    """How far back purge deleted ingest fingerprints: one row, the newest record time among those
    it deleted. Ingest can no longer tell whether a record at or before it was counted (its
    fingerprint is gone, its row may be purged too), so it skips such records rather than count
    them again (overflow/ingest.py)."""

    purged_through = models.DateTimeField(
        help_text="Newest record time of a purged fingerprint: ingest skips records up to it."
    )

    class Meta:
        verbose_name = "ingest purge horizon"

    def __str__(self):
        return f"ingest fingerprints purged through {self.purged_through:%Y-%m-%d %H:%M:%S}"


class LagRollup(models.Model):
    """Event lag of one kind over one final minute (or an hour of them), as a histogram.

    Filled once per minute after the minute has ended plus LAG_ROLLUP_GRACE (``modified`` is
    stamped at insert, so no later event lands in it), by one SQL pass over the minute's rows;
    long lag windows are answered from these rows (lag/rollup.py). Writers insert with ON CONFLICT
    DO NOTHING on (kind, span, start): concurrent fillers computing the same minute store it once.
    Rows stay until RETENTION, after AWX's cleanup_jobs has deleted the events.
    """

    kind = models.CharField(max_length=32, help_text="Event kind (lag --kind).")
    span = models.IntegerField(help_text="Seconds covered: 60 (a minute) or 3600 (an hour of minutes).")
    start = models.DateTimeField(help_text="Start of the minute or hour, on modified, UTC.")
    count = models.BigIntegerField(help_text="Events in the statistics (created set, modified > created).")
    total = models.FloatField(help_text="Sum of their lags, in seconds.")
    minimum = models.FloatField(null=True)
    maximum = models.FloatField(null=True)
    missing_created = models.BigIntegerField()
    negative = models.BigIntegerField(help_text="Stored before they were created (clock skew).")
    backfilled = models.BigIntegerField(help_text="created == modified: AWX had no created to keep.")
    histogram = models.TextField(help_text="JSON [[bucket, count], ...] of lag/sketch.py's buckets.")

    class Meta:
        verbose_name = "lag rollup"
        constraints = [
            models.UniqueConstraint(fields=["kind", "span", "start"], name="awx_eventdebug_lagrollup_key")
        ]
        indexes = [models.Index(fields=["start"], name="awx_eventdebug_lagrollup_start")]

    def __str__(self):
        return f"{self.kind} lag over {self.span} s from {self.start:%Y-%m-%d %H:%M}: {self.count} events"


class ClockEstimate(models.Model):
    """The execution nodes' clock estimate over the latest events of HEALTH_WINDOW (lag/nodes.py),
    stored by the maintenance upkeep at most once a minute, so that the readings of that window
    (check, report, path, the dashboard) read one row instead of the events. One row, replaced."""

    since = models.DateTimeField(help_text="Start of the window the estimate read.")
    until = models.DateTimeField(help_text="End of the window the estimate read: when it was made.")
    events_since = models.DateTimeField(help_text="Where the latest events it read start (lag/recent.py).")
    estimate = models.JSONField(help_text="The estimate, as check's clock_skew shows it.")

    class Meta:
        verbose_name = "clock estimate"

    def __str__(self):
        return f"clock estimate of {self.until:%Y-%m-%d %H:%M:%S}"


class NodeSnapshot(models.Model):
    """One node's hops of the critical path as its sampler read them (path/sampler.py).

    Only the database is shared between AWX nodes: each node writes its own rows here, and
    ``eventdebug path`` reads the latest row of every node. At most one row per node and
    sampling slot (the unique constraint), whichever process of the node took it.
    """

    node = models.CharField(max_length=NAME_MAX_LENGTH, help_text="CLUSTER_HOST_ID, else the host name.")
    slot_start = models.DateTimeField(help_text="Start of the sampling interval this snapshot fills.")
    taken_at = models.DateTimeField()
    interval = models.FloatField(help_text="Seconds between two snapshots of this node.")
    seconds = models.FloatField(help_text="How long taking the snapshot took.")
    data = models.JSONField(help_text="Backlog, wsrelay and channel layer figures (path/collect.py).")

    class Meta:
        verbose_name = "node snapshot"
        constraints = [
            models.UniqueConstraint(fields=["node", "slot_start"], name="awx_eventdebug_snapshot_slot")
        ]
        indexes = [
            # the latest rows of each node, and the purge of one node's old rows.
            models.Index(fields=["node", "taken_at"], name="awx_eventdebug_snapshot_node"),
            models.Index(fields=["taken_at"], name="awx_eventdebug_snapshot_time"),
        ]

    def __str__(self):
        return f"{self.node} at {self.taken_at:%Y-%m-%d %H:%M:%S}"


class OverflowTotal(models.Model):
    """Every drop recorded, per node, group kind and source: added to by the writers of
    ChannelOverflow rows in the transaction that adds the rows (overflow/upsert.py), so that the
    drops counter of GET metrics/ reads a few rows whatever the table holds, and never goes down
    when purge deletes old rows."""

    node = models.CharField(max_length=NAME_MAX_LENGTH)
    group_kind = models.CharField(
        max_length=NAME_MAX_LENGTH, help_text="job_events, broadcast, ... (awx.messages.GROUP_KINDS)."
    )
    source = models.CharField(max_length=16, choices=SOURCES)
    drops = models.BigIntegerField()

    class Meta:
        verbose_name = "channel overflow total"
        constraints = [
            models.UniqueConstraint(fields=["node", "group_kind", "source"], name="awx_eventdebug_total_key")
        ]

    def __str__(self):
        return f"{self.group_kind} on {self.node} ({self.source}): {self.drops} drops"


class MetricsReporter(models.Model):
    """Which node exports the cluster-wide series of GET metrics/ (health/reporter.py): one row,
    a lease its node renews at each scrape, so Prometheus scraping every web node counts each
    figure of the shared database once."""

    node = models.CharField(max_length=NAME_MAX_LENGTH, help_text="CLUSTER_HOST_ID of the reporting node.")
    since = models.DateTimeField(help_text="Origin of the lag histogram's counters (a minute's start).")
    until = models.DateTimeField(help_text="End of the lease: another node's scrape takes it over after.")

    class Meta:
        verbose_name = "metrics reporter"

    def __str__(self):
        return f"{self.node} reports the cluster's metrics until {self.until:%Y-%m-%d %H:%M:%S}"
