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
from .sources import event_sources
from .sqlite import sqlite_statistics


def lag_report(query: LagQuery) -> dict:
    """The statistics of ``query`` as the JSON document the API and ``eventdebug lag`` emit."""
    kind = KINDS[query.kind]
    keys = [percentile_key(p) for p in query.percentiles]
    fractions = [float(p / 100) for p in query.percentiles]
    if query.worst_by is not None and query.worst_by not in query.percentiles:
        raise ValueError(f"worst_by {query.worst_by} is not one of the percentiles asked for")
    max_groups = get_config()["LAG_MAX_GROUPS"]
    try:
        with diagnostic_cursor(query.narrow_hint()) as cursor:
            sources = event_sources(cursor, kind, query)
            statistics = postgres_statistics if connection.vendor == "postgresql" else sqlite_statistics
            total, groups = statistics(cursor, kind, query, sources, fractions, max_groups + 1)
    except DatabaseError as exc:
        if is_missing_relation(exc):
            raise Unavailable(
                f"cannot read AWX's event data for kind {kind.name!r}: {str(exc).splitlines()[0]}.",
                hint="This AWX may predate that table or column; `eventdebug doctor` lists the tables "
                "the app can see.",
            ) from exc
        raise
    return {
        "kind": query.kind,
        "job": query.job,
        "event": query.event,
        "by": query.by,
        "since": isoformat(query.since),
        "until": isoformat(query.until),
        "tables": [source.table for source in sources],
        **_statistics(total, keys),
        "groups": [{"key": _group_key(row[0]), **_statistics(row[1:], keys)} for row in groups[:max_groups]],
        "groups_truncated": len(groups) > max_groups,
    }


def _statistics(row, keys: list[str]) -> dict:
    count, mean, minimum, maximum, values, missing_created, backfilled, negative = row
    return {
        "count": count,
        "mean": mean,
        "min": minimum,
        "max": maximum,
        "percentiles": dict(zip(keys, values or [None] * len(keys), strict=True)),
        "missing_created": missing_created,
        "backfilled": backfilled,
        "negative": negative,
    }


def _group_key(key):
    # PostgreSQL returns time buckets as naive UTC datetimes, SQLite as the ISO text already.
    if isinstance(key, datetime):
        return isoformat(key.replace(tzinfo=UTC))
    return key
