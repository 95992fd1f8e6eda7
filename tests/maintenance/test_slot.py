"""One slot of maintenance on the test database: the lag rollups of the final minutes stored, one
batch of every retention purge per slot (oldest first, the young rows kept, the purged drops kept
as totals), a failed task not stopping the others, and the slot's work done by one process of
the node."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from awx_eventdebug.db import bound_session_statements, delete_oldest
from awx_eventdebug.lag.rollup import PURGE_BATCH as ROLLUP_BATCH
from awx_eventdebug.maintenance.slot import run_slot, upkeep
from awx_eventdebug.models import ChannelOverflow, IngestedRecord, LagRollup, NodeSnapshot
from awx_eventdebug.overflow.queries import PURGE_BATCH as OVERFLOW_BATCH
from awx_eventdebug.overflow.queries import cumulative_drops, purge_overflow
from awx_eventdebug.overflow.upsert import Counts, add_counts
from awx_eventdebug.path.sampler import PURGE_BATCH as SNAPSHOT_BATCH
from awx_eventdebug.path.sampler import SKIPPED, WRITTEN, lock_key

pytestmark = pytest.mark.django_db(transaction=True)

EXTRA = 7  # old rows beyond one batch: left for the next slot


def snapshot(node: str, taken: datetime) -> NodeSnapshot:
    return NodeSnapshot(node=node, slot_start=taken, taken_at=taken, interval=10, seconds=0, data={})


def rollup(start: datetime) -> LagRollup:
    return LagRollup(
        kind="job", span=60, start=start, count=0, total=0, missing_created=0, negative=0, backfilled=0,
        histogram="[]",
    )  # fmt: skip


def fingerprint(i: int, at: datetime) -> IngestedRecord:
    return IngestedRecord(fingerprint=f"{i:032x}", logged_at=at)


@pytest.fixture
def aged_rows():
    """Of every table a purge keeps, one batch and EXTRA more rows past the default retentions
    (the i-th row i minutes older than the first), and one young row."""
    now = timezone.now().replace(microsecond=0)
    past_sample_retention, past_retention = now - timedelta(days=2), now - timedelta(days=31)
    tables = (
        (NodeSnapshot, SNAPSHOT_BATCH, past_sample_retention, lambda i, at: snapshot(f"node-{i}", at)),
        (LagRollup, ROLLUP_BATCH, past_retention, lambda i, at: rollup(at)),
        (IngestedRecord, OVERFLOW_BATCH, past_retention, lambda i, at: fingerprint(i, at)),
    )
    for model, batch, oldest, row in tables:
        old = [row(i, oldest - timedelta(minutes=i)) for i in range(batch + EXTRA)]
        model.objects.bulk_create([*old, row(batch + EXTRA, now)])
    # Overflow rows as the capture writes them: their drops counted in the totals too.
    starts = [past_retention - timedelta(minutes=i) for i in range(OVERFLOW_BATCH + EXTRA)] + [now]
    add_counts({("awx-1", "job_events-1", at, "live"): Counts(at, at, 1, 1, 1) for at in starts})
    return now


def old_rows(now: datetime) -> dict:
    return {
        "snapshots": NodeSnapshot.objects.filter(taken_at__lt=now - timedelta(days=1)).count(),
        "rollups": LagRollup.objects.filter(start__lt=now - timedelta(days=30)).count(),
        "overflow": ChannelOverflow.objects.filter(window_start__lt=now - timedelta(days=30)).count(),
        "fingerprints": IngestedRecord.objects.filter(logged_at__lt=now - timedelta(days=30)).count(),
    }


def test_each_slot_runs_one_batch_of_every_purge_oldest_first(aged_rows):
    drops = cumulative_drops()
    first = upkeep()
    assert first["errors"] == {}
    done = first["done"]
    assert (done["snapshots_purged"], done["lag_rollups_purged"]) == (SNAPSHOT_BATCH, ROLLUP_BATCH)
    assert done["overflow_purged"] == {"overflow_rows": OVERFLOW_BATCH, "ingest_fingerprints": OVERFLOW_BATCH}
    assert old_rows(aged_rows) == dict.fromkeys(("snapshots", "rollups", "overflow", "fingerprints"), EXTRA)
    # Oldest first: the old rows left are the youngest of them.
    left = set(NodeSnapshot.objects.filter(taken_at__lt=aged_rows).values_list("node", flat=True))
    assert left == {f"node-{i}" for i in range(EXTRA)}
    second = upkeep()["done"]
    assert (second["snapshots_purged"], second["lag_rollups_purged"]) == (EXTRA, EXTRA)
    assert second["overflow_purged"] == {"overflow_rows": EXTRA, "ingest_fingerprints": EXTRA}
    third = upkeep()["done"]
    assert (third["snapshots_purged"], third["lag_rollups_purged"]) == (0, 0)
    assert old_rows(aged_rows) == dict.fromkeys(("snapshots", "rollups", "overflow", "fingerprints"), 0)
    # The young rows stay, and the drops of the purged rows are kept as totals.
    assert [model.objects.count() for model in (NodeSnapshot, ChannelOverflow, IngestedRecord)] == [1, 1, 1]
    assert LagRollup.objects.filter(start=aged_rows).exists()
    assert cumulative_drops() == drops


def test_the_purges_follow_the_retention_settings(aged_rows, settings):
    settings.EVENTDEBUG = {"SAMPLE_RETENTION": "30d", "RETENTION": "60d"}
    done = upkeep()["done"]
    assert (done["snapshots_purged"], done["lag_rollups_purged"]) == (0, 0)
    assert done["overflow_purged"] == {"overflow_rows": 0, "ingest_fingerprints": 0}
    settings.EVENTDEBUG = {"SAMPLE_RETENTION": "1h", "RETENTION": "1h"}
    done = upkeep()["done"]
    assert (done["snapshots_purged"], done["lag_rollups_purged"]) == (SNAPSHOT_BATCH, ROLLUP_BATCH)


def test_a_slot_stores_the_lag_rollups_of_the_final_minutes(node_redis, stand_in_rebuilt):
    from example_settings.awxschema.workload import insert_job

    modified = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    insert_job(
        "job", modified, [(modified - timedelta(seconds=lag), modified, "runner_on_ok") for lag in (1, 2, 3)]
    )
    result = run_slot(3600, "node-t")
    assert result["sample"]["status"] == WRITTEN and result["upkeep"]["errors"] == {}
    assert set(result["upkeep"]["done"]["lag_rollups_left"].values()) == {0}
    assert LagRollup.objects.get(kind="job", span=60, start=modified).count == 3
    # The node's other processes in the same slot: sampled already, so not their turn.
    again = run_slot(3600, "node-t")
    assert again["sample"]["status"] == SKIPPED and again["upkeep"] is None
    # Idempotent: filling again stores nothing twice.
    upkeep()
    assert LagRollup.objects.filter(kind="job", span=60, start=modified).count() == 1


def test_a_failing_task_does_not_stop_the_others(aged_rows, stand_in_rebuilt):
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE main_jobevent")  # an AWX without it: filling the rollups fails
    result = upkeep()
    assert set(result["errors"]) == {"lag_rollups_left", "clock_estimate_stored"}
    assert all("main_jobevent" in error for error in result["errors"].values())
    assert result["done"]["snapshots_purged"] == SNAPSHOT_BATCH
    assert result["done"]["overflow_purged"]["overflow_rows"] == OVERFLOW_BATCH


@pytest.mark.postgres_only(reason="advisory locks")
def test_without_sampling_the_process_holding_the_node_lock_does_the_upkeep():
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_key("node-m")])
        assert run_slot(60, "node-m", sample=False) == {"sample": None, "upkeep": None}
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key("node-m")])
    finally:
        other.close()
    result = run_slot(60, "node-m", sample=False)
    assert result["sample"] is None and result["upkeep"]["errors"] == {}


@pytest.mark.postgres_only(reason="row locks")
def test_purges_at_once_delete_disjoint_batches_and_leave_the_drops_counted(aged_rows, settings):
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 10}  # a purge waiting on the other's rows fails, not hangs
    drops = cumulative_drops()
    assert drops == {("awx-1", "job_events"): OVERFLOW_BATCH + EXTRA + 1}
    old = ChannelOverflow.objects.filter(window_start__lt=aged_rows - timedelta(days=30))
    holding, release = threading.Event(), threading.Event()
    taken = []

    def hold(batch):  # the other purge, stopped with its batch locked
        holding.set()
        release.wait(30)

    def other_node():
        try:
            taken.append(delete_oldest(old, "window_start", 3, before_delete=hold))
        finally:
            connection.close()

    worker = threading.Thread(target=other_node)
    worker.start()
    try:
        assert holding.wait(30)
        bound_session_statements()
        result = purge_overflow(timedelta(days=30), batch_size=3, max_batches=1)
    finally:
        release.set()
        worker.join(30)
        connection.close()  # the session's statement timeout goes with it
    assert taken == [3] and result["removed"]["overflow_rows"] == 3
    assert old.count() == OVERFLOW_BATCH + EXTRA - 6
    assert cumulative_drops() == drops
