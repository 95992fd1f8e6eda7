"""What the app knows of AWX's job event tables (AWX's awx/main/models/events.py and its
partitioning in awx/main/utils/common.py create_partition), and their catalog.

The app never creates or migrates these tables: in AWX they exist already. It only reads them,
and learns what is there from the database catalog (never by counting rows).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..db import diagnostic_cursor

# AWX's migration 0144 renamed each event table to this prefix + its name before creating the
# partitioned one; the renamed table stays until cleanup_jobs drops it (awx/main/models/events.py
# Unpartitioned*Event).
LEGACY_PREFIX = "_unpartitioned_"


@dataclass(frozen=True)
class EventKind:
    name: str
    table: str
    parent_column: str
    has_event_column: bool
    group_prefix: str
    model: str  # AWX's model of this kind's jobs, as django_content_type names it
    ui_route: str  # the segment of AWX's UI route of a job of this kind (its model's get_ui_url)

    @property
    def legacy_table(self) -> str:
        """Where migration 0144 left the events stored before the tables were partitioned."""
        return f"{LEGACY_PREFIX}{self.table}"

    def group_name(self, job_id: int) -> str:
        """The websocket group AWX sends this job's events to."""
        return f"{self.group_prefix}-{job_id}"

    def ui_path(self, job_id: int | str) -> str:
        """The path of the job's output page in AWX's UI (awx/main/models get_ui_url, and the
        UI's /output tab); ``job_id`` a placeholder for a template of them."""
        return f"/#/jobs/{self.ui_route}/{job_id}/output"


KINDS: dict[str, EventKind] = {
    kind.name: kind
    for kind in (
        EventKind("job", "main_jobevent", "job_id", True, "job_events", "job", "playbook"),
        EventKind(
            "project_update",
            "main_projectupdateevent",
            "project_update_id",
            True,
            "project_update_events",
            "projectupdate",
            "project",
        ),
        EventKind(
            "inventory_update",
            "main_inventoryupdateevent",
            "inventory_update_id",
            False,
            "inventory_update_events",
            "inventoryupdate",
            "inventory",
        ),
        EventKind(
            "ad_hoc_command",
            "main_adhoccommandevent",
            "ad_hoc_command_id",
            True,
            "ad_hoc_command_events",
            "adhoccommand",
            "command",
        ),
        EventKind(
            "system_job",
            "main_systemjobevent",
            "system_job_id",
            False,
            "system_job_events",
            "systemjob",
            "system",
        ),
    )
}

UNIFIED_JOB_TABLE = "main_unifiedjob"
# Its id is a PostgreSQL integer: a job id above this names no job (and would not bind).
MAX_JOB_ID = 2**31 - 1


@dataclass(frozen=True)
class TableInfo:
    """What the catalog says of one table."""

    table: str
    exists: bool
    partitioned: bool = False
    partitions: int = 0
    approx_rows: int | None = None  # None: the catalog has no estimate (never analyzed)

    def as_dict(self) -> dict:
        return asdict(self)


_PG_TABLE_INFO = """
SELECT c.relkind = 'p',
       count(p.oid),
       CASE WHEN c.relkind = 'p' THEN coalesce(sum(greatest(p.reltuples, 0)), 0)::bigint
            ELSE greatest(c.reltuples, 0)::bigint END,
       -- reltuples is -1 until a table is first analyzed (PostgreSQL 14+)
       CASE WHEN c.relkind = 'p' THEN coalesce(bool_or(p.reltuples >= 0), true)
            ELSE c.reltuples >= 0 END
FROM pg_class c
LEFT JOIN pg_inherits i ON i.inhparent = c.oid
LEFT JOIN pg_class p ON p.oid = i.inhrelid
WHERE c.oid = to_regclass(%s)
GROUP BY c.oid, c.relkind, c.reltuples
"""


def table_info(table: str) -> TableInfo:
    """Existence, partitioning and an approximate row count of ``table`` from the catalog.

    PostgreSQL: pg_class.reltuples (summed over partitions), as maintained by ANALYZE and
    autovacuum. SQLite (the embedded default) keeps no statistics; max(rowid) is read instead,
    one index lookup, like AWX's own ``callback_stats`` approximating from id ranges.
    """
    with diagnostic_cursor() as cursor:
        if cursor.db.vendor == "postgresql":
            cursor.execute(_PG_TABLE_INFO, [table])
            row = cursor.fetchone()
            if row is None:
                return TableInfo(table, exists=False)
            partitioned, partitions, rows, analyzed = row
            return TableInfo(
                table,
                exists=True,
                partitioned=partitioned,
                partitions=partitions if partitioned else 0,
                approx_rows=rows if analyzed else None,
            )
        if not table_exists(cursor, table):
            return TableInfo(table, exists=False)
        cursor.execute(f'SELECT max(rowid) FROM "{table}"')  # noqa: S608 - name from KINDS
        return TableInfo(table, exists=True, approx_rows=cursor.fetchone()[0] or 0)


def table_exists(cursor, table: str) -> bool:
    """Whether ``table`` exists, from the catalog."""
    if cursor.db.vendor == "postgresql":
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
    else:
        cursor.execute("SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = %s", [table])
    return bool(cursor.fetchone()[0])
