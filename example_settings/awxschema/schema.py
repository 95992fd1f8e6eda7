"""DDL for a stand-in of AWX's job event schema (ansible/awx awx/main/models/events.py).

Tables, columns and indexes carry AWX's names. On PostgreSQL the event tables are partitioned by
RANGE (job_created) into hourly partitions named <table>_YYYYMMDD_HH with primary key
(id, job_created), as AWX's migration 0144 made them; on SQLite they are plain tables. Next to
each, the table 0144 renamed to ``_unpartitioned_<table>`` and left in place, which every AWX
installed or upgraded through 0144 has until cleanup_jobs drops it (legacy_table_ddl). The
unified job table has django-polymorphic's ``polymorphic_ctype_id`` (job_content_type) and where
the job ran (``execution_node``, ``controller_node``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from awx_eventdebug.awx.tables import KINDS, UNIFIED_JOB_TABLE

# Abstract column types -> (PostgreSQL, SQLite)
TYPES = {
    "ts": ("timestamp with time zone NOT NULL", "datetime NOT NULL"),
    "ts_null": ("timestamp with time zone NULL", "datetime NULL"),
    "varchar100": ("varchar(100) NOT NULL", "varchar(100) NOT NULL"),
    "varchar1024": ("varchar(1024) NOT NULL", "varchar(1024) NOT NULL"),
    "text": ("text NOT NULL", "text NOT NULL"),
    "bool": ("boolean NOT NULL", "bool NOT NULL"),
    "uint": ("integer NOT NULL CHECK ({col} >= 0)", "integer unsigned NOT NULL CHECK ({col} >= 0)"),
    "fk": ("integer NOT NULL", "integer NOT NULL"),
    "fk_null": ("integer NULL", "integer NULL"),
}

_COMMAND_EVENT = [
    ("created", "ts_null"),
    ("modified", "ts"),
    ("event_data", "text"),
    ("uuid", "varchar1024"),
    ("counter", "uint"),
    ("stdout", "text"),
    ("verbosity", "uint"),
    ("start_line", "uint"),
    ("end_line", "uint"),
]
_PLAYBOOK_EVENT = _COMMAND_EVENT + [
    ("event", "varchar100"),
    ("failed", "bool"),
    ("changed", "bool"),
    ("playbook", "varchar1024"),
    ("play", "varchar1024"),
    ("role", "varchar1024"),
    ("task", "varchar1024"),
]

COLUMNS = {
    "job": _PLAYBOOK_EVENT
    + [
        ("job_id", "fk_null"),
        ("host_id", "fk_null"),
        ("host_name", "varchar1024"),
        ("parent_uuid", "varchar1024"),
    ],
    "project_update": _PLAYBOOK_EVENT + [("project_update_id", "fk")],
    "inventory_update": _COMMAND_EVENT + [("inventory_update_id", "fk")],
    "ad_hoc_command": _COMMAND_EVENT
    + [
        ("event", "varchar100"),
        ("failed", "bool"),
        ("changed", "bool"),
        ("ad_hoc_command_id", "fk"),
        ("host_id", "fk_null"),
        ("host_name", "varchar1024"),
    ],
    "system_job": _COMMAND_EVENT + [("system_job_id", "fk")],
}
for _kind in COLUMNS:
    COLUMNS[_kind] = COLUMNS[_kind] + [("job_created", "ts")]

# AWX's index_together, each led by (parent key, job_created).
INDEXED_AFTER_PARENT = {
    "job": ("event", "uuid", "parent_uuid", "counter"),
    "project_update": ("event", "uuid", "counter"),
    "inventory_update": ("uuid", "counter"),
    "ad_hoc_command": ("event", "uuid", "counter"),
    "system_job": ("uuid", "counter"),
}

# The tables as they were before 0144 (AWX 24.6.1's _unpartitioned_* DDL): no job_created, the
# parent NOT NULL, ``created`` NOT NULL where AWX's migration 0068 did not make it nullable, and
# that time's indexes: the parent alone, (parent, column), and these columns alone. No index on
# ``modified``.
LEGACY_NULL_CREATED = ("job", "project_update")
LEGACY_INDEXED_AFTER_PARENT = {
    "job": ("end_line", "event", "parent_uuid", "start_line", "uuid"),
    "project_update": ("end_line", "event", "start_line", "uuid"),
    "inventory_update": ("end_line", "start_line", "uuid"),
    "ad_hoc_command": ("end_line", "event", "start_line", "uuid"),
    "system_job": ("end_line", "start_line", "uuid"),
}
LEGACY_INDEXED_ALONE = {
    "job": ("created", "host_id"),
    "project_update": ("created",),
    "ad_hoc_command": ("host_id",),
}

UNIFIED_JOB_COLUMNS = {
    "postgresql": """
        id serial PRIMARY KEY,
        created timestamp with time zone NOT NULL,
        modified timestamp with time zone NOT NULL,
        name varchar(512) NOT NULL,
        launch_type varchar(20) NOT NULL,
        status varchar(20) NOT NULL,
        started timestamp with time zone NULL,
        finished timestamp with time zone NULL,
        elapsed numeric(12, 3) NOT NULL
    """,
    "sqlite": """
        id integer PRIMARY KEY AUTOINCREMENT,
        created datetime NOT NULL,
        modified datetime NOT NULL,
        name varchar(512) NOT NULL,
        launch_type varchar(20) NOT NULL,
        status varchar(20) NOT NULL,
        started datetime NULL,
        finished datetime NULL,
        elapsed decimal NOT NULL
    """,
}


def table_ddl(kind: str, vendor: str) -> list[str]:
    table = KINDS[kind].table
    parent = KINDS[kind].parent_column
    pick = 0 if vendor == "postgresql" else 1
    columns = [f"{name} {TYPES[kind_][pick].format(col=name)}" for name, kind_ in COLUMNS[kind]]
    if vendor == "postgresql":
        statements = [
            f"CREATE TABLE {table} (id bigserial NOT NULL, {', '.join(columns)}, "
            f"PRIMARY KEY (id, job_created)) PARTITION BY RANGE (job_created)"
        ]
    else:
        statements = [f"CREATE TABLE {table} (id integer PRIMARY KEY AUTOINCREMENT, {', '.join(columns)})"]
    statements.append(f"CREATE INDEX {table}_modified_idx ON {table} (modified)")
    for column in INDEXED_AFTER_PARENT[kind]:
        statements.append(
            f"CREATE INDEX {table}_{parent}_job_created_{column}_idx "
            f"ON {table} ({parent}, job_created, {column})"
        )
    return statements


def legacy_columns(kind: str) -> list[tuple[str, str]]:
    """The columns of ``kind``'s table before 0144, as (name, abstract type)."""
    parent = KINDS[kind].parent_column
    nullable_created = kind in LEGACY_NULL_CREATED
    columns = []
    for name, type_ in COLUMNS[kind]:
        if name == "job_created":
            continue
        if name == parent:
            type_ = "fk"
        elif name == "created" and not nullable_created:
            type_ = "ts"
        columns.append((name, type_))
    return columns


def legacy_table_ddl(kind: str, vendor: str) -> list[str]:
    table = KINDS[kind].legacy_table
    parent = KINDS[kind].parent_column
    pick = 0 if vendor == "postgresql" else 1
    columns = ", ".join(
        f"{name} {TYPES[type_][pick].format(col=name)}" for name, type_ in legacy_columns(kind)
    )
    key = "id bigserial PRIMARY KEY" if vendor == "postgresql" else "id integer PRIMARY KEY AUTOINCREMENT"
    statements = [f"CREATE TABLE {table} ({key}, {columns})"]
    for indexed in [(parent,)] + [(parent, column) for column in LEGACY_INDEXED_AFTER_PARENT[kind]]:
        statements.append(f"CREATE INDEX {table}_{'_'.join(indexed)}_idx ON {table} ({', '.join(indexed)})")
    for column in LEGACY_INDEXED_ALONE.get(kind, ()):
        statements.append(f"CREATE INDEX {table}_{column}_idx ON {table} ({column})")
    return statements


# django-polymorphic's column: the id in django_content_type (app_label "main", model "job",
# "projectupdate"...) of the job's concrete model. AWX's foreign key is left out: it would keep
# the test runner from truncating django_content_type between tests.
POLYMORPHIC_COLUMN = "polymorphic_ctype_id integer NULL"


def add_job_types_and_legacy_tables(connection) -> None:
    """Migration 0002: the jobs' polymorphic type and the legacy tables."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {UNIFIED_JOB_TABLE} ADD COLUMN {POLYMORPHIC_COLUMN}")
        for kind in KINDS:
            for statement in legacy_table_ddl(kind, connection.vendor):
                cursor.execute(statement)


# AWX's UnifiedJob.execution_node ("The node the job executed on.") and controller_node ("The
# instance that managed the execution environment."), awx/main/models/unified_jobs.py:
# TextField(blank=True, default=''), which Django makes ``text NOT NULL`` with no database default.
NODE_COLUMNS = ("execution_node", "controller_node")


def add_node_columns(connection) -> None:
    """Migration 0003: where each job ran."""
    with connection.cursor() as cursor:
        for column in NODE_COLUMNS:
            # SQLite adds a NOT NULL column only with a default, and cannot drop it afterwards;
            # PostgreSQL drops it, as AWX has none, so an INSERT without the column fails as on AWX.
            cursor.execute(f"ALTER TABLE {UNIFIED_JOB_TABLE} ADD COLUMN {column} text NOT NULL DEFAULT ''")
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {UNIFIED_JOB_TABLE} ALTER COLUMN {column} DROP DEFAULT")


def remove_node_columns(connection) -> None:
    with connection.cursor() as cursor:
        for column in NODE_COLUMNS:
            cursor.execute(f"ALTER TABLE {UNIFIED_JOB_TABLE} DROP COLUMN {column}")


# AWX's UnifiedJob.emitted_events (PositiveIntegerField(default=0): the events the job's callback
# sent, saved when it ends) and the index Django makes for ``finished`` (db_index=True),
# awx/main/models/unified_jobs.py. The database default (AWX's column has none: Django writes the
# 0) keeps the stand-in's rows written without it valid.
EMITTED_EVENTS = "emitted_events integer NOT NULL DEFAULT 0 CHECK (emitted_events >= 0)"
FINISHED_INDEX = "main_unifiedjob_finished_idx"


def add_emitted_events(connection) -> None:
    """Migration 0004: how many events each job sent, and the index on ``finished``."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {UNIFIED_JOB_TABLE} ADD COLUMN {EMITTED_EVENTS}")
        cursor.execute(f"CREATE INDEX {FINISHED_INDEX} ON {UNIFIED_JOB_TABLE} (finished)")


def remove_emitted_events(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {FINISHED_INDEX}")
        cursor.execute(f"ALTER TABLE {UNIFIED_JOB_TABLE} DROP COLUMN emitted_events")


def remove_job_types_and_legacy_tables(connection) -> None:
    with connection.cursor() as cursor:
        for kind in KINDS.values():
            cursor.execute(f"DROP TABLE IF EXISTS {kind.legacy_table}")
        cursor.execute(f"ALTER TABLE {UNIFIED_JOB_TABLE} DROP COLUMN polymorphic_ctype_id")


def create_schema(connection) -> None:
    vendor = connection.vendor
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {UNIFIED_JOB_TABLE} ({UNIFIED_JOB_COLUMNS[vendor]})")
        for kind in KINDS:
            for statement in table_ddl(kind, vendor):
                cursor.execute(statement)


def rebuild_schema(connection) -> None:
    """Every stand-in table dropped and created empty, as its migrations leave them: for tests
    whose rows (and PostgreSQL partitions) outlive a transactional test."""
    drop_schema(connection)
    create_schema(connection)
    add_job_types_and_legacy_tables(connection)
    add_node_columns(connection)
    add_emitted_events(connection)


def drop_schema(connection) -> None:
    with connection.cursor() as cursor:
        for kind in KINDS.values():
            cursor.execute(f"DROP TABLE IF EXISTS {kind.table}")
            cursor.execute(f"DROP TABLE IF EXISTS {kind.legacy_table}")
        cursor.execute(f"DROP TABLE IF EXISTS {UNIFIED_JOB_TABLE}")


def partition_name(table: str, hour: datetime) -> str:
    return f"{table}_{hour.astimezone(UTC).strftime('%Y%m%d_%H')}"


def ensure_partitions(cursor, table: str, job_created_times) -> int:
    """Create the hourly partitions of ``table`` covering these job_created values, as AWX's
    dispatcher does before a job runs. Returns how many hours were requested."""
    hours = {t.astimezone(UTC).replace(minute=0, second=0, microsecond=0) for t in job_created_times}
    for hour in sorted(hours):
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {partition_name(table, hour)} PARTITION OF {table} "
            f"FOR VALUES FROM ('{hour.isoformat()}') TO ('{(hour + timedelta(hours=1)).isoformat()}')"
        )
    return len(hours)


def record_partitioning(cursor, applied: datetime) -> None:
    """Record AWX's migration 0144 as applied at ``applied``, as django_migrations has it in
    AWX: jobs created before then have their events in the legacy tables. The stand-in does
    not record it by itself, so its jobs of any date are in the partitioned tables."""
    cursor.execute(
        "INSERT INTO django_migrations (app, name, applied) VALUES ('main', '0144_event_partitions', %s)",
        [cursor.db.ops.adapt_datetimefield_value(applied)],
    )
