"""A generated AWX job event workload: jobs of each kind, where they ran, their events, and
realistic lag.

Jobs run on the execution nodes exec-1..exec-4, managed by the control nodes awx-1 and awx-2, in
turn (``main_unifiedjob.execution_node``, ``controller_node``). Lag (``modified - created``)
follows one or more profiles (comma-separated), each the mark of one cause:

- ``steady``: log-normal around ``lag`` seconds (median), as a healthy callback receiver gives;
- ``bursty``: steady, except the first minute of every ten, when lag is 30 times larger;
- ``backlog``: a queue that grows then drains: lag rises linearly from ``lag`` to ``peak``
  seconds at the middle of the time range, then falls back, on every node;
- ``slow_node``: exec-3's events wait 10 to 30 s before the queue (a slow execution node or
  receptor link): its lag is high and spread out, every node else's as steady;
- ``skewed_node``: exec-1's clock runs 5 s ahead (it stamps ``created`` 5 s late: most of its
  lags are negative) and exec-2's 3 s behind (every lag 3 s longer, spread as the others');
- ``slow_inserts``: the callback receiver stamps ``modified`` on a whole batch when the previous
  insert ends, every 4 s (awx/main/dispatch/worker/callback.py flush()): lag up to 4 s longer on
  every node, and events sharing one ``modified``.

A fraction of events has no ``created`` (NULL, left out of percentiles) and a fraction was stored
up to 0.2 s before it was created (the jitter between NTP-synced clocks: negative lag). The same
``seed`` gives the same rows. PostgreSQL loads through COPY into the partitioned tables, creating
hourly partitions first; SQLite through batched executemany.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction

from awx_eventdebug.awx.tables import KINDS, UNIFIED_JOB_TABLE
from awx_eventdebug.timeutil import utc_from_epoch

from .schema import COLUMNS, ensure_partitions, legacy_columns

PROFILES = ("steady", "bursty", "backlog", "slow_node", "skewed_node", "slow_inserts")
EXECUTION_NODES = ("exec-1", "exec-2", "exec-3", "exec-4")
CONTROLLER_NODES = ("awx-1", "awx-2")
# slow_node: the node and how long its events wait before the queue, at least and at most.
SLOW_NODE, SLOW_NODE_DELAY = "exec-3", (10.0, 30.0)
# skewed_node: how far each node's clock runs ahead (negative: behind), in seconds.
CLOCK_AHEAD = {"exec-1": 5.0, "exec-2": -3.0}
# slow_inserts: seconds one batch insert takes; the next batch is stamped when it ends.
INSERT_SECONDS = 4.0

_PLAYBOOK_EVENTS = (
    "runner_on_start",
    "runner_on_ok",
    "playbook_on_task_start",
    "runner_on_ok",
    "runner_on_skipped",
    "runner_on_ok",
    "runner_on_failed",
    "runner_on_ok",
)
_COMMAND_EVENTS = ("runner_on_ok", "runner_on_ok", "runner_on_skipped", "runner_on_failed")

_CONSTANTS = {
    "event_data": "{}",
    "verbosity": 0,
    "failed": False,
    "changed": False,
    "playbook": "site.yml",
    "play": "all",
    "role": "",
    "task": "ping",
    "host_id": None,
    "host_name": "localhost",
    "parent_uuid": "",
}


@dataclass
class WorkloadSpec:
    kinds: tuple[str, ...] = tuple(KINDS)
    jobs: int = 10  # per kind
    events: int = 1000  # per job
    since: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=2))
    until: datetime = field(default_factory=lambda: datetime.now(UTC))
    job_duration: float = 300.0  # seconds over which one job's events are spread
    profile: str = "steady"  # one or more of PROFILES, comma-separated
    lag: float = 0.5  # median lag in seconds
    peak: float = 60.0  # backlog profile's lag at the middle of the range
    missing_created: float = 0.005
    negative: float = 0.001
    seed: int = 1
    batch: int = 50_000
    # "copy" (PostgreSQL only) or "insert" (batched executemany); "auto": copy where possible.
    load: str = "auto"


@dataclass
class SeedResult:
    jobs: dict[str, list[int]] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    partitions: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "jobs": {kind: len(ids) for kind, ids in self.jobs.items()},
            "job_ids": self.jobs,
            "events": self.events,
            "partitions": self.partitions,
            "seconds": round(self.seconds, 2),
        }


def profile_names(profile: str) -> set[str]:
    """The profiles of a comma-separated ``profile``; ValueError names an unknown one."""
    names = {name.strip() for name in profile.split(",") if name.strip()}
    unknown = sorted(names - set(PROFILES))
    if unknown or not names:
        raise ValueError(
            f"unknown lag profile {(unknown or [profile])[0]!r}; choose one or more of {', '.join(PROFILES)}"
        )
    return names


def job_nodes(number: int) -> tuple[str, str]:
    """(execution_node, controller_node) of a kind's job ``number`` (from 0): each execution node
    in turn, and each round of them under the next controller, so that every execution node
    works under every controller and a node's cause never shows as a controller's."""
    rounds, node = divmod(number, len(EXECUTION_NODES))
    return EXECUTION_NODES[node], CONTROLLER_NODES[rounds % len(CONTROLLER_NODES)]


class LagModel:
    def __init__(self, spec: WorkloadSpec, rng: random.Random):
        self.spec = spec
        self.profiles = profile_names(spec.profile)
        self.rng = rng
        self.start = spec.since.timestamp()
        self.span = max(spec.until.timestamp() - self.start, 1.0)
        self.mu = math.log(spec.lag)

    def __call__(self, created: float, node: str) -> float:
        """The true lag of an event created at ``created`` on execution ``node``."""
        spec, rng, profiles = self.spec, self.rng, self.profiles
        roll = rng.random()
        slow = "slow_node" in profiles and node == SLOW_NODE
        # Clock jitter turns only the shortest lags negative: none of a slow node's.
        if roll < spec.negative and not slow:
            return -rng.uniform(0.001, 0.2)
        lag = rng.lognormvariate(self.mu, 0.6)
        if "bursty" in profiles and int((created - self.start) // 60) % 10 == 0:
            lag *= 30
        if "backlog" in profiles:
            position = (created - self.start) / self.span
            lag += (spec.peak - spec.lag) * max(0.0, 1 - abs(2 * position - 1))
        if slow:
            lag += rng.uniform(*SLOW_NODE_DELAY)
        if "slow_inserts" in profiles:
            arrived = created + lag
            lag = math.ceil(arrived / INSERT_SECONDS) * INSERT_SECONDS - created
        return lag

    def clock_ahead(self, node: str) -> float:
        """How far ``node``'s clock, which stamps ``created``, runs ahead of the receiver's."""
        return CLOCK_AHEAD.get(node, 0.0) if "skewed_node" in self.profiles else 0.0


def seed_workload(spec: WorkloadSpec, progress=None) -> SeedResult:
    """Insert ``spec``'s jobs and events; ``progress(done, total)`` is called after each batch."""
    rng = random.Random(spec.seed)
    lag_of = LagModel(spec, rng)
    result = SeedResult()
    started = time.monotonic()
    total = len(spec.kinds) * spec.jobs * spec.events
    done = 0
    latest_start = max(spec.until.timestamp() - spec.job_duration, spec.since.timestamp())
    with transaction.atomic(), connection.cursor() as cursor:
        for kind in spec.kinds:
            job_times = sorted(
                utc_from_epoch(rng.uniform(spec.since.timestamp(), latest_start)) for _ in range(spec.jobs)
            )
            nodes = [job_nodes(number) for number in range(spec.jobs)]
            result.jobs[kind] = _insert_jobs(cursor, kind, job_times, spec.job_duration, nodes, spec.events)
            if connection.vendor == "postgresql":
                result.partitions += ensure_partitions(cursor, KINDS[kind].table, job_times)
            rows = _event_rows(kind, result.jobs[kind], job_times, nodes, spec, rng, lag_of)
            use_copy = spec.load == "copy" or (spec.load == "auto" and connection.vendor == "postgresql")
            columns = [name for name, _ in COLUMNS[kind]]
            for written in _load(cursor, KINDS[kind].table, columns, rows, spec.batch, use_copy):
                done += written
                if progress:
                    progress(done, total)
            result.events[kind] = spec.jobs * spec.events
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {KINDS[kind].table}")
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {UNIFIED_JOB_TABLE}")
    result.seconds = time.monotonic() - started
    return result


def insert_job(
    kind: str,
    job_created: datetime,
    events,
    duration: float = 60.0,
    legacy: bool = False,
    nodes: tuple[str, str] = ("exec-1", "awx-1"),
) -> int:
    """One job of ``kind`` run on ``nodes`` (execution_node, controller_node) with exactly these
    events, each ``(created or None, modified, event)`` or ``(created, modified, event, stdout,
    start_line, end_line)``; creates its partition on PostgreSQL, or with ``legacy`` writes the
    events to the table AWX's migration 0144 left behind. Returns the job id. For tests that need
    known rows."""
    parent = KINDS[kind].parent_column
    columns = [name for name, _ in (legacy_columns(kind) if legacy else COLUMNS[kind])]
    events = list(events)
    with transaction.atomic(), connection.cursor() as cursor:
        [job_id] = _insert_jobs(cursor, kind, [job_created], duration, [nodes], len(events))
        if connection.vendor == "postgresql" and not legacy:
            ensure_partitions(cursor, KINDS[kind].table, [job_created])
        rows = []
        for counter, (created, modified, event, *output) in enumerate(events, 1):
            stdout, start_line, end_line = output or ("", counter - 1, counter)
            values = dict(_CONSTANTS, uuid=f"{job_id}-{counter}", counter=counter, stdout=stdout)
            values.update(
                start_line=start_line,
                end_line=end_line,
                event=event,
                job_created=job_created,
                created=created,
                modified=modified,
            )
            values[parent] = job_id
            rows.append(tuple(values[name] for name in columns))
        table = KINDS[kind].legacy_table if legacy else KINDS[kind].table
        for _ in _load(cursor, table, columns, rows, 10_000, use_copy=connection.vendor == "postgresql"):
            pass
    return job_id


def _insert_jobs(
    cursor, kind: str, job_times: list[datetime], duration: float, nodes, events: int
) -> list[int]:
    """One job per time, finished ``duration`` seconds after it was created with ``events`` events
    emitted; ``nodes`` gives each its (execution_node, controller_node)."""
    ids = []
    # AWX's jobs are django-polymorphic models: the content type names each job's kind.
    content_type, _ = ContentType.objects.get_or_create(app_label="main", model=KINDS[kind].model)
    for number, (created, (execution_node, controller_node)) in enumerate(
        zip(job_times, nodes, strict=True), 1
    ):
        finished = created + timedelta(seconds=duration)
        cursor.execute(
            f"INSERT INTO {UNIFIED_JOB_TABLE} "
            "(created, modified, name, launch_type, status, started, finished, elapsed, "
            "polymorphic_ctype_id, execution_node, controller_node, emitted_events) "
            "VALUES (%s, %s, %s, 'manual', 'successful', %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [
                _param(created),
                _param(finished),
                f"seeded {kind} {number}",
                _param(created),
                _param(finished),
                duration,
                content_type.id,
                execution_node,
                controller_node,
                events,
            ],
        )
        ids.append(cursor.fetchone()[0])
    return ids


def _event_rows(kind, job_ids, job_times, nodes, spec: WorkloadSpec, rng, lag_of):
    """Yield rows in COLUMNS[kind] order, datetimes aware (UTC)."""
    columns = [name for name, _ in COLUMNS[kind]]
    parent = KINDS[kind].parent_column
    names = _PLAYBOOK_EVENTS if kind in ("job", "project_update") else _COMMAND_EVENTS
    step = spec.job_duration / max(spec.events, 1)
    for job_id, job_created, (node, _) in zip(job_ids, job_times, nodes, strict=True):
        base = job_created.timestamp()
        for counter in range(1, spec.events + 1):
            created = base + (counter - 1) * step + rng.random() * step
            modified = created + lag_of(created, node)
            # The node stamps created on its own clock: one ahead makes the stored lag shorter.
            created += lag_of.clock_ahead(node)
            values = dict(_CONSTANTS)
            values.update(
                created=None if rng.random() < spec.missing_created else utc_from_epoch(created),
                modified=utc_from_epoch(modified),
                uuid=f"{rng.getrandbits(128):032x}",
                counter=counter,
                stdout=f"ok: [localhost] event {counter}",
                start_line=counter - 1,
                end_line=counter,
                event="playbook_on_stats" if counter == spec.events else names[counter % len(names)],
                job_created=job_created,
            )
            values[parent] = job_id
            yield tuple(values[name] for name in columns)


def _load(cursor, table: str, columns: list[str], rows, batch: int, use_copy: bool):
    """Write rows in batches; yields the count written by each batch."""
    if use_copy:
        # COPY into the partitioned parent: PostgreSQL routes each row to its partition.
        raw = cursor.cursor
        pending = 0
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                pending += 1
                if pending == batch:
                    yield pending
                    pending = 0
        if pending:
            yield pending
        return
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    chunk = []
    for row in rows:
        chunk.append(tuple(_param(v) for v in row))
        if len(chunk) == batch:
            cursor.executemany(sql, chunk)
            yield len(chunk)
            chunk = []
    if chunk:
        cursor.executemany(sql, chunk)
        yield len(chunk)


def _param(value):
    # Django stores aware datetimes in SQLite as naive UTC text; psycopg takes them as they are.
    if connection.vendor == "sqlite" and isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value
