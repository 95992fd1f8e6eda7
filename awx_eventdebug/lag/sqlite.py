"""The lag statistics on SQLite, which has no percentile aggregate: the rows are ranked in SQL
and only those at the ranks each percentile needs come back, to be interpolated here linearly
between the two nearest ranks (as PostgreSQL's ``percentile_cont`` and numpy do)."""

from __future__ import annotations

import math

from .query import lag_rows
from .statistics import LagGroups, LagStatistics

# Django keeps datetimes in SQLite as naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]": whole
# seconds from strftime('%s') plus the fractions from character 20 on, exact to the microsecond
# (julianday() differences would lose tens of microseconds). strftime gets the first 19
# characters only: it rounds to milliseconds, so ".9997" would count as the next second.
LAG_SECONDS = (
    "(strftime('%%s', substr(modified, 1, 19)) - strftime('%%s', substr(created, 1, 19))"
    " + (CAST(substr(modified, 20) AS REAL) - CAST(substr(created, 20) AS REAL)))"
)

_LAGS = "WITH lags AS ({rows})"

# Every LagStatistics field but the percentiles, as an aggregate over the lags of a group.
_AGGREGATES = {
    "count": "count(*) FILTER (WHERE lag > 0)",
    "mean": "avg(lag) FILTER (WHERE lag > 0)",
    "minimum": "min(lag) FILTER (WHERE lag > 0)",
    "maximum": "max(lag) FILTER (WHERE lag > 0)",
    "missing_created": "count(*) FILTER (WHERE lag IS NULL)",
    "backfilled": "count(*) FILTER (WHERE lag = 0)",
    "negative": "count(*) FILTER (WHERE lag < 0)",
    "lowest": "min(lag) FILTER (WHERE lag <> 0)",
}
_PER_GROUP = _LAGS + f"\nSELECT grp, {', '.join(_AGGREGATES.values())}\nFROM lags {{group_by}}\n"

# The rows at ranks floor((n - 1) * f) and the one after, for each fraction f: all that linear
# interpolation needs. The same double arithmetic in SQLite and Python gives the same ranks.
_RANKS = (
    _LAGS
    + """,
ranked AS (
    SELECT grp, lag, row_number() OVER (PARTITION BY grp ORDER BY lag) - 1 AS rank,
           count(*) OVER (PARTITION BY grp) AS n
    FROM lags WHERE lag > 0
)
SELECT grp, n, rank, lag FROM ranked WHERE {ranks}
"""
)
_RANK_CONDITION = "rank = CAST((n - 1) * %s AS INTEGER) OR rank = CAST((n - 1) * %s AS INTEGER) + 1"


def sqlite_statistics(cursor, kind, query, sources, fractions, limit) -> tuple[LagStatistics, LagGroups]:
    """(total, [(group key, statistics)]): aggregates per group, then the order statistics the
    percentiles need, both in SQL."""
    [(_, total)] = _groups(
        cursor, lag_rows(kind, query, sources, LAG_SECONDS, "sqlite", grouped=False), False, fractions, None
    )
    if query.by == "none":
        return total, []
    rows = lag_rows(kind, query, sources, LAG_SECONDS, "sqlite")
    if query.worst_by is None:
        return total, _groups(cursor, rows, True, fractions, limit)
    # The worst groups are known only once every group's percentiles are: all of them, sorted here.
    groups = _groups(cursor, rows, True, fractions, None)
    index = query.percentiles.index(query.worst_by)

    def worst_first(group) -> tuple:
        percentiles = group[1].percentiles
        return (percentiles is not None, percentiles and percentiles[index])

    groups.sort(key=worst_first, reverse=True)
    return total, groups[:limit]


def _groups(cursor, selected, grouped, fractions, limit) -> LagGroups:
    """(grp, statistics) per ``grp`` of the rows ``selected`` (lag_rows' SQL and params; one
    over everything unless ``grouped``); by key, at most ``limit`` of them (None: all)."""
    rows, params = selected
    group_by = "GROUP BY grp ORDER BY grp NULLS FIRST" if grouped else ""
    if grouped and limit is not None:
        group_by += " LIMIT %s"
    cursor.execute(
        _PER_GROUP.format(rows=rows, group_by=group_by),
        [*params, *([limit] if grouped and limit is not None else [])],
    )
    aggregates = {row[0]: row for row in cursor.fetchall()}
    ranks = " OR ".join([_RANK_CONDITION] * len(fractions))
    cursor.execute(
        _RANKS.format(rows=rows, ranks=ranks),
        [*params, *[f for f in fractions for _ in (0, 1)]],
    )
    ranked: dict = {}
    for grp, n, rank, lag in cursor:
        if grp in aggregates:
            ranked.setdefault(grp, (n, {}))[1][rank] = lag
    statistics = []
    for grp, (_, *aggregated) in aggregates.items():
        values = None
        if grp in ranked:
            n, at = ranked[grp]
            values = [_interpolate(n, at, fraction) for fraction in fractions]
        fields = dict(zip(_AGGREGATES, aggregated, strict=True))
        statistics.append((grp, LagStatistics(percentiles=values, **fields)))
    return statistics


def _interpolate(n: int, at: dict[int, float], fraction: float) -> float:
    position = (n - 1) * fraction
    low = math.floor(position)
    if low + 1 >= n:
        return at[low]
    return at[low] + (position - low) * (at[low + 1] - at[low])
