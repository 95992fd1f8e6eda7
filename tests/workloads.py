"""Helpers that put known rows into the stand-in AWX tables, for tests of any module."""

from datetime import UTC, datetime, timedelta

from example_settings.awxschema.workload import WorkloadSpec, seed_workload

BASE = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def small_workload(**overrides):
    """A few jobs of every kind in a fixed two-hour range; returns the SeedResult."""
    spec = WorkloadSpec(jobs=2, events=50, since=BASE, until=BASE + timedelta(hours=2), seed=3)
    for name, value in overrides.items():
        setattr(spec, name, value)
    return seed_workload(spec)


def add_job(kind, created, lags, event="runner_on_ok"):
    """One job of ``kind`` created at ``created`` whose events have these lags in seconds (None:
    an event without ``created``). Returns the job id."""
    from django.db import connection

    from awx_eventdebug.event_tables import KINDS
    from example_settings.awxschema.schema import COLUMNS, ensure_partitions
    from example_settings.awxschema.workload import _CONSTANTS, _insert_jobs, _load

    with connection.cursor() as cursor:
        [job_id] = _insert_jobs(cursor, kind, [created], 60.0)
        if connection.vendor == "postgresql":
            ensure_partitions(cursor, KINDS[kind].table, [created])
        rows = []
        for counter, lag in enumerate(lags, 1):
            event_created = created + timedelta(seconds=counter)
            values = dict(_CONSTANTS, uuid=f"{job_id}-{counter}", counter=counter, stdout="", start_line=0)
            values.update(
                end_line=0,
                event=event,
                job_created=created,
                created=None if lag is None else event_created,
                modified=event_created + timedelta(seconds=lag or 0),
            )
            values[KINDS[kind].parent_column] = job_id
            rows.append(tuple(values[name] for name, _ in COLUMNS[kind]))
        for _ in _load(cursor, kind, rows, 1000):
            pass
    return job_id
