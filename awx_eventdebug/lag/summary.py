"""Event lag over one window for every kind at once: the lag section of the report, and the
figure the callback receiver's hop is judged on (path/hops/receiver.py)."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from ..awx.tables import KINDS
from ..conf import get_config
from ..db import diagnostic_cursor
from ..sections import attempt, section
from . import recent
from .percentiles import percentile_key
from .postgres import postgres_latest_by_job
from .query import LagQuery
from .recent import recent_since
from .report import document_statistics, kinds_rollup_reports, lag_report

P99 = Decimal(99)
P99_KEY = percentile_key(P99)
LAG_FIGURES = (
    "count",
    "mean_seconds",
    "min_seconds",
    "max_seconds",
    "percentiles_seconds",
    "missing_created_count",
    "backfilled_count",
    "negative_count",
    "method",
    "percentile_error_ratio",
    "rollups_behind_minutes",
)


def lag_percentiles() -> tuple[Decimal, ...]:
    """LAG_PERCENTILES, plus the p99 the check and the worst jobs need."""
    configured = get_config()["LAG_PERCENTILES"]
    return configured if P99 in configured else tuple(sorted((*configured, P99)))


def lag_summary(window, worst_jobs: int) -> dict:
    """Lag statistics per kind over the window, from the rollups (lag/rollup.py: the final
    minutes read, the open ones computed from the events), so that their cost follows the minutes
    of the window, not its events; with ``worst_jobs`` the jobs of any kind with the highest p99
    too, exact over the latest RECENT_EVENTS events of each kind (lag/recent.py: rollups are per
    kind, not per job; one statement for all kinds on PostgreSQL, one per kind on SQLite), or
    why they could not be read in ``worst_jobs_error``. A kind that cannot be read is None with
    its reason in ``errors``; the others are still computed."""
    percentiles = lag_percentiles()
    kinds, errors = {}, {}
    queries = [
        LagQuery(kind=kind, since=window.since, until=window.until, percentiles=percentiles, rollup=True)
        for kind in KINDS
    ]
    # Every kind at once; when that fails (a missing table), or for a kind whose rollups are far
    # behind, each kind is read on its own, so that it fails alone and says why.
    together = attempt(lambda: kinds_rollup_reports(queries))[0] or {}

    def read(query: LagQuery) -> dict:
        answer = together.get(query.kind)
        if isinstance(answer, Exception):
            raise answer
        return answer or lag_report(query)

    for query in queries:
        kind = query.kind
        report = section(lambda query=query: read(query), errors, kind)
        kinds[kind] = report and {key: report[key] for key in LAG_FIGURES}
    if worst_jobs:
        read_kinds = [kind for kind, figures in kinds.items() if figures is not None]
        jobs, error = worst_of_kinds(read_kinds, window, percentiles, worst_jobs)
    summary = {"percentiles": [percentile_key(p) for p in percentiles], "kinds": kinds, "errors": errors}
    if worst_jobs:
        summary["worst_jobs"] = jobs
        if error:  # detail beside the figures, which are read and judged all the same
            summary["worst_jobs_error"] = error
    return summary


def worst_of_kinds(kinds: list[str], window, percentiles, limit: int) -> tuple[list[dict], str]:
    """The ``limit`` jobs of ``kinds`` with the highest p99, worst first, each over the latest
    RECENT_EVENTS events of its kind in ``window``, and why some could not be read ("" if all
    were): on PostgreSQL every kind in one statement, on SQLite each kind on its own."""
    if connection.vendor == "postgresql":
        jobs, error = attempt(lambda: _worst_together(kinds, window, percentiles, limit))
        return jobs or [], error
    jobs, errors = [], {}
    for kind in kinds:
        worst = section(lambda kind=kind: worst_of_kind(kind, window, percentiles), errors, kind)
        # Each kind's groups come worst first: its first few are all the candidates it has.
        for group in worst["groups"][:limit] if worst else ():
            jobs.append({"kind": kind, "job": group.pop("key"), **group})
    # As PostgreSQL orders them (lag/postgres.py JOB_SPAN): p99 highest first, ties by kind name,
    # then job id, events without a job first.
    jobs.sort(key=lambda job: (-(job["percentiles_seconds"][P99_KEY] or 0.0), job["kind"], job["job"] or 0))
    return jobs[:limit], "; ".join(f"{kind}: {why}" for kind, why in errors.items())


def worst_of_kind(kind: str, window, percentiles) -> dict:
    """The jobs of ``kind`` by p99, worst first, over the latest RECENT_EVENTS events of ``window``."""
    since = recent_since(kind, window.since, window.until)
    by_job = LagQuery(
        kind=kind, since=since, until=window.until, by="job", percentiles=percentiles, worst_by=P99
    )
    return lag_report(by_job)


# A timeout of the worst jobs' statement: it reads at most RECENT_EVENTS events of each kind
# whatever the window, so no narrower query helps.
WORST_HINT = "Raise EVENTDEBUG['STATEMENT_TIMEOUT'], or look at the database's load."


def _worst_together(kinds: list[str], window, percentiles, limit: int) -> list[dict]:
    """worst_of_kinds' one statement."""
    if not kinds:
        return []
    keys = [percentile_key(p) for p in percentiles]
    fractions = [float(p / 100) for p in percentiles]
    with diagnostic_cursor(WORST_HINT, event_tables=True) as cursor:
        groups = postgres_latest_by_job(
            cursor,
            [KINDS[kind] for kind in kinds],
            window.since,
            window.until,
            recent.RECENT_EVENTS,
            fractions,
            percentiles.index(P99),
            limit,
        )
    return [
        {"kind": kind, "job": job, **document_statistics(statistics, keys)}
        for (kind, job), statistics in groups
    ]


# The events a kind's lag leaves out, by its summary's field, as text names them.
UNMEASURABLE = {
    "negative_count": "negative (stored before created: an execution node's clock ahead)",
    "backfilled_count": "backfilled (created == modified)",
    "missing_created_count": "without created",
}


def unmeasurable(kinds) -> str:
    """The events stored in the window with no measurable lag, counted by why ("" for none)."""
    counts = {field: sum(s[field] for s in kinds if s) for field in UNMEASURABLE}
    stored = sum(counts.values())
    if not stored:
        return ""
    why = ", ".join(f"{count:,} {UNMEASURABLE[field]}" for field, count in counts.items() if count)
    return f"{stored:,} events stored in the window, none with a measurable lag ({why})"
