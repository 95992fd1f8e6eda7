"""Reading log files for ``eventdebug ingest``: the overflow records they hold, fast and bounded.

Formats, recognised per file from its first bytes: AWX's tower.log lines
(``2021-04-28 20:53:51,230 INFO     channels_redis.core 1 of 4 channels over capacity in group
broadcast-group_send``), ``journalctl -o short-iso`` / ``short-iso-precise`` lines (the host
field names the node), and ``journalctl -o export`` entries (MESSAGE, __REALTIME_TIMESTAMP,
_HOSTNAME, __CURSOR); any of them gzip-compressed.

Speed: log lines are read in blocks of BLOCK_BYTES and searched as raw bytes for the record's
fixed text (one C-level search per candidate); only the lines holding it are decoded and parsed,
so a file costs about a read and a memchr per byte, and memory stays bounded by the block.

A line that cannot be read is rejected: counted, and named to the ``reject`` callback with its
line number and why. Read errors (a truncated or corrupt gzip) propagate as UNREADABLE.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from .record import MARKER, parse_message, storable_name

MARKER_BYTES = MARKER.encode()
# Read size of the line scan: large enough that per-block Python costs vanish, small enough to
# keep memory flat (a block and a partial line at most).
BLOCK_BYTES = 4 << 20
# A longer line is no log record of channels_redis; it is skipped without being held in memory.
MAX_LINE_BYTES = 1 << 20
# Identical lines carry the same millisecond, so they are never far apart: this many recent
# distinct lines are remembered (as 16-byte digests: about 1 MB).
OCCURRENCE_MEMORY = 8192
PROGRESS_SECONDS = 2.0
GZIP_MAGIC = b"\x1f\x8b"
# What ends a file early without ending the run: gzip's truncation (EOFError), a corrupt stream
# (BadGzipFile is an OSError, zlib.error is not), a read error.
UNREADABLE = (EOFError, OSError, zlib.error)

LINE_TIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<time>\d{2}:\d{2}:\d{2})(?:[,.](?P<fraction>\d{1,6}))?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)
# journalctl -o short-iso: "<time> <host> <identifier>[<pid>]: <message>".
SHORT_ISO_HOST = re.compile(r"^\S+ (?P<host>\S+) [^\s:]+: ")
EXPORT_FIELD = re.compile(rb"^[A-Z0-9_]+=")
EXPORT_WANTED = {b"MESSAGE", b"__REALTIME_TIMESTAMP", b"_HOSTNAME", b"__CURSOR"}

# Why a line is rejected (``-v 2`` prints them with the file and line).
NO_TIME = "no time at the start of the line, or an impossible one"
TIME_OUT_OF_RANGE = "time out of range once its zone is applied"
NOT_A_RECORD = "holds the overflow text but no count channels_redis writes"
TOO_LONG = f"longer than {MAX_LINE_BYTES} bytes"
NO_TIMESTAMP = "no usable __REALTIME_TIMESTAMP"


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
    new_records: int = 0
    duplicates: int = 0
    too_old_records: int = 0  # at or before the purge horizon: skipped (ingest.py)
    unverified_records: int = 0  # of a compressed file that did not decompress whole: not counted (ingest.py)
    bad_lines: int = 0
    bytes: int = 0
    error: str | None = None  # why the file could not be read to its end
    size: int | None = None  # on disk, when known (progress)
    position: int = 0  # bytes of the file on disk read so far (progress)

    def as_dict(self) -> dict:
        return {name: value for name, value in vars(self).items() if name not in ("size", "position")}


Rejected = Callable[[FileReport, int, str], None]


def describe_error(exc: BaseException, report: FileReport) -> str:
    """One line naming what ended the file, and how far it was read."""
    if isinstance(exc, EOFError) and report.compressed:
        what = "truncated gzip"
    elif isinstance(exc, (gzip.BadGzipFile, zlib.error)):
        what = "corrupt gzip"
    else:
        what = "read error"
    return f"{what} after {report.bytes} bytes ({report.lines} lines): {exc}"


def file_size(stream) -> int | None:
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    return status.st_size if status.st_size and not os.isatty(stream.fileno()) else None


class _CountingRaw(io.RawIOBase):
    """The (decompressed) bytes of a file as a raw stream, counting them and the position on
    disk, and reporting progress every PROGRESS_SECONDS.

    A fault while reading ends the stream (kept in ``failure``) instead of raising: a buffered
    read that spans it would otherwise drop the good bytes read before it."""

    def __init__(self, stream, disk, report: FileReport, progress):
        self.stream = stream
        self.disk = disk
        self.report = report
        self.progress = progress
        self.last_progress = time.monotonic()
        self.failure: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.failure is not None:
            return 0
        try:
            # read1: one read of the source (gzip's read() would drop its data on a fault).
            data = self.stream.read1(len(buffer))
        except UNREADABLE as exc:
            self.failure = exc
            return 0
        size = len(data)
        buffer[:size] = data
        self.report.bytes += size
        if self.progress and time.monotonic() - self.last_progress >= PROGRESS_SECONDS:
            if self.report.size is not None:
                self.report.position = self.disk.tell()
            self.progress(self.report)
            self.last_progress = time.monotonic()
        return size


def is_compressed(stream) -> bool:
    """Whether ``stream`` (not read yet) is gzip data, by its first bytes."""
    return hasattr(stream, "peek") and stream.peek(2)[:2] == GZIP_MAGIC


def _open(stream, report: FileReport, progress) -> io.BufferedReader:
    disk = stream
    if is_compressed(stream):
        report.compressed = True
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    return io.BufferedReader(_CountingRaw(stream, disk, report, progress), MAX_LINE_BYTES + 1)


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
    """The time a log line starts with, in UTC; naive times are in settings.TIME_ZONE, as Django
    sets the process's local time (and so logging's asctime) to it. ValueError when the time is
    valid but its zone moves it out of the range of datetime (year 1 or 9999)."""
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
    try:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(TIME_OUT_OF_RANGE) from None


class _LineScan:
    """Line numbers of byte offsets in one block, counted forward as the scan moves."""

    def __init__(self, first_line: int, block: bytes):
        self.block = block
        self.line = first_line
        self.offset = 0

    def line_at(self, offset: int) -> int:
        self.line += self.block.count(b"\n", self.offset, offset)
        self.offset = offset
        return self.line


def _line_records(reader, report: FileReport, node: str, reject: Rejected) -> Iterator[Record]:
    """Records of a file of log lines: blocks searched for the marker, candidates parsed."""
    occurrences = _Occurrences()
    carry = b""
    while True:
        data = reader.read(BLOCK_BYTES)
        block = carry + data if carry else data
        if not block:
            return
        end = len(block) if not data else block.rfind(b"\n") + 1
        if end == 0:
            if len(block) > MAX_LINE_BYTES:
                carry = _skip_long_line(reader, block, report, reject)
            else:
                carry = block
            continue
        carry = block[end:]
        scan = _LineScan(report.lines + 1, block)
        hit = block.find(MARKER_BYTES, 0, end)
        while hit >= 0:
            start = block.rfind(b"\n", 0, hit) + 1
            stop = block.find(b"\n", hit, end)
            stop = end if stop < 0 else stop
            number = scan.line_at(start)
            if stop - start > MAX_LINE_BYTES:
                reject(report, number, TOO_LONG)
            else:
                record = _line_record(block[start:stop], report, node, occurrences, number, reject)
                if record is not None:
                    yield record
            hit = block.find(MARKER_BYTES, stop, end)
        lines = block.count(b"\n", 0, end)
        report.lines += lines if data or block.endswith(b"\n") else lines + 1
        if not data:
            return


def _skip_long_line(reader, block: bytes, report: FileReport, reject: Rejected) -> bytes:
    """Skip the rest of a line longer than MAX_LINE_BYTES in bounded pieces, rejecting it when it
    holds the marker; returns what follows its end."""
    number = report.lines + 1
    holds_marker = MARKER_BYTES in block
    tail = block[-len(MARKER_BYTES) :]
    while True:
        data = reader.read(MAX_LINE_BYTES)
        if not data:
            rest = b""
            break
        newline = data.find(b"\n")
        piece = tail + (data if newline < 0 else data[:newline])
        holds_marker = holds_marker or MARKER_BYTES in piece
        if newline >= 0:
            rest = data[newline + 1 :]
            break
        tail = data[-len(MARKER_BYTES) :]
    report.lines += 1
    if holds_marker:
        reject(report, number, TOO_LONG)
    return rest


def _line_record(raw: bytes, report, node, occurrences, number, reject) -> Record | None:
    line = raw.decode("utf-8", "replace").rstrip("\r")
    parsed = parse_message(line)
    try:
        logged_at = parse_log_time(line)
    except ValueError as exc:
        reject(report, number, str(exc))
        return None
    if logged_at is None or parsed is None:
        reject(report, number, NO_TIME if logged_at is None else NOT_A_RECORD)
        return None
    line_node = node
    if line[10:11] == "T":
        host = SHORT_ISO_HOST.match(line)
        if host:
            line_node = host["host"]
    report.records += 1
    identity = f"{line}\x00{occurrences.number(line)}"
    return Record(logged_at, *parsed, storable_name(line_node), identity)


def _export_records(reader, report: FileReport, node: str, reject: Rejected) -> Iterator[Record]:
    occurrences = _Occurrences()
    entry: dict[bytes, bytes] = {}
    while True:
        raw = reader.readline(MAX_LINE_BYTES)
        if not raw or raw == b"\n":
            if entry:
                report.lines += 1
                record = _export_record(entry, report, node, occurrences, reject)
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
                _skip(reader, size)
                value = b""
            reader.read(1)
        if name in EXPORT_WANTED:
            entry[name] = value


def _skip(reader, size: int) -> None:
    while size > 0:
        data = reader.read(min(size, MAX_LINE_BYTES))
        if not data:
            return
        size -= len(data)


def _export_record(entry, report: FileReport, node: str, occurrences, reject: Rejected) -> Record | None:
    message = entry.get(b"MESSAGE", b"").decode("utf-8", "replace")
    if MARKER not in message:
        return None
    parsed = parse_message(message)
    if parsed is None:
        reject(report, report.lines, NOT_A_RECORD)
        return None
    stamp = entry.get(b"__REALTIME_TIMESTAMP", b"")
    try:
        logged_at = datetime.fromtimestamp(int(stamp) / 1e6, UTC)
    except (ValueError, OverflowError, OSError):
        reject(report, report.lines, NO_TIMESTAMP)
        return None
    entry_node = entry.get(b"_HOSTNAME", b"").decode("utf-8", "replace") or node
    cursor = entry.get(b"__CURSOR", b"").decode("utf-8", "replace")
    if cursor:
        identity = f"cursor\x00{cursor}"
    else:
        text = f"{stamp.decode()}\x00{message}"
        identity = f"{text}\x00{occurrences.number(text)}"
    report.records += 1
    return Record(logged_at, *parsed, storable_name(entry_node), identity)


def read_records(stream, report: FileReport, node: str, reject: Rejected, progress) -> Iterator[Record]:
    """The records of one file, whatever its format; ``report`` counts as they are read. A
    fault of the file is raised (one of UNREADABLE) after the records read before it."""
    reader = _open(stream, report, progress)
    head = reader.peek(MAX_LINE_BYTES)[:MAX_LINE_BYTES]
    if EXPORT_FIELD.match(head):
        report.format = "journal-export"
        yield from _export_records(reader, report, node, reject)
    else:
        yield from _line_records(reader, report, node, reject)
    if reader.raw.failure is not None:
        raise reader.raw.failure
