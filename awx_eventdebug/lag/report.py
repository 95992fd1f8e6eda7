"""Event lag (``modified - created``) statistics over one of AWX's event tables, computed in SQL,
as the JSON document GET lag/ and ``eventdebug lag`` emit (docs/lag.md).

Percentiles are exact with linear interpolation between the two nearest ranks. PostgreSQL answers
each request with one statement (postgres.py); SQLite ranks the rows in SQL and returns only the
rows at the ranks each percentile needs (sqlite.py). No event row is fetched into Python.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import DatabaseError, connection

from ..awx.tables import KINDS
from ..conf import get_config
from ..db import diagnostic_cursor, is_missing_relation
from ..errors import Unavailable
from ..timeutil import isoformat
from .percentiles import percentile_key
from .postgres import postgres_statistics
from .query import LagQuery
from .rollup import RollupsBehind, kinds_statistics, rollup_statistics
from .sketch import RELATIVE_ERROR
from .sources import event_sources, window_sources
from .sqlite import sqlite_statistics
from .statistics import LagStatistics

# The groupings rollups can answer: they are per kind and minute, not per job or event.
ROLLUP_GROUPINGS = ("none", "minute", "hour")
# Final minutes a health reading (LagQuery.rollup) computes when the rollups lack them (an hour:
# one statement); with more missing it reads the window exactly and leaves them to the
# maintenance thread.
HEALTH_FILL_MINUTES = 60


def lag_report(query: LagQuery) -> dict:
    """The statistics of ``query`` as the JSON document the API and ``eventdebug lag`` emit."""
    kind = KINDS[query.kind]
    keys = [percentile_key(p) for p in query.percentiles]
    fractions = [float(p / 100) for p in query.percentiles]
    if query.worst_by is not None and query.worst_by not in query.percentiles:
        raise ValueError(f"worst_by {query.worst_by} is not one of the percentiles asked for")
    max_groups = get_config()["LAG_MAX_GROUPS"]
    method = "rollup" if uses_rollups(query) else "exact"
    behind = None
    statistics = postgres_statistics if connection.vendor == "postgresql" else sqlite_statistics
    try:
        with diagnostic_cursor(query.narrow_hint(), event_tables=method == "exact") as cursor:
            sources = event_sources(cursor, kind, query)
            if method == "exact":
                total, groups = statistics(cursor, kind, query, sources, fractions, max_groups + 1)
        if method == "rollup":
            tables = [source.table for source in sources]
            fill_at_most = HEALTH_FILL_MINUTES if query.rollup else None
            try:
                total, groups, behind = rollup_statistics(
                    kind.name, query, fractions, max_groups + 1, tables, fill_at_most
                )
            except RollupsBehind as far:
                # The health figures of a fresh install or a stopped maintenance thread: one
                # exact statement, under the statement timeout, rather than filling every minute.
                method, behind = "exact", far.minutes
                with diagnostic_cursor(query.narrow_hint(), event_tables=True) as cursor:
                    total, groups = statistics(cursor, kind, query, sources, fractions, max_groups + 1)
    except DatabaseError as exc:
        if is_missing_relation(exc):
            raise Unavailable(
                f"cannot read AWX's event data for kind {kind.name!r}: {str(exc).splitlines()[0]}.",
                hint="This AWX may predate that table or column; `eventdebug doctor` lists the tables "
                "the app can see.",
            ) from exc
        raise
    return _document(query, sources, method, behind, total, groups, keys, max_groups)


def kinds_rollup_reports(queries: list[LagQuery]) -> dict[str, dict | Unavailable]:
    """lag_report of each of ``queries`` (one a kind, the same window, by none, ``rollup``: the
    health figures), every kind's rows read in one statement and its open minutes computed in one
    more, rather than a few statements a kind; why a kind could not be read in place of its
    document. A kind more than HEALTH_FILL_MINUTES behind is left out: lag_report reads it on its
    own, exactly."""
    [window] = {(query.since, query.until, query.percentiles) for query in queries}
    since, until, percentiles = window
    keys = [percentile_key(p) for p in percentiles]
    fractions = [float(p / 100) for p in percentiles]
    with diagnostic_cursor(queries[0].narrow_hint()) as cursor:
        sources = window_sources(cursor, [KINDS[query.kind] for query in queries], since)
    tables = {kind: [source.table for source in kind_sources] for kind, kind_sources in sources.items()}
    answers = kinds_statistics(tables, since, until, fractions, HEALTH_FILL_MINUTES)
    max_groups = get_config()["LAG_MAX_GROUPS"]
    reports: dict[str, dict | Unavailable] = {}
    for query in queries:
        answer = answers[query.kind]
        if isinstance(answer, tuple):
            total, behind = answer
            reports[query.kind] = _document(
                query, sources[query.kind], "rollup", behind, total, [], keys, max_groups
            )
        elif isinstance(answer, Unavailable):
            reports[query.kind] = answer
    return reports


def _document(query, sources, method, behind, total, groups, keys, max_groups) -> dict:
    return {
        "kind": query.kind,
        "job": query.job,
        "event": query.event,
        "by": query.by,
        "since": isoformat(query.since),
        "until": isoformat(query.until),
        "tables": [source.table for source in sources],
        "method": method,
        # Relative error bound of each percentile (count, mean, min and max are exact).
        "percentile_error_ratio": RELATIVE_ERROR if method == "rollup" else 0.0,
        # Final minutes the rollups lacked, read from the events for this answer (None: exact asked).
        "rollups_behind_minutes": behind,
        **document_statistics(total, keys),
        "groups": [
            {"key": _group_key(key), **document_statistics(statistics, keys)}
            for key, statistics in groups[:max_groups]
        ],
        "groups_truncated": len(groups) > max_groups,
    }


def uses_rollups(query: LagQuery) -> bool:
    """Whether ``query`` is answered from the per-minute rollups: a window longer than
    LAG_EXACT_WINDOW (or any, with ``rollup``) over a whole kind, by none, minute or hour (in the
    order of their keys: groups ranked by a percentile are ranked on exact ones), and no --exact."""
    return (
        not query.exact
        and query.job is None
        and query.event is None
        and query.by in ROLLUP_GROUPINGS
        and (query.worst_by is None or query.by == "none")
        and query.since is not None
        and query.until is not None
        and (query.rollup or query.until - query.since > get_config()["LAG_EXACT_WINDOW"])
    )


def document_statistics(statistics: LagStatistics, keys: list[str]) -> dict:
    """``statistics`` as the document has them, each percentile under its key."""
    return {
        "count": statistics.count,
        "mean_seconds": statistics.mean,
        "min_seconds": statistics.minimum,
        "max_seconds": statistics.maximum,
        "percentiles_seconds": dict(zip(keys, statistics.percentiles or [None] * len(keys), strict=True)),
        "missing_created_count": statistics.missing_created,
        "backfilled_count": statistics.backfilled,
        "negative_count": statistics.negative,
        # Of the measured events (created set, not backfilled): what share was stored before it
        # was created, and the lowest lag, negative included (clock skew, lag/nodes.py).
        "negative_share": negative_share(statistics),
        "min_lag_seconds": statistics.lowest,
    }


def negative_share(statistics: LagStatistics) -> float | None:
    measured = statistics.count + statistics.negative
    return statistics.negative / measured if measured else None


def _group_key(key):
    # PostgreSQL returns time buckets as naive UTC datetimes, SQLite as the ISO text already.
    if isinstance(key, datetime):
        return isoformat(key.replace(tzinfo=UTC))
    return key
