"""AWX's unified jobs as the app reads them (awx/main/models/unified_jobs.py): a job's ``created``
(the partition key of its events), its kind from django-polymorphic's ``polymorphic_ctype``, and
where its events are: the partitioned table, or the table migration 0144 left behind for jobs
created before it ran (``UnifiedJob.has_unpartitioned_events``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..db import diagnostic_cursor
from ..errors import NotFound
from .tables import KINDS, UNIFIED_JOB_TABLE, EventKind

KIND_BY_MODEL = {kind.model: name for name, kind in KINDS.items()}
# django_migrations' row of the migration that partitioned the event tables; AWX's
# get_event_partition_epoch() reads its ``applied``.
PARTITIONING_MIGRATION = ("main", "0144_event_partitions")

_FIND_JOB = f"""
SELECT u.created, t.app_label, t.model
FROM {UNIFIED_JOB_TABLE} u LEFT JOIN django_content_type t ON t.id = u.polymorphic_ctype_id
WHERE u.id = %s
"""


@dataclass(frozen=True)
class UnifiedJob:
    id: int
    created: datetime
    model: str | None  # AWX's model (job, projectupdate, workflowjob...); None when not recorded

    @property
    def kind(self) -> str | None:
        """The event kind of this job; None for a job without events of its own (workflow)."""
        return KIND_BY_MODEL.get(self.model)


def aware(moment: datetime) -> datetime:
    """SQLite's cursor gives naive UTC datetimes, PostgreSQL's aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def find_job(cursor, job_id: int, kind: EventKind) -> UnifiedJob:
    """The job ``job_id``; NotFound when there is none, or when it is not of ``kind``: its
    events are then in another table, and a count of 0 would be a wrong answer."""
    cursor.execute(_FIND_JOB, [job_id])
    row = cursor.fetchone()
    if row is None:
        raise NotFound(f"no job with id {job_id} in {UNIFIED_JOB_TABLE}.")
    created, app_label, model = row
    job = UnifiedJob(job_id, aware(created), model if app_label == "main" else None)
    if job.model is not None and job.kind != kind.name:
        if job.kind is None:
            raise NotFound(f"job {job_id} is a {job.model}, which has no events of its own.")
        raise NotFound(
            f"job {job_id} is of kind {job.kind}, not {kind.name}.", hint=f"Ask with kind {job.kind}."
        )
    return job


def existing_job(job_id: int, kind: str) -> UnifiedJob:
    """find_job on a diagnostic cursor of its own: for a face refusing a job named by the user
    before it waits on the job (listen's --job), as lag refuses it."""
    with diagnostic_cursor() as cursor:
        return find_job(cursor, job_id, KINDS[kind])


def legacy_partitioned_at(cursor, legacy_tables: list[str]) -> dict[str, datetime]:
    """When AWX partitioned its event tables (migration 0144 applied), by each of ``legacy_tables``
    (the events 0144 left behind) that exists; none outside AWX, nor once cleanup_jobs dropped a
    table. One statement for every table: each lag statement asks."""
    if not legacy_tables:
        return {}
    if cursor.db.vendor == "postgresql":
        tables = "SELECT legacy FROM unnest(%s::text[]) AS t(legacy) WHERE to_regclass(legacy) IS NOT NULL"
        names = [list(legacy_tables)]
    else:
        marks = ", ".join(["%s"] * len(legacy_tables))
        tables = f"SELECT name AS legacy FROM sqlite_master WHERE type = 'table' AND name IN ({marks})"
        names = list(legacy_tables)
    partitioning = "SELECT applied FROM django_migrations WHERE app = %s AND name = %s"
    cursor.execute(
        f"SELECT legacy, ({partitioning}) FROM ({tables}) AS existing", [*PARTITIONING_MIGRATION, *names]
    )
    # SQLite gives a subquery's datetime as text
    return {
        table: aware(datetime.fromisoformat(applied) if isinstance(applied, str) else applied)
        for table, applied in cursor.fetchall()
        if applied
    }
