"""A generated AWX job event workload: jobs of each kind, their events, and realistic lag.

Lag (``modified - created``) follows one of three profiles:

- ``steady``: log-normal around ``lag`` seconds (median), as a healthy callback receiver gives;
- ``bursty``: steady, except the first minute of every ten, when lag is 30 times larger;
- ``backlog``: a queue that grows then drains: lag rises linearly from ``lag`` to ``peak``
  seconds at the middle of the time range, then falls back.

A fraction of events has no ``created`` (NULL, left out of percentiles) and a fraction was stored
before it was created (clock skew between nodes: negative lag). The same ``seed`` gives the same
rows. PostgreSQL loads through COPY into the partitioned tables, creating hourly partitions first;
SQLite through batched executemany.
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

PROFILES = ("steady", "bursty", "backlog")

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
    profile: str = "steady"
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


class LagModel:
    def __init__(self, spec: WorkloadSpec, rng: random.Random):
        self.spec = spec
        self.rng = rng
        self.start = spec.since.timestamp()
        self.span = max(spec.until.timestamp() - self.start, 1.0)
        self.mu = math.log(spec.lag)

    def __call__(self, created: float) -> float:
        spec, rng = self.spec, self.rng
        roll = rng.random()
        if roll < spec.negative:
            return -rng.uniform(0.001, 2.0)
        lag = rng.lognormvariate(self.mu, 0.6)
        if spec.profile == "bursty" and int((created - self.start) // 60) % 10 == 0:
            lag *= 30
        elif spec.profile == "backlog":
            position = (created - self.start) / self.span
            lag += (spec.peak - spec.lag) * max(0.0, 1 - abs(2 * position - 1))
        return lag


def seed_workload(spec: WorkloadSpec, progress=None) -> SeedResult:
    """Insert ``spec``'s jobs and events; ``progress(done, total)`` is called after each batch."""
    if spec.profile not in PROFILES:
        raise ValueError(f"unknown lag profile {spec.profile!r}; choose from {', '.join(PROFILES)}")
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
            result.jobs[kind] = _insert_jobs(cursor, kind, job_times, spec.job_duration)
            if connection.vendor == "postgresql":
                result.partitions += ensure_partitions(cursor, KINDS[kind].table, job_times)
            rows = _event_rows(kind, result.jobs[kind], job_times, spec, rng, lag_of)
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


def insert_job(kind: str, job_created: datetime, events, duration: float = 60.0, legacy: bool = False) -> int:
    """One job of ``kind`` with exactly these events, each ``(created or None, modified, event)``
    or ``(created, modified, event, stdout, start_line, end_line)``; creates its partition on
    PostgreSQL, or with ``legacy`` writes the events to the table AWX's migration 0144 left
    behind. Returns the job id. For tests that need known rows."""
    parent = KINDS[kind].parent_column
    columns = [name for name, _ in (legacy_columns(kind) if legacy else COLUMNS[kind])]
    with transaction.atomic(), connection.cursor() as cursor:
        [job_id] = _insert_jobs(cursor, kind, [job_created], duration)
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


def _insert_jobs(cursor, kind: str, job_times: list[datetime], duration: float) -> list[int]:
    ids = []
    # AWX's jobs are django-polymorphic models: the content type names each job's kind.
    content_type, _ = ContentType.objects.get_or_create(app_label="main", model=KINDS[kind].model)
    for number, created in enumerate(job_times, 1):
        finished = created + timedelta(seconds=duration)
        cursor.execute(
            f"INSERT INTO {UNIFIED_JOB_TABLE} "
            "(created, modified, name, launch_type, status, started, finished, elapsed, "
            "polymorphic_ctype_id) "
            "VALUES (%s, %s, %s, 'manual', 'successful', %s, %s, %s, %s) RETURNING id",
            [
                _param(created),
                _param(finished),
                f"seeded {kind} {number}",
                _param(created),
                _param(finished),
                duration,
                content_type.id,
            ],
        )
        ids.append(cursor.fetchone()[0])
    return ids


def _event_rows(kind, job_ids, job_times, spec: WorkloadSpec, rng, lag_of):
    """Yield rows in COLUMNS[kind] order, datetimes aware (UTC)."""
    columns = [name for name, _ in COLUMNS[kind]]
    parent = KINDS[kind].parent_column
    names = _PLAYBOOK_EVENTS if kind in ("job", "project_update") else _COMMAND_EVENTS
    step = spec.job_duration / max(spec.events, 1)
    for job_id, job_created in zip(job_ids, job_times, strict=True):
        base = job_created.timestamp()
        for counter in range(1, spec.events + 1):
            created = base + (counter - 1) * step + rng.random() * step
            modified = created + lag_of(created)
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
