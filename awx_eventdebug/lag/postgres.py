"""The lag statistics on PostgreSQL: one statement per request, returning only the statistics.

Percentiles are exact with linear interpolation between the two nearest ranks
(``percentile_cont``, numpy's default method); no event row leaves the database.
"""

from __future__ import annotations

from .query import lag_rows
from .statistics import LagGroups, LagStatistics

# What PostgreSQL computes per row, kept to a minimum (within 1.1x of a bare percentile_cont in
# benchmarks/bench_lag.py): the lag once, in a subquery that OFFSET 0 keeps the planner from
# pulling up into every aggregate; ``kept`` is the lag when it counts (above 0: 0 is a
# backfilled ``created``, below 0 clock skew), NULL otherwise, which the aggregates skip, so no
# FILTER is evaluated per row; ``early`` likewise the lag below 0, whose minimum is the lowest lag
# (the clock-skew evidence) when there is one; min and max come with the percentiles (fractions
# 0 and 1) from the same sort.
_STATISTICS = """
SELECT {grouping} AS grp,
       count(kept),
       avg(kept),
       percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY kept),
       count(*) - count(lag),
       count(backfilled),
       count(lag) - count(kept) - count(backfilled),
       min(early)
FROM (
    SELECT grp, lag, CASE WHEN lag > 0 THEN lag END AS kept, CASE WHEN lag = 0 THEN 1 END AS backfilled,
           CASE WHEN lag < 0 THEN lag END AS early
    FROM ({rows} OFFSET 0) AS lags
) AS kept_lags
{group_by}
"""

_LAG = "date_part('epoch', modified - created)"
# The worst jobs' group key, a bigint (sorted several times faster than text): the kind's rank
# among the kinds' names times JOB_SPAN, plus the job id (0 for events without a job: AWX's ids
# start at 1), so that jobs of equal figures come by kind name, then id.
JOB_SPAN = 2**40


def postgres_statistics(cursor, kind, query, sources, fractions, limit) -> tuple[LagStatistics, LagGroups]:
    """(total, [(group key, statistics)]) in one statement; with groups, GROUPING SETS gives the
    total row first, then the groups."""
    rows, params = lag_rows(kind, query, sources, _LAG, "postgres")
    worst = None if query.worst_by is None else query.percentiles.index(query.worst_by)
    return _run(cursor, rows, params, query.by != "none", worst, fractions, limit)


def postgres_latest_by_job(cursor, kinds, since, until, latest, fractions, worst, limit) -> list:
    """The jobs of every one of ``kinds`` over its latest ``latest`` events stored in [since,
    until), ``limit`` at most, by the percentile at index ``worst`` of ``fractions``, highest
    first, in one statement: [((kind name, job id or None), statistics)], None for events without
    a job. Each kind's latest events are read backwards on its ``modified`` index (AWX's legacy
    tables, which have none, are not read)."""
    names = sorted(kind.name for kind in kinds)
    selects, params = [], []
    for kind in kinds:
        key = f"%s::bigint * {JOB_SPAN} + coalesce({kind.parent_column}, 0)"
        selects.append(
            f"(SELECT {key} AS grp, {_LAG} AS lag FROM {kind.table} "
            "WHERE modified >= %s AND modified < %s ORDER BY modified DESC LIMIT %s)"
        )
        params += [names.index(kind.name), since, until, latest]
    # No total row: the worst jobs need none, and it would sort every event once more.
    rows = " UNION ALL ".join(selects)
    _none, groups = _run(cursor, rows, params, True, worst, fractions, limit, total=False)
    return [((names[key // JOB_SPAN], key % JOB_SPAN or None), statistics) for key, statistics in groups]


def _run(
    cursor, rows, params, grouped, worst, fractions, limit, total=True
) -> tuple[LagStatistics | None, LagGroups]:
    """_STATISTICS over ``rows`` (SQL of ``grp, lag`` rows, with ``params``): the total (None
    without ``total``), and with ``grouped`` up to ``limit`` groups, by key or, with ``worst``,
    by the percentile at that index of ``fractions``, highest first."""
    order = "grp NULLS FIRST"
    if worst is not None:
        # The same aggregate as the SELECT list's, so PostgreSQL computes it once (identical
        # aggregates share their state); [index] is 1-based and fraction 0 comes first.
        order = (
            f"(percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY kept))[{worst + 2}] DESC NULLS LAST, grp"
        )
    if not grouped:  # without GROUP BY the aggregates give one row even over no rows at all
        grouping, group_by = "NULL", ""
    elif total:
        grouping = "CASE WHEN GROUPING(grp) = 1 THEN NULL ELSE grp END"
        group_by = f"GROUP BY GROUPING SETS ((), (grp)) ORDER BY GROUPING(grp) DESC, {order} LIMIT %s"
    else:
        grouping, group_by = "grp", f"GROUP BY grp ORDER BY {order} LIMIT %s"
    sql = _STATISTICS.format(rows=rows, grouping=grouping, group_by=group_by)
    all_fractions = [0.0, *fractions, 1.0]
    # Without groups there is nothing to order, worst_by or not.
    order_params = [all_fractions] if grouped and worst is not None else []
    limit_params = [limit + int(total)] if grouped else []
    cursor.execute(sql, [all_fractions, *params, *order_params, *limit_params])
    rows = [(row[0], _statistics(*row[1:])) for row in cursor.fetchall()]
    if not total:
        return None, rows
    return rows[0][1], rows[1:]


def _statistics(count, mean, values, missing_created, backfilled, negative, early) -> LagStatistics:
    """A row of _STATISTICS after its group: ``values`` is [min, *percentiles, max], or None."""
    minimum = maximum = percentiles = None
    if values is not None:
        minimum, *percentiles, maximum = values
    return LagStatistics(
        count=count,
        mean=mean,
        minimum=minimum,
        maximum=maximum,
        percentiles=percentiles,
        missing_created=missing_created,
        backfilled=backfilled,
        negative=negative,
        lowest=early if early is not None else minimum,
    )
