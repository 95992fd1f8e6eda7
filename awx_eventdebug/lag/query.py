"""Event lag (``modified - created``) statistics over one of AWX's event tables, computed in SQL.

``modified - created`` is how long an event took from Ansible into AWX's database (steps 1-5 of
the critical path in README.md; AWX stamps ``modified`` in awx/main/dispatch/worker/callback.py).
Events without ``created`` and events stored before they were
created (clock skew) are counted apart and kept out of the statistics.

Percentiles are exact with linear interpolation between the two nearest ranks (PostgreSQL's
``percentile_cont``, numpy's default method). PostgreSQL answers each request with one statement
and returns only the statistics; SQLite, which has no percentile aggregate, ranks the rows in SQL
and returns only the rows at the ranks each percentile needs. No event row is fetched into Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.db import DatabaseError, connection

from ..awx.tables import KINDS, UNIFIED_JOB_TABLE, EventKind
from ..conf import get_config
from ..db import diagnostic_cursor, is_missing_relation
from ..errors import NotFound, Unavailable
from ..timeutil import isoformat

GROUP_BY = ("none", "event", "job", "minute", "hour")
MAX_PERCENTILES = 10
PERCENTILE_DECIMALS = 4


def parse_percentiles(values) -> tuple[Decimal, ...]:
    """Percentiles from numbers or numeric strings, sorted; ValueError saying what is wrong."""
    if not values:
        raise ValueError("give at least one percentile")
    if len(values) > MAX_PERCENTILES:
        raise ValueError(f"at most {MAX_PERCENTILES} percentiles, got {len(values)}")
    parsed = []
    for value in values:
        text = str(value).strip()
        try:
            number = Decimal(text) if not isinstance(value, bool) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise ValueError(f"{text[:40]!r} is not a number")
        if not 0 < number < 100:
            raise ValueError(f"{text[:40]} is not between 0 and 100 (both excluded)")
        number = number.normalize()
        if number.as_tuple().exponent < -PERCENTILE_DECIMALS:
            raise ValueError(f"{text[:40]} has more than {PERCENTILE_DECIMALS} decimals")
        if number in parsed:
            raise ValueError(f"{text[:40]} is given twice")
        parsed.append(number)
    return tuple(sorted(parsed))


def percentile_key(percentile: Decimal) -> str:
    """The JSON key of a percentile: p50, p99.9."""
    return f"p{percentile.normalize():f}"


@dataclass(frozen=True)
class LagQuery:
    """One request, already validated (api/lag.py's serializer validates user input).

    ``since`` is inclusive, ``until`` exclusive; None leaves that side open (a whole job).
    """

    kind: str = "job"
    job: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    event: str | None = None
    by: str = "none"
    percentiles: tuple[Decimal, ...] = (Decimal(50), Decimal(90), Decimal(95), Decimal(99))
    # Groups by this percentile (one of ``percentiles``), highest first, instead of by key: the
    # cap of LAG_MAX_GROUPS then keeps the worst groups rather than the first ones.
    worst_by: Decimal | None = None

    def narrow_hint(self) -> str:
        """How to make this query cheaper, for the statement timeout's error."""
        ways = ["a shorter window (since/until)"]
        if self.job is None:
            ways.append("one job (job)")
        if KINDS[self.kind].has_event_column and self.event is None:
            ways.append("one event type (event)")
        return f"Narrow the query: {', '.join(ways)}."


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
            job_created = _job_created(cursor, query.job) if query.job is not None else None
            statistics = _postgres_statistics if connection.vendor == "postgresql" else _sqlite_statistics
            total, groups = statistics(cursor, kind, query, job_created, fractions, max_groups + 1)
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
        **_statistics(total, keys),
        "groups": [{"key": _group_key(row[0]), **_statistics(row[1:], keys)} for row in groups[:max_groups]],
        "groups_truncated": len(groups) > max_groups,
    }


def _job_created(cursor, job_id: int):
    """The job's ``created``, which equals ``job_created`` of all its events (its partition)."""
    cursor.execute(f"SELECT created FROM {UNIFIED_JOB_TABLE} WHERE id = %s", [job_id])
    row = cursor.fetchone()
    if row is None:
        raise NotFound(f"no job with id {job_id} in {UNIFIED_JOB_TABLE}.")
    return row[0]


def _statistics(row, keys: list[str]) -> dict:
    count, mean, minimum, maximum, values, missing_created, negative = row
    return {
        "count": count,
        "mean": mean,
        "min": minimum,
        "max": maximum,
        "percentiles": dict(zip(keys, values or [None] * len(keys), strict=True)),
        "missing_created": missing_created,
        "negative": negative,
    }


def _group_key(key):
    # PostgreSQL returns time buckets as naive UTC datetimes, SQLite as the ISO text already.
    if isinstance(key, datetime):
        return isoformat(key.replace(tzinfo=UTC))
    return key


def _where(kind: EventKind, query: LagQuery, job_created) -> tuple[str, list]:
    """The WHERE clause: the window on the indexed ``modified``, the job (with its partition key
    on PostgreSQL, so that only one partition is scanned) and the event type."""
    adapt = connection.ops.adapt_datetimefield_value
    conditions, params = [], []
    if query.job is not None:
        conditions.append(f"{kind.parent_column} = %s")
        params.append(query.job)
        if connection.vendor == "postgresql":
            conditions.append("job_created = %s")
            params.append(job_created)
    if query.since is not None:
        conditions.append("modified >= %s")
        params.append(adapt(query.since))
    if query.until is not None:
        conditions.append("modified < %s")
        params.append(adapt(query.until))
    if query.event is not None:
        conditions.append("event = %s")
        params.append(query.event)
    return " AND ".join(conditions) or "TRUE", params


_PG_GROUP = {
    "none": "NULL::text",
    "event": "event",
    "minute": "date_trunc('minute', modified AT TIME ZONE 'UTC')",
    "hour": "date_trunc('hour', modified AT TIME ZONE 'UTC')",
}

# What PostgreSQL computes per row, kept to a minimum (within 1.1x of a bare percentile_cont in
# benchmarks/bench_lag.py): the lag once, in a subquery that OFFSET 0 keeps the planner from
# pulling up into every aggregate; ``kept`` is the lag when it counts, NULL otherwise, which the
# aggregates skip, so no FILTER is evaluated per row; min and max come with the percentiles
# (fractions 0 and 1) from the same sort.
_PG_STATISTICS = """
SELECT {grouping} AS grp,
       count(kept),
       avg(kept),
       percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY kept),
       count(*) - count(lag),
       count(lag) - count(kept)
FROM (
    SELECT grp, lag, CASE WHEN lag >= 0 THEN lag END AS kept
    FROM (
        SELECT {group} AS grp, date_part('epoch', modified - created) AS lag
        FROM {table} WHERE {where} OFFSET 0
    ) AS lags
) AS kept_lags
{group_by}
"""


def _postgres_statistics(cursor, kind, query, job_created, fractions, limit):
    """One statement; with groups, GROUPING SETS gives the total row first, then the groups."""
    where, params = _where(kind, query, job_created)
    group = kind.parent_column if query.by == "job" else _PG_GROUP[query.by]
    grouped = query.by != "none"
    order = "grp NULLS FIRST"
    if query.worst_by is not None:
        # The same aggregate as the SELECT list's, so PostgreSQL computes it once (identical
        # aggregates share their state); [index] is 1-based and fraction 0 comes first.
        index = query.percentiles.index(query.worst_by) + 2
        order = f"(percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY kept))[{index}] DESC NULLS LAST, grp"
    sql = _PG_STATISTICS.format(
        group=group,
        table=kind.table,
        where=where,
        # Without GROUP BY the aggregates give one row even over no rows at all.
        grouping="CASE WHEN GROUPING(grp) = 1 THEN NULL ELSE grp END" if grouped else "NULL",
        group_by=(
            f"GROUP BY GROUPING SETS ((), (grp)) ORDER BY GROUPING(grp) DESC, {order} LIMIT %s"
            if grouped
            else ""
        ),
    )
    # The planner turns JIT on from cost alone; over a million rows compiling these few
    # expressions costs ~100 ms and gains nothing. Off for this statement, then put back.
    cursor.execute("SELECT current_setting('jit')")
    jit = cursor.fetchone()[0]
    cursor.execute("SELECT set_config('jit', 'off', true)")
    all_fractions = [0.0, *fractions, 1.0]
    order_params = [all_fractions] if query.worst_by is not None else []
    cursor.execute(sql, [all_fractions, *params, *order_params, *([limit + 1] if grouped else [])])
    rows = [_from_postgres(row) for row in cursor.fetchall()]
    cursor.execute("SELECT set_config('jit', %s, true)", [jit])
    return rows[0][1:], rows[1:]


def _from_postgres(row):
    """(grp, count, mean, [min, *percentiles, max], missing, negative) -> the common row."""
    grp, count, mean, values, missing, negative = row
    if values is None:
        return grp, count, mean, None, None, None, missing, negative
    return grp, count, mean, values[0], values[-1], values[1:-1], missing, negative


_SQLITE_GROUP = {
    "none": "NULL",
    "event": "event",
    "minute": "strftime('%%Y-%%m-%%dT%%H:%%M:00Z', modified)",
    "hour": "strftime('%%Y-%%m-%%dT%%H:00:00Z', modified)",
}

# Django keeps datetimes in SQLite as naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]": whole
# seconds from strftime('%s') plus the fractions from character 20 on, exact to the microsecond
# (julianday() differences would lose tens of microseconds). strftime gets the first 19
# characters only: it rounds to milliseconds, so ".9997" would count as the next second.
_SQLITE_LAG = (
    "(strftime('%%s', substr(modified, 1, 19)) - strftime('%%s', substr(created, 1, 19))"
    " + (CAST(substr(modified, 20) AS REAL) - CAST(substr(created, 20) AS REAL)))"
)

_SQLITE_LAGS = "WITH lags AS (SELECT {group} AS grp, " + _SQLITE_LAG + " AS lag FROM {table} WHERE {where})"

_SQLITE_AGGREGATES = (
    _SQLITE_LAGS
    + """
SELECT grp,
       count(*) FILTER (WHERE lag >= 0),
       avg(lag) FILTER (WHERE lag >= 0),
       min(lag) FILTER (WHERE lag >= 0),
       max(lag) FILTER (WHERE lag >= 0),
       count(*) FILTER (WHERE lag IS NULL),
       count(*) FILTER (WHERE lag < 0)
FROM lags {group_by}
"""
)

# The rows at ranks floor((n - 1) * f) and the one after, for each fraction f: all that linear
# interpolation needs. The same double arithmetic in SQLite and Python gives the same ranks.
_SQLITE_RANKS = (
    _SQLITE_LAGS
    + """,
ranked AS (
    SELECT grp, lag, row_number() OVER (PARTITION BY grp ORDER BY lag) - 1 AS rank,
           count(*) OVER (PARTITION BY grp) AS n
    FROM lags WHERE lag >= 0
)
SELECT grp, n, rank, lag FROM ranked WHERE {ranks}
"""
)
_SQLITE_RANK_CONDITION = "rank = CAST((n - 1) * %s AS INTEGER) OR rank = CAST((n - 1) * %s AS INTEGER) + 1"


def _sqlite_statistics(cursor, kind, query, job_created, fractions, limit):
    """Aggregates per group, then the order statistics the percentiles need, both in SQL."""
    where, params = _where(kind, query, job_created)
    total = _sqlite_groups(cursor, kind.table, "NULL", where, params, fractions, None)
    if query.by == "none":
        return total[0][1:], []
    group = kind.parent_column if query.by == "job" else _SQLITE_GROUP[query.by]
    if query.worst_by is None:
        return total[0][1:], _sqlite_groups(cursor, kind.table, group, where, params, fractions, limit)
    # The worst groups are known only once every group's percentiles are: all of them, sorted here.
    groups = _sqlite_groups(cursor, kind.table, group, where, params, fractions, None)
    index = query.percentiles.index(query.worst_by)
    groups.sort(key=lambda row: (row[5] is not None, row[5] and row[5][index]), reverse=True)
    return total[0][1:], groups[:limit]


def _sqlite_groups(cursor, table, group, where, params, fractions, limit):
    """Rows (grp, count, mean, min, max, [percentiles], missing_created, negative); by key, at
    most ``limit`` of them (None: all)."""
    grouped = group != "NULL"
    group_by = "GROUP BY grp ORDER BY grp NULLS FIRST" if grouped else ""
    if grouped and limit is not None:
        group_by += " LIMIT %s"
    cursor.execute(
        _SQLITE_AGGREGATES.format(group=group, table=table, where=where, group_by=group_by),
        [*params, *([limit] if grouped and limit is not None else [])],
    )
    aggregates = {row[0]: row for row in cursor.fetchall()}
    ranks = " OR ".join([_SQLITE_RANK_CONDITION] * len(fractions))
    cursor.execute(
        _SQLITE_RANKS.format(group=group, table=table, where=where, ranks=ranks),
        [*params, *[f for f in fractions for _ in (0, 1)]],
    )
    ranked: dict = {}
    for grp, n, rank, lag in cursor:
        if grp in aggregates:
            ranked.setdefault(grp, (n, {}))[1][rank] = lag
    rows = []
    for grp, (_, count, mean, minimum, maximum, missing, negative) in aggregates.items():
        values = None
        if grp in ranked:
            n, at = ranked[grp]
            values = [_interpolate(n, at, fraction) for fraction in fractions]
        rows.append((grp, count, mean, minimum, maximum, values, missing, negative))
    return rows


def _interpolate(n: int, at: dict[int, float], fraction: float) -> float:
    position = (n - 1) * fraction
    low = math.floor(position)
    if low + 1 >= n:
        return at[low]
    return at[low] + (position - low) * (at[low + 1] - at[low])
