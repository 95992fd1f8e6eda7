"""Which tables answer a lag query, as AWX reads its events (UnifiedJob.get_event_queryset):

- a job created after AWX partitioned its event tables (migration 0144): the partitioned table,
  pruned to the job's partition by ``job_created``;
- a job created before: only ``_unpartitioned_<table>``, where 0144 left the older events
  (``has_unpartitioned_events``);
- a window: the partitioned table, and the legacy table too when the window starts before 0144
  ran (the legacy rows were all stored before it). That table has no index on ``modified``:
  reading it for a window scans it, under the statement timeout like every statement.

The legacy table is read only while it exists: AWX's cleanup_jobs drops it once it holds nothing
newer than its cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..awx.jobs import find_job, legacy_partitioned_at
from ..awx.tables import EventKind


@dataclass(frozen=True)
class Source:
    table: str
    # The partition key to prune on: the job's ``created``, for a job's partitioned events only.
    job_created: datetime | None = None


def event_sources(cursor, kind: EventKind, query) -> list[Source]:
    """The tables holding the events ``query`` asks for; NotFound for a job that does not exist
    or is of another kind."""
    if query.job is None:
        return window_sources(cursor, [kind], query.since)[kind.name]
    job = find_job(cursor, query.job, kind)
    partitioned = legacy_partitioned_at(cursor, [kind.legacy_table]).get(kind.legacy_table)
    if partitioned is not None and job.created < partitioned:
        return [Source(kind.legacy_table)]
    return [Source(kind.table, job.created)]


def window_sources(cursor, kinds: list[EventKind], since: datetime | None) -> dict[str, list[Source]]:
    """The tables holding each of ``kinds``' events stored since ``since`` (None: ever), every
    kind in one statement."""
    partitioned = legacy_partitioned_at(cursor, [kind.legacy_table for kind in kinds])
    sources = {}
    for kind in kinds:
        sources[kind.name] = [Source(kind.table)]
        at = partitioned.get(kind.legacy_table)
        if at is not None and (since is None or since < at):
            sources[kind.name].append(Source(kind.legacy_table))
    return sources
