"""One lag request (LagQuery), the groupings it may ask for, and the WHERE clause every
statement over it shares, whatever the database (postgres.py and sqlite.py build the rest).

``modified - created`` is how long an event took from Ansible into AWX's database (steps 1-5 of
the critical path in README.md; AWX stamps ``modified`` in awx/main/dispatch/worker/callback.py).
Events without ``created``, events stored before they were created (clock skew) and events whose
``created`` equals ``modified`` are counted apart and kept out of the statistics: AWX's callback
receiver sets ``created = modified = now`` on an event that arrives without ``created``
(``flush()``), so a lag of exactly 0 is a backfilled time, never a measured one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from ..awx.tables import KINDS, UNIFIED_JOB_TABLE, EventKind
from .sources import Source


@dataclass(frozen=True)
class Grouping:
    """The SQL of one ``by`` on each database; ``{parent}`` is the kind's job column."""

    postgres: str
    sqlite: str
    # The column of the event's job in AWX's unified job table that names the group (the rows
    # group by the job first, then by this column of the job).
    job_column: str | None = None
    # Groups come worst first (by the highest percentile asked for), not by key: the ones to
    # look at first, and those the cap of LAG_MAX_GROUPS keeps.
    worst_first: bool = False


# Time buckets are UTC on both; SQLite gives them as ISO text, PostgreSQL as naive timestamps.
# strftime's % is doubled because the statements go through the cursor's %s parameter style.
GROUPINGS = {
    "none": Grouping("NULL::text", "NULL"),
    "event": Grouping("event", "event"),
    "job": Grouping("{parent}", "{parent}", worst_first=True),
    "minute": Grouping(
        "date_trunc('minute', modified AT TIME ZONE 'UTC')", "strftime('%%Y-%%m-%%dT%%H:%%M:00Z', modified)"
    ),
    "hour": Grouping(
        "date_trunc('hour', modified AT TIME ZONE 'UTC')", "strftime('%%Y-%%m-%%dT%%H:00:00Z', modified)"
    ),
    # Where the job ran (AWX's UnifiedJob, awx/main/models/unified_jobs.py): the node whose clock
    # stamps ``created`` (execution_node) and the one whose runner callback forwards its events
    # (controller_node).
    "execution_node": Grouping("{parent}", "{parent}", job_column="execution_node", worst_first=True),
    "controller_node": Grouping("{parent}", "{parent}", job_column="controller_node", worst_first=True),
}
GROUP_BY = tuple(GROUPINGS)


@dataclass(frozen=True)
class LagQuery:
    """One request, already validated (lag/params.py validates user input).

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
    # cap of LAG_MAX_GROUPS then keeps the worst groups rather than the first ones. By default
    # the highest percentile for the groupings that come worst first, None for the others.
    worst_by: Decimal | None = None
    # Exact percentiles even over a window longer than LAG_EXACT_WINDOW (no rollups).
    exact: bool = False
    # From the rollups whatever the window's length (uses_rollups): the health figures, read on
    # every scrape, cost the minutes of their window, not its events.
    rollup: bool = False

    def __post_init__(self):
        if self.worst_by is None and GROUPINGS[self.by].worst_first:
            object.__setattr__(self, "worst_by", max(self.percentiles))

    def narrow_hint(self) -> str:
        """How to make this query cheaper, for the statement timeout's error."""
        ways = ["a shorter window (since/until)"]
        if self.job is None:
            ways.append("one job (job)")
        if KINDS[self.kind].has_event_column and self.event is None:
            ways.append("one event type (event)")
        return f"Narrow the query: {', '.join(ways)}."


def lag_rows(kind: EventKind, query: LagQuery, sources: list[Source], lag: str, vendor: str, grouped=True):
    """(SQL, params) of the rows ``grp, lag`` of every source, one SELECT each, as one UNION ALL:
    statistics over a legacy table and the partitioned one are those of all their rows. ``grp``
    is the group of ``query.by`` on ``vendor`` ("postgres" or "sqlite"), NULL unless ``grouped``."""
    grouping = GROUPINGS[query.by if grouped else "none"]
    group = getattr(grouping, vendor).format(parent=kind.parent_column)
    selects, params = [], []
    for source in sources:
        where, where_params = where_clause(kind, query, source)
        selects.append(f"SELECT {group} AS grp, {lag} AS lag FROM {source.table} WHERE {where}")
        params += where_params
    rows = " UNION ALL ".join(selects)
    if grouping.job_column is not None:
        rows = JOB_COLUMN_ROWS[vendor].format(rows=rows, column=grouping.job_column, jobs=UNIFIED_JOB_TABLE)
    return rows, params


# The rows grouped by a column of their job, the job being ``grp``. AWX's unified job table holds
# every job ever run: on PostgreSQL it is read only at the jobs of the window's events, by primary
# key (= ANY of their ids), never scanned or hashed whole; SQLite looks each row's job up by key.
JOB_COLUMN_ROWS = {
    "postgres": """WITH job_lags AS MATERIALIZED ({rows})
SELECT jobs.{column} AS grp, job_lags.lag FROM job_lags LEFT JOIN (
    SELECT id, {column} FROM {jobs}
    WHERE id = ANY(ARRAY(SELECT DISTINCT grp FROM job_lags WHERE grp IS NOT NULL))
) AS jobs ON jobs.id = job_lags.grp""",
    "sqlite": "SELECT (SELECT {column} FROM {jobs} WHERE id = job_lags.grp) AS grp, lag "
    "FROM ({rows}) AS job_lags",
}


def where_clause(kind: EventKind, query: LagQuery, source: Source) -> tuple[str, list]:
    """The WHERE clause: the window on the indexed ``modified``, the job (with its partition key
    on PostgreSQL, so that only one partition is scanned) and the event type."""
    adapt = connection.ops.adapt_datetimefield_value
    conditions, params = [], []
    if query.job is not None:
        conditions.append(f"{kind.parent_column} = %s")
        params.append(query.job)
        if source.job_created is not None and connection.vendor == "postgresql":
            conditions.append("job_created = %s")
            params.append(source.job_created)
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
