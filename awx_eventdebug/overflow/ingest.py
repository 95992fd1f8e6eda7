"""``eventdebug ingest``: count the overflow records of existing logs into ChannelOverflow.

The files are read by logread.py (formats, speed, rejected lines). Lines are streamed and
committed in batches, so memory stays bounded whatever the size of the file.

Idempotence: every record gets a fingerprint, a hash of the node, the record's identity (the
journal cursor, else the whole log line) and its occurrence number among identical lines of the
same file (two records logged in the same millisecond with the same text are both counted). A
batch inserts its fingerprints into IngestedRecord with ON CONFLICT DO NOTHING RETURNING, and adds
to ChannelOverflow only the records whose fingerprint was new, in the same transaction. So
ingesting a file twice, a rotated file overlapping the previous one, or the same file from two
shells at once counts every record once. Purge deletes old fingerprints with their rows and keeps
the newest record time among them (IngestHorizon): a record at or before it may have been counted
and purged, so it is skipped as too old, not counted again.

Bad input never stops a run: a rejected line is counted; a file that cannot be read to its end
carries the error in its report, and the next file is read. A plain file keeps the records read
before the fault (a read error); a compressed one keeps none (a corrupt or truncated gzip): what
was read of it may be garbled, so its records are reported as unverified.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Max

from ..columns import SOURCE_INGEST
from ..conf import get_config
from ..db import app_tables
from ..errors import Misconfigured
from ..models import IngestedRecord, IngestHorizon
from ..timeutil import isoformat
from .counts import Counts, merge_into
from .logread import (
    UNREADABLE,
    FileReport,
    Record,
    Rejected,
    describe_error,
    file_size,
    is_compressed,
    read_records,
)
from .record import node_name, storable_name, window_start
from .upsert import Totals, add_counts, add_totals

BATCH_RECORDS = 5000


class _Garbled(Exception):
    """A compressed file did not decompress whole: what was counted of it is rolled back."""


# SQLite: 2 parameters each, below its oldest limit of 999 per statement.
FINGERPRINTS_PER_STATEMENT = 400


@dataclass
class IngestRun:
    """Accumulates counts over every file of one ``ingest`` and commits in batches."""

    node: str
    window: int
    progress: Callable[[FileReport], None] | None = None
    rejected: Rejected | None = None
    files: list[FileReport] = field(default_factory=list)
    rows_written: int = 0
    interrupted: bool = False
    purge_horizon: datetime | None = None  # as last read: at the start, after each batch's inserts
    # The drops a compressed file's batches wrote, added to the totals at the end of its
    # transaction (upsert.add_counts, totals).
    file_totals: Totals | None = None

    def ingest(self, label: str, stream) -> FileReport:
        report = FileReport(label, size=file_size(stream))
        self.files.append(report)
        if not is_compressed(stream):
            self._read(stream, report)
            return report
        # gzip checks its data (CRC) only at its end: a flipped bit garbles what follows it into
        # lines that may still read as records, and may even look like a file cut short. So a
        # compressed file is counted in one transaction, kept only when it decompressed whole.
        rows_before = self.rows_written
        self.file_totals = {}
        try:
            with transaction.atomic():
                if not self._read(stream, report):
                    raise _Garbled
                add_totals(self.file_totals)
        except (_Garbled, KeyboardInterrupt) as exc:
            self.rows_written = rows_before
            report.new_records = report.duplicates = report.too_old_records = 0
            if not isinstance(exc, _Garbled):
                raise
            report.unverified_records = report.records
        finally:
            self.file_totals = None
        return report

    def _read(self, stream, report: FileReport) -> bool:
        """Count the records of ``stream`` in batches; False when a fault ended it early."""
        batch: list[Record] = []
        try:
            for record in read_records(stream, report, self.node, self._reject, self.progress):
                batch.append(record)
                if len(batch) >= BATCH_RECORDS:
                    self._commit(batch, report)
                    batch = []
        except UNREADABLE as exc:
            report.error = describe_error(exc, report)
        self._commit(batch, report)
        return report.error is None

    def _reject(self, report: FileReport, line: int, why: str) -> None:
        report.bad_lines += 1
        if self.rejected:
            self.rejected(report, line, why)

    def _commit(self, batch: list[Record], report: FileReport) -> None:
        if not batch:
            return
        by_fingerprint = {}
        for record in batch:
            by_fingerprint.setdefault(_fingerprint(record), record)
        report.duplicates += len(batch) - len(by_fingerprint)
        # Records at or before the horizon read last need no fingerprint. It is read again only
        # after the inserts: a transaction that reads first fails on SQLite, rather than waits,
        # when another process writes before it does.
        recent = self._after_purge_horizon(by_fingerprint)
        inserted, fresh = self._count_fresh(recent)
        report.new_records += len(fresh)
        report.too_old_records += len(by_fingerprint) - len(recent) + len(inserted) - len(fresh)
        report.duplicates += len(recent) - len(inserted)

    def _after_purge_horizon(self, by_fingerprint: dict[str, Record]) -> dict[str, Record]:
        """The records newer than the purge horizon as last read."""
        horizon = self.purge_horizon
        if horizon is None:
            return by_fingerprint
        return {key: record for key, record in by_fingerprint.items() if record.logged_at > horizon}

    @app_tables
    def _count_fresh(self, by_fingerprint: dict[str, Record]) -> tuple[list[str], dict[str, Record]]:
        """In one transaction: the fingerprints not stored yet, and the counts of their records
        newer than the purge horizon; returns both."""
        inserted = _insert_fingerprints(by_fingerprint)
        # A purge that committed meanwhile, having deleted some of these fingerprints, moved the
        # horizon past their records in the same transaction.
        self.purge_horizon = purge_horizon()
        fresh = self._after_purge_horizon({key: by_fingerprint[key] for key in inserted})
        rows: dict[tuple, Counts] = {}
        for record in fresh.values():
            key = (record.node, record.group, window_start(record.logged_at, self.window), SOURCE_INGEST)
            merge_into(rows, key, Counts.of_record(record.logged_at, record.queues, record.members))
        self.rows_written += add_counts(rows, totals=self.file_totals)
        return inserted, fresh

    def as_dict(self) -> dict:
        totals = {name: sum(getattr(f, name) for f in self.files) for name in _TOTALLED}
        totals["unreadable_files"] = sum(1 for f in self.files if f.error)
        return {
            "node": self.node,
            "window_seconds": self.window,
            "files": [f.as_dict() for f in self.files],
            "totals": totals,
            "written_rows": self.rows_written,
            "purge_horizon": isoformat(self.purge_horizon),
            "interrupted": self.interrupted,
            "skipped": bool(totals["bad_lines"] or totals["unreadable_files"]),
        }


_TOTALLED = (
    "lines",
    "records",
    "new_records",
    "duplicates",
    "too_old_records",
    "unverified_records",
    "bad_lines",
    "bytes",
)


@app_tables
def purge_horizon() -> datetime | None:
    """The newest record time whose fingerprint purge deleted (IngestHorizon); None before any."""
    return IngestHorizon.objects.aggregate(horizon=Max("purged_through"))["horizon"]


def _fingerprint(record: Record) -> str:
    text = f"{record.node}\x00{record.identity}"
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _insert_fingerprints(by_fingerprint: dict[str, Record]) -> list[str]:
    """Insert the fingerprints; return those that were not there yet (committed with the counts)."""
    if connection.vendor == "sqlite":
        import sqlite3

        if sqlite3.sqlite_version_info < (3, 35):
            raise Misconfigured(
                f"ingest needs SQLite 3.35 or later (RETURNING); this is {sqlite3.sqlite_version}."
            )
    table = connection.ops.quote_name(IngestedRecord._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    items = sorted(by_fingerprint.items())
    fresh = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The whole batch as two arrays: two parameters, where thousands of placeholders
            # would cost psycopg more to parse than PostgreSQL to insert.
            cursor.execute(
                f"INSERT INTO {table} (fingerprint, logged_at) "
                "SELECT * FROM unnest(%s::varchar[], %s::timestamptz[]) "
                "ON CONFLICT (fingerprint) DO NOTHING RETURNING fingerprint",
                [[fingerprint for fingerprint, _ in items], [record.logged_at for _, record in items]],
            )
            return [row[0] for row in cursor.fetchall()]
        for start in range(0, len(items), FINGERPRINTS_PER_STATEMENT):
            chunk = items[start : start + FINGERPRINTS_PER_STATEMENT]
            params = []
            for fingerprint, record in chunk:
                params += [fingerprint, adapt(record.logged_at)]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (fingerprint, logged_at) VALUES {values} "
                "ON CONFLICT (fingerprint) DO NOTHING RETURNING fingerprint",
                params,
            )
            fresh.extend(row[0] for row in cursor.fetchall())
    return fresh


def ingest_streams(
    sources,
    node: str | None = None,
    progress: Callable[[FileReport], None] | None = None,
    rejected: Rejected | None = None,
) -> dict:
    """Ingest ``sources`` ((label, binary stream) pairs) for ``node`` (default this node; the
    journal's host names win over it). Returns the report of every file and the totals.

    Ctrl-C (KeyboardInterrupt) ends the run with what was committed so far, marked
    ``interrupted``: the batch being read is not counted, and a later run counts it once."""
    run = IngestRun(
        node=storable_name(node or node_name()),
        window=get_config()["CAPTURE_WINDOW"],
        progress=progress,
        rejected=rejected,
        # Connects first: a database out of reach fails the run before a long file is read.
        purge_horizon=purge_horizon(),
    )
    try:
        for label, stream in sources:
            run.ingest(label, stream)
    except KeyboardInterrupt:
        run.interrupted = True
    return run.as_dict()
