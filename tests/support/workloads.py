"""Helpers that put known rows into the stand-in AWX tables, for tests of any module."""

from datetime import UTC, datetime, timedelta

from example_settings.awxschema.workload import WorkloadSpec, insert_job, seed_workload

BASE = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def small_workload(**overrides):
    """A few jobs of every kind in a fixed two-hour range; returns the SeedResult."""
    spec = WorkloadSpec(jobs=2, events=50, since=BASE, until=BASE + timedelta(hours=2), seed=3)
    for name, value in overrides.items():
        setattr(spec, name, value)
    return seed_workload(spec)


def add_job(
    kind, created, lags, event="runner_on_ok", legacy=False, nodes=("exec-1", "awx-1"), duration=60.0
):
    """One job of ``kind`` created at ``created`` whose events have these lags in seconds (None:
    an event without ``created``); with ``legacy`` in the table AWX's migration 0144 left behind;
    run on ``nodes`` (execution_node, controller_node), finished ``duration`` seconds after it was
    created. Returns the job id."""
    events = []
    for counter, lag in enumerate(lags, 1):
        event_created = created + timedelta(seconds=counter)
        modified = event_created + timedelta(seconds=lag or 0)
        events.append((None if lag is None else event_created, modified, event))
    return insert_job(kind, created, events, duration=duration, legacy=legacy, nodes=nodes)


def add_job_with_quiet_events(start, count, quiet=(), kind="job"):
    """A job created at ``start`` whose events 1..``count`` are one second apart (no burst over
    AWX's rate), each stored 0.5 s after it; those in ``quiet`` have no output, so AWX never
    sends them over the websocket. Returns the job id."""
    events = []
    for counter in range(1, count + 1):
        created = start + timedelta(seconds=counter)
        silent = counter in quiet
        lines = (1, 1) if silent else (1, 2)
        events.append(
            (created, created + timedelta(seconds=0.5), "runner_on_ok", "" if silent else "ok", *lines)
        )
    return insert_job(kind, start, events)


def required_query(route: str) -> dict:
    """The query string an endpoint (a URL name) cannot answer without: GET listen/gaps/ the
    missing counters of a job it can find."""
    if route == "listen-gaps":
        return {"job": add_job_with_quiet_events(BASE, 3), "missing": "2"}
    return {}
