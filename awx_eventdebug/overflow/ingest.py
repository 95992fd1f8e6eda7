"""``eventdebug ingest``: count the overflow records of existing logs into ChannelOverflow.

Formats, recognised per file from its first bytes: AWX's tower.log lines
(``2021-04-28 20:53:51,230 INFO     channels_redis.core 1 of 4 channels over capacity in group
broadcast-group_send``), ``journalctl -o short-iso`` / ``short-iso-precise`` lines (the host
field names the node), and ``journalctl -o export`` entries (MESSAGE, __REALTIME_TIMESTAMP,
_HOSTNAME, __CURSOR); any of them gzip-compressed. Lines are streamed and committed in batches, so
memory stays bounded whatever the size of the file.

Idempotence: every record gets a fingerprint, a hash of the node, the record's identity (the
journal cursor, else the whole log line) and its occurrence number among identical lines of the
same file (two records logged in the same millisecond with the same text are both counted). A
batch inserts its fingerprints into IngestedRecord with ON CONFLICT DO NOTHING RETURNING, and adds
to ChannelOverflow only the records whose fingerprint was new, in the same transaction. So
ingesting a file twice, a rotated file overlapping the previous one, or the same file from two
shells at once counts every record once.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from ..conf import get_config
from ..db import app_tables
from ..errors import Misconfigured
from ..models import IngestedRecord
from .record import MARKER, SOURCE_INGEST, node_name, parse_message, storable_name, window_start
from .upsert import Counts, add_counts

MARKER_BYTES = MARKER.encode()
BATCH_RECORDS = 5000
FINGERPRINTS_PER_STATEMENT = 400
# A longer line is no log record of channels_redis; it is skipped without being held in memory.
MAX_LINE_BYTES = 1 << 20
# Identical lines carry the same millisecond, so they are never far apart: this many recent
# distinct lines are remembered (as 16-byte digests: about 1 MB).
OCCURRENCE_MEMORY = 8192
PROGRESS_SECONDS = 2.0
GZIP_MAGIC = b"\x1f\x8b"

LINE_TIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<time>\d{2}:\d{2}:\d{2})(?:[,.](?P<fraction>\d{1,6}))?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)
# journalctl -o short-iso: "<time> <host> <identifier>[<pid>]: <message>".
SHORT_ISO_HOST = re.compile(r"^\S+ (?P<host>\S+) [^\s:]+: ")
EXPORT_FIELD = re.compile(rb"^[A-Z0-9_]+=")
EXPORT_WANTED = {b"MESSAGE", b"__REALTIME_TIMESTAMP", b"_HOSTNAME", b"__CURSOR"}


@dataclass
class Record:
    logged_at: datetime
    queues: int
    members: int
    group: str
    node: str
    identity: str


@dataclass
class FileReport:
    file: str
    format: str = "log"
    compressed: bool = False
    lines: int = 0
    records: int = 0
    new: int = 0
    duplicates: int = 0
    bad: int = 0
    bytes: int = 0

    def as_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class IngestRun:
    """Accumulates counts over every file of one ``ingest`` and commits in batches."""

    node: str
    window: int
    progress: Callable[[FileReport], None] | None = None
    files: list[FileReport] = field(default_factory=list)
    rows_written: int = 0

    def ingest(self, label: str, stream) -> FileReport:
        report = FileReport(label)
        self.files.append(report)
        head = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
        if head == GZIP_MAGIC:
            report.compressed = True
            stream = gzip.GzipFile(fileobj=stream, mode="rb")
        reader = _CountingReader(stream, report, self.progress)
        first = reader.peek_line()
        if EXPORT_FIELD.match(first):
            report.format = "journal-export"
            records = _export_records(reader, report, self.node)
        else:
            records = _line_records(reader, report, self.node)
        batch: list[Record] = []
        for record in records:
            batch.append(record)
            if len(batch) >= BATCH_RECORDS:
                self._commit(batch, report)
                batch = []
        self._commit(batch, report)
        return report

    def _commit(self, batch: list[Record], report: FileReport) -> None:
        if not batch:
            return
        by_fingerprint = {}
        for record in batch:
            by_fingerprint.setdefault(_fingerprint(record), record)
        report.duplicates += len(batch) - len(by_fingerprint)
        with transaction.atomic():
            fresh = _insert_fingerprints(by_fingerprint)
            rows: dict[tuple, Counts] = {}
            for fingerprint in fresh:
                record = by_fingerprint[fingerprint]
                key = (record.node, record.group, window_start(record.logged_at, self.window), SOURCE_INGEST)
                if key in rows:
                    rows[key].add(record.logged_at, record.queues, record.members)
                else:
                    rows[key] = Counts(record.logged_at, record.logged_at, 1, record.queues, record.members)
            self.rows_written += add_counts(rows)
        report.new += len(fresh)
        report.duplicates += len(by_fingerprint) - len(fresh)

    def as_dict(self) -> dict:
        totals = {name: sum(getattr(f, name) for f in self.files) for name in _TOTALLED}
        return {
            "node": self.node,
            "window": self.window,
            "files": [f.as_dict() for f in self.files],
            "totals": totals,
            "rows_written": self.rows_written,
        }


_TOTALLED = ("lines", "records", "new", "duplicates", "bad", "bytes")


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


class _CountingReader:
    """Bounded line reading with byte counting, progress reports, and a one-line lookahead."""

    def __init__(self, stream, report: FileReport, progress: Callable[[FileReport], None] | None):
        self.stream = stream
        self.report = report
        self.progress = progress
        self.pending: bytes | None = None
        self.lines_read = 0
        self.last_progress = time.monotonic()

    def peek_line(self) -> bytes:
        if self.pending is None:
            self.pending = self._read()
        return self.pending

    def readline(self) -> bytes:
        if self.pending is not None:
            line, self.pending = self.pending, None
            return line
        return self._read()

    def _read(self) -> bytes:
        line = self.stream.readline(MAX_LINE_BYTES)
        self.report.bytes += len(line)
        self.lines_read += 1
        # The clock is read every few thousand lines only: most lines cost a readline.
        if self.progress and not self.lines_read % 4096:
            now = time.monotonic()
            if now - self.last_progress >= PROGRESS_SECONDS:
                self.progress(self.report)
                self.last_progress = now
        if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
            # Too long to be a record: skip to its end in bounded pieces, count it bad.
            while True:
                rest = self.stream.readline(MAX_LINE_BYTES)
                self.report.bytes += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            self.report.bad += 1
            return b"\n"
        return line

    def read(self, size: int) -> bytes:
        data = self.stream.read(size)
        self.report.bytes += len(data)
        return data

    def skip(self, size: int) -> None:
        while size > 0:
            data = self.read(min(size, MAX_LINE_BYTES))
            if not data:
                return
            size -= len(data)


class _Occurrences:
    """Numbers identical lines of one file 0, 1, 2... remembering the most recent ones only."""

    def __init__(self):
        self.seen: OrderedDict[bytes, int] = OrderedDict()

    def number(self, text: str) -> int:
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        count = self.seen.pop(digest, -1) + 1
        self.seen[digest] = count
        if len(self.seen) > OCCURRENCE_MEMORY:
            self.seen.popitem(last=False)
        return count


def parse_log_time(text: str) -> datetime | None:
    """The time a log line starts with; naive times are in settings.TIME_ZONE, as Django sets
    the process's local time (and so logging's asctime) to it."""
    match = LINE_TIME.match(text)
    if match is None:
        return None
    fraction = (match["fraction"] or "0").ljust(6, "0")
    zone = match["zone"] or ""
    if zone and zone != "Z" and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        moment = datetime.fromisoformat(
            f"{match['date']}T{match['time']}.{fraction}{zone.replace('Z', '+00:00')}"
        )
    except ValueError:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def _line_records(reader: _CountingReader, report: FileReport, node: str) -> Iterator[Record]:
    occurrences = _Occurrences()
    while True:
        raw = reader.readline()
        if not raw:
            return
        report.lines += 1
        if MARKER_BYTES not in raw:
            continue
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        parsed = parse_message(line)
        logged_at = parse_log_time(line)
        if parsed is None or logged_at is None:
            report.bad += 1
            continue
        line_node = node
        if line[10:11] == "T":
            host = SHORT_ISO_HOST.match(line)
            if host:
                line_node = host["host"]
        report.records += 1
        identity = f"{line}\x00{occurrences.number(line)}"
        yield Record(logged_at, *parsed, storable_name(line_node), identity)


def _export_records(reader: _CountingReader, report: FileReport, node: str) -> Iterator[Record]:
    occurrences = _Occurrences()
    entry: dict[bytes, bytes] = {}
    while True:
        raw = reader.readline()
        if not raw or raw == b"\n":
            if entry:
                report.lines += 1
                record = _export_record(entry, report, node, occurrences)
                if record is not None:
                    yield record
                entry = {}
            if not raw:
                return
            continue
        line = raw.rstrip(b"\n")
        name, equals, value = line.partition(b"=")
        if not equals:
            # A binary field: its name, a little-endian 64-bit size, the data, a newline.
            size = int.from_bytes(reader.read(8), "little")
            if name in EXPORT_WANTED and size <= MAX_LINE_BYTES:
                value = reader.read(size)
            else:
                reader.skip(size)
                value = b""
            reader.read(1)
        if name in EXPORT_WANTED:
            entry[name] = value


def _export_record(entry, report: FileReport, node: str, occurrences: _Occurrences) -> Record | None:
    message = entry.get(b"MESSAGE", b"").decode("utf-8", "replace")
    if MARKER not in message:
        return None
    parsed = parse_message(message)
    stamp = entry.get(b"__REALTIME_TIMESTAMP", b"")
    if parsed is None or not stamp.isdigit():
        report.bad += 1
        return None
    logged_at = datetime.fromtimestamp(int(stamp) / 1e6, UTC)
    entry_node = entry.get(b"_HOSTNAME", b"").decode("utf-8", "replace") or node
    cursor = entry.get(b"__CURSOR", b"").decode("utf-8", "replace")
    if cursor:
        identity = f"cursor\x00{cursor}"
    else:
        text = f"{stamp.decode()}\x00{message}"
        identity = f"{text}\x00{occurrences.number(text)}"
    report.records += 1
    return Record(logged_at, *parsed, storable_name(entry_node), identity)


@app_tables
def ingest_streams(
    sources, node: str | None = None, progress: Callable[[FileReport], None] | None = None
) -> dict:
    """Ingest ``sources`` ((label, binary stream) pairs) for ``node`` (default this node; the
    journal's host names win over it). Returns the report of every file and the totals."""
    run = IngestRun(
        node=storable_name(node or node_name()), window=get_config()["CAPTURE_WINDOW"], progress=progress
    )
    for label, stream in sources:
        report = run.ingest(label, stream)
        if progress:
            progress(report)
    return run.as_dict()
