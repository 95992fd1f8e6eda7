"""The lag statistics on SQLite, which has no percentile aggregate: the rows are ranked in SQL
and only those at the ranks each percentile needs come back, to be interpolated here linearly
between the two nearest ranks (as PostgreSQL's ``percentile_cont`` and numpy do)."""

from __future__ import annotations

import math

from .query import lag_rows

# Django keeps datetimes in SQLite as naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]": whole
# seconds from strftime('%s') plus the fractions from character 20 on, exact to the microsecond
# (julianday() differences would lose tens of microseconds). strftime gets the first 19
# characters only: it rounds to milliseconds, so ".9997" would count as the next second.
LAG_SECONDS = (
    "(strftime('%%s', substr(modified, 1, 19)) - strftime('%%s', substr(created, 1, 19))"
    " + (CAST(substr(modified, 20) AS REAL) - CAST(substr(created, 20) AS REAL)))"
)

_LAGS = "WITH lags AS ({rows})"

_AGGREGATES = (
    _LAGS
    + """
SELECT grp,
       count(*) FILTER (WHERE lag > 0),
       avg(lag) FILTER (WHERE lag > 0),
       min(lag) FILTER (WHERE lag > 0),
       max(lag) FILTER (WHERE lag > 0),
       count(*) FILTER (WHERE lag IS NULL),
       count(*) FILTER (WHERE lag = 0),
       count(*) FILTER (WHERE lag < 0)
FROM lags {group_by}
"""
)

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


def sqlite_statistics(cursor, kind, query, sources, fractions, limit):
    """Aggregates per group, then the order statistics the percentiles need, both in SQL."""
    total = _groups(cursor, lag_rows(kind, query, sources, "NULL", LAG_SECONDS), False, fractions, None)
    if query.by == "none":
        return total[0][1:], []
    rows = lag_rows(kind, query, sources, query.group_expression("sqlite"), LAG_SECONDS)
    if query.worst_by is None:
        return total[0][1:], _groups(cursor, rows, True, fractions, limit)
    # The worst groups are known only once every group's percentiles are: all of them, sorted here.
    groups = _groups(cursor, rows, True, fractions, None)
    index = query.percentiles.index(query.worst_by)
    groups.sort(key=lambda row: (row[5] is not None, row[5] and row[5][index]), reverse=True)
    return total[0][1:], groups[:limit]


def _groups(cursor, selected, grouped, fractions, limit):
    """Rows (grp, count, mean, min, max, [percentiles], missing_created, backfilled, negative)
    per ``grp`` of the rows ``selected`` (lag_rows' SQL and params; one row over everything
    unless ``grouped``); by key, at most ``limit`` of them (None: all)."""
    rows, params = selected
    group_by = "GROUP BY grp ORDER BY grp NULLS FIRST" if grouped else ""
    if grouped and limit is not None:
        group_by += " LIMIT %s"
    cursor.execute(
        _AGGREGATES.format(rows=rows, group_by=group_by),
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
    for grp, (_, count, mean, minimum, maximum, *apart) in aggregates.items():
        values = None
        if grp in ranked:
            n, at = ranked[grp]
            values = [_interpolate(n, at, fraction) for fraction in fractions]
        statistics.append((grp, count, mean, minimum, maximum, values, *apart))
    return statistics


def _interpolate(n: int, at: dict[int, float], fraction: float) -> float:
    position = (n - 1) * fraction
    low = math.floor(position)
    if low + 1 >= n:
        return at[low]
    return at[low] + (position - low) * (at[low + 1] - at[low])
