"""Lag over long windows from per-minute rollups (LagRollup): cost grows with the minutes of a
window, not with its events.

A minute of one kind, keyed by ``modified``, is final once it has ended plus LAG_ROLLUP_GRACE
(AWX stamps ``modified`` just before its insert). Final minutes are computed once, by SQL
statement per hour of them over the ``modified`` index (count, sum, min, max, the missing,
negative and backfilled counts, and a histogram of sketch.py's buckets per minute), and stored, so
that a minute is never read twice; an hour whose 60 minutes are known gets a row of its own, their
merge. Minutes without events cost no row each: one empty row per run of them until their hour is
whole, then none (Cover). Minutes older than RETENTION are not stored: the maintenance
thread would purge them. A query reads the rows of its window once, computes the minutes missing
from them (within STATEMENT_TIMEOUT) and answers from what it read and computed, never reading
back what it stored, so a purge at any moment cannot change its answer (Cover). fill_rollups()
lets the maintenance thread (maintenance/) keep the rollups filled. Writers insert with ON
CONFLICT DO NOTHING: two fillers of one minute store it once. The window's edges (part minutes
and minutes not final yet) are computed from the events on each read and never stored.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from ..awx.tables import KINDS
from ..conf import get_config
from ..db import app_tables, app_tables_read, delete_oldest, diagnostic_cursor
from ..errors import Unavailable
from ..models import LagRollup
from . import reuse, sketch
from .sources import window_sources
from .sqlite import LAG_SECONDS
from .statistics import LagGroups, LagStatistics

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
HOUR_SECONDS = int(HOUR.total_seconds())
# What the histogram's bucket column holds for events kept out of the statistics.
MISSING, BACKFILLED, NEGATIVE = -1_000_000, -1_000_001, -1_000_002
# What one fill statement aims at, in seconds, and its most hours (a fill statement over a busy
# hour takes about 1 s per million events; the statement timeout is far above either).
STATEMENT_SECONDS = 1.0
MAX_HOURS_PER_STATEMENT = 24
# How far back fill_rollups() looks by default: the maintenance thread, calling it every slot
# (minutes at most), catches up.
LOOKBACK = timedelta(hours=1)
# Windows this short read their minute rows along with their hour rows (at most 180 minute
# rows a kind, in one statement); longer ones read the minutes the hour rows leave out.
ONE_READ = timedelta(hours=3)
# Old rollups purge_rollups() deletes per call at most: a purge never holds locks on many rows.
PURGE_BATCH = 5000

_CLASSES = (
    "CASE WHEN created IS NULL THEN {missing} WHEN created = modified THEN {backfilled} "
    "WHEN modified < created THEN {negative} ELSE {bucket} END"
)
# Per minute: the lags' buckets grouped in SQL, then each minute's figures and its histogram
# as JSON in one row, stored as it comes (no Python work per bucket). Buckets above MISSING are
# lags; the classes kept out of the statistics are the sentinels.
_MINUTES = """
SELECT kind, minute,
       CAST(coalesce(sum(n) FILTER (WHERE bucket > {missing}), 0) AS BIGINT),
       coalesce(sum(total) FILTER (WHERE bucket > {missing}), 0),
       min(low) FILTER (WHERE bucket > {missing}),
       max(high) FILTER (WHERE bucket > {missing}),
       CAST(coalesce(sum(n) FILTER (WHERE bucket = {missing}), 0) AS BIGINT),
       CAST(coalesce(sum(n) FILTER (WHERE bucket = {negative}), 0) AS BIGINT),
       CAST(coalesce(sum(n) FILTER (WHERE bucket = {backfilled}), 0) AS BIGINT),
       {histogram}
FROM (SELECT kind, minute, bucket, count(*) AS n, sum(lag) AS total, min(lag) AS low, max(lag) AS high
      FROM ({rows}) AS lags
      GROUP BY kind, minute, bucket) AS buckets
GROUP BY kind, minute
"""
# One SELECT per table holding a kind's events (sources.py), as one UNION ALL; ``kind`` is the
# kind's number in KINDS (a literal: no parameter).
_ROWS = (
    "SELECT {kind} AS kind, {minute} AS minute, {classes} AS bucket, {lag} AS lag FROM {table} WHERE {where}"
)
_KINDS_BY_NUMBER = tuple(KINDS)
_KIND_NUMBER = {kind: number for number, kind in enumerate(_KINDS_BY_NUMBER)}
_VENDOR = {
    "postgresql": {
        "minute": "date_trunc('minute', modified AT TIME ZONE 'UTC')",
        "lag": "date_part('epoch', modified - created)",
        "bucket": "floor(ln(greatest(date_part('epoch', modified - created), %s)) / %s)::int",
        "histogram": "coalesce(json_agg(json_build_array(bucket, n)) FILTER (WHERE bucket > {missing}), "
        "'[]')::text",
    },
    "sqlite": {
        "minute": "strftime('%%Y-%%m-%%d %%H:%%M:00', modified)",
        "lag": LAG_SECONDS,
        "bucket": f"CAST(floor(ln(max({LAG_SECONDS}, %s)) / %s) AS INTEGER)",
        "histogram": "coalesce(json_group_array(json_array(bucket, n)) FILTER (WHERE bucket > {missing}), "
        "'[]')",
    },
}


@dataclass
class Piece:
    """The lag of one kind over one stretch of time (a minute, an hour, a window's edge)."""

    start: datetime
    count: int = 0
    total: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    missing_created: int = 0
    negative: int = 0
    backfilled: int = 0
    # The histogram as SQL wrote it, JSON [[bucket, count], ...], parsed on first use: most
    # minutes a by-minute query reads are only counted, not merged.
    stored_histogram: str = "[]"
    _parsed: dict[int, int] | None = field(default=None, init=False, repr=False)

    @property
    def histogram(self) -> dict[int, int]:
        if self._parsed is None:
            self._parsed = dict(json.loads(self.stored_histogram))
        return self._parsed

    def add(self, other: Piece, keep: bool = False) -> None:
        """Add ``other`` to this piece. Unless ``keep`` (``other`` is read again, as a group of its
        own), its histogram is merged from its stored pairs without keeping a parsed copy: a
        health reading merges a few hundred pieces, each read once."""
        self.count += other.count
        self.total += other.total
        self.minimum = _least(self.minimum, other.minimum)
        self.maximum = _greatest(self.maximum, other.maximum)
        self.missing_created += other.missing_created
        self.negative += other.negative
        self.backfilled += other.backfilled
        if keep or other._parsed is not None:
            sketch.merge(self.histogram, other.histogram.items())
        else:
            sketch.merge(self.histogram, json.loads(other.stored_histogram))

    def events(self) -> int:
        return self.count + self.missing_created + self.negative + self.backfilled

    def statistics(self, fractions: list[float]) -> LagStatistics:
        return LagStatistics(
            count=self.count,
            mean=self.total / self.count if self.count else None,
            minimum=self.minimum,
            maximum=self.maximum,
            percentiles=(
                sketch.percentiles(self.histogram, fractions, self.minimum, self.maximum)
                if self.count
                else None
            ),
            missing_created=self.missing_created,
            backfilled=self.backfilled,
            negative=self.negative,
            lowest=None if self.negative else self.minimum,
        )

    def as_row(self, kind: str, span: timedelta) -> LagRollup:
        fields = {name: getattr(self, name) for name in _STORED}
        histogram = self.stored_histogram
        if self._parsed is not None:
            histogram = json.dumps(sorted(self._parsed.items()), separators=(",", ":"))
        return LagRollup(kind=kind, span=int(span.total_seconds()), histogram=histogram, **fields)


_STORED = ("start", "count", "total", "minimum", "maximum", "missing_created", "negative", "backfilled")


def _least(a, b):
    return b if a is None else a if b is None else min(a, b)


def _greatest(a, b):
    return b if a is None else a if b is None else max(a, b)


def compute_minutes(kind: str, since: datetime, until: datetime) -> dict[datetime, Piece]:
    """Each minute holding events with ``since <= modified < until``, from the events."""
    return compute_stretches(kind, [(since, until)])


def compute_stretches(
    kind: str, stretches: list[tuple[datetime, datetime]], tables=None
) -> dict[datetime, Piece]:
    """Each minute holding events in any of ``stretches`` (no two in one minute), from the events,
    in one statement; ``tables``: the kind's event tables, when the caller knows them."""
    return compute_kinds({kind: tables}, stretches)[kind]


def compute_kinds(
    tables: dict[str, list[str] | None], stretches: list[tuple[datetime, datetime]]
) -> dict[str, dict[datetime, Piece]]:
    """compute_stretches for each kind of ``tables`` (its event tables, None: looked up), every
    kind in one statement: a health reading's open minutes cost one round trip, not one a kind."""
    stretches = [(since, until) for since, until in stretches if since < until]
    computed: dict[str, dict[datetime, Piece]] = {kind: {} for kind in tables}
    if not stretches or not tables:
        return computed
    known = reuse.computed_minutes(tables, stretches, lambda moment: floor_to(moment, MINUTE))
    if known is not None:
        return known
    sql = _VENDOR[connection.vendor]
    sentinels = {"missing": MISSING, "backfilled": BACKFILLED, "negative": NEGATIVE}
    adapt = connection.ops.adapt_datetimefield_value
    with diagnostic_cursor("Ask for a shorter window, or --exact.", event_tables=True) as cursor:
        unknown = [KINDS[kind] for kind, known in tables.items() if not known]
        found = window_sources(cursor, unknown, stretches[0][0])
        where = " OR ".join(["(modified >= %s AND modified < %s)"] * len(stretches))
        selects = [
            _ROWS.format(
                kind=_KIND_NUMBER[kind],
                minute=sql["minute"],
                classes=_CLASSES.format(bucket=sql["bucket"], **sentinels),
                lag=sql["lag"],
                table=table,
                where=where,
            )
            for kind, known in tables.items()
            for table in (known or [source.table for source in found[kind]])
        ]
        statement = _MINUTES.format(
            rows=" UNION ALL ".join(selects), histogram=sql["histogram"].format(**sentinels), **sentinels
        )
        per_table = [
            sketch.SMALLEST,
            sketch.LN_GAMMA,
            *(adapt(moment) for stretch in stretches for moment in stretch),
        ]
        cursor.execute(statement, per_table * len(selects))
        rows = cursor.fetchall()
    for number, minute, *values, histogram in rows:
        if isinstance(minute, str):
            minute = datetime.fromisoformat(minute)
        minute = minute.replace(tzinfo=UTC)
        computed[_KINDS_BY_NUMBER[number]][minute] = Piece(minute, *values, stored_histogram=histogram)
    reuse.keep_computed_minutes(computed, stretches, lambda moment: floor_to(moment, MINUTE))
    return computed


def floor_to(moment: datetime, step: timedelta) -> datetime:
    seconds = int(step.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, UTC)


def ceil_to(moment: datetime, step: timedelta) -> datetime:
    floor = floor_to(moment, step)
    return floor if floor == moment else floor + step


def final_end(now: datetime | None = None) -> datetime:
    """Every minute that ends by this moment is final."""
    return floor_to((now or timezone.now()) - get_config()["LAG_ROLLUP_GRACE"], MINUTE)


def kept_from() -> datetime:
    """The oldest start a rollup is stored with: the maintenance thread purges older ones."""
    return timezone.now() - get_config()["RETENTION"]


def _steps(since: datetime, until: datetime, step: timedelta):
    while since < until:
        yield since
        since += step


# Rows wanted of a kind: (True: hour rows, False: the finer ones, None: both; since, until).
Wanted = list[tuple[bool | None, datetime, datetime]]
Rows = list[tuple[timedelta, Piece]]


@app_tables_read
def _read(wanted: dict[str, Wanted]) -> dict[str, Rows]:
    """The stored rows (span, piece) of each kind's (hours, since, until) wanted, starting in
    [since, until), in one statement."""
    found: dict[str, Rows] = {kind: [] for kind in wanted}
    starts = Q()
    for kind, stretches in wanted.items():
        for hours, since, until in stretches:
            if since < until:
                span = Q() if hours is None else Q(span=HOUR_SECONDS) if hours else Q(span__lt=HOUR_SECONDS)
                starts |= Q(span, kind=kind, start__gte=since, start__lt=until)
    if not starts:
        return found
    rows = LagRollup.objects.filter(starts).values_list("kind", "span", *_STORED, "histogram")
    for kind, span, *row in rows:
        found[kind].append((timedelta(seconds=span), Piece(*row[:-1], stored_histogram=row[-1])))
    return found


@dataclass
class Cover:
    """Every final minute of [first, last) (minute-aligned) as one query has it: the rows it
    read, each read once, and the minutes missing from them, computed from the events. Nothing
    stored is read back: a purge deleting rows at any moment changes what is read or computed,
    never the answer.

    Minutes without events cost no row of their own: a fill stores one empty row per run of them
    within an hour (its span the run's length), and once an hour is whole its hour row stands for
    them (its minutes without a row held no events) and the empty rows go."""

    kind: str
    first: datetime
    last: datetime
    # Hour rows of the whole hours of [first, last): read, or merged from the minutes here.
    hours: dict[datetime, Piece]
    # Minutes with events read or computed: those outside ``hours`` or (``every_minute``) outside
    # the hours without events.
    minutes: dict[datetime, Piece]
    # The minutes of the same stretches known to hold no events.
    empty: set[datetime]
    # The minutes wanted that are in neither yet.
    missing: list[datetime]

    @classmethod
    def read(cls, kind: str, first: datetime, last: datetime, every_minute: bool = False) -> Cover:
        return cls.read_kinds([kind], first, last, every_minute)[kind]

    @classmethod
    def read_kinds(
        cls, kinds: list[str], first: datetime, last: datetime, every_minute: bool = False
    ) -> dict[str, Cover]:
        """The stored rows of [first, last) of each kind: hour rows, then the minutes those leave
        out (for a query by minute, the minutes of the hours with events too); every kind in the
        same statements. Rows are read by whole hours, so that an hour row's minutes are all read
        beside it."""
        reach = (floor_to(first, HOUR), ceil_to(last, HOUR))
        # A short window (the health figures') reads its minute rows with its hour rows, at once.
        short = last - first <= ONE_READ
        read = _read({kind: [(None if short else True, *reach)] for kind in kinds})
        hour_rows = {
            kind: {piece.start: piece for span, piece in read[kind] if span == HOUR} for kind in kinds
        }
        whole = {
            kind: {h: p for h, p in hours.items() if first <= h and h + HOUR <= last}
            for kind, hours in hour_rows.items()
        }
        stretches = {
            kind: _outside(first, last, [h for h, p in hours.items() if not (every_minute and p.events())])
            for kind, hours in whole.items()
        }
        if short:
            finer = {kind: [row for row in read[kind] if row[0] < HOUR] for kind in kinds}
        else:
            finer = _read(
                {
                    kind: [(False, floor_to(a, HOUR), ceil_to(b, HOUR)) for a, b in stretches[kind]]
                    for kind in kinds
                }
            )
        return {
            kind: cls(kind, first, last, whole[kind], *_placed(finer[kind], hour_rows[kind], stretches[kind]))
            for kind in kinds
        }

    def fill(self, deadline: float) -> int:
        """Compute the missing minutes, an hour of them per statement, until ``deadline``
        (monotonic); store those not older than kept_from() (the minutes with events, a row per
        run of empty ones in an hour not whole yet), then the hours now whole (their empty rows
        deleted). Returns the minutes left missing."""
        by_hour: dict[datetime, list[datetime]] = {}
        for minute in self.missing:
            by_hour.setdefault(floor_to(minute, HOUR), []).append(minute)
        pending, hours_per_statement, kept = list(by_hour), 1, kept_from()
        while pending and time.monotonic() <= deadline:
            batch, pending = pending[:hours_per_statement], pending[hours_per_statement:]
            chunk = [minute for hour in batch for minute in by_hour[hour]]
            started = time.monotonic()
            computed = compute_minutes(self.kind, chunk[0], chunk[-1] + MINUTE)
            hours_per_statement = _next_batch(hours_per_statement, time.monotonic() - started)
            rows: Rows = []
            for hour in batch:
                found = [computed[minute] for minute in by_hour[hour] if minute in computed]
                empty = [minute for minute in by_hour[hour] if minute not in computed]
                self.minutes.update((piece.start, piece) for piece in found)
                self.empty.update(empty)
                rows += [(MINUTE, piece) for piece in found]
                if hour < kept or not self._mergeable(hour):  # no hour row will stand for them
                    rows += [(span, Piece(start)) for start, span in _runs(empty)]
            _store(self.kind, [(span, piece) for span, piece in rows if piece.start >= kept])
        self.missing = [minute for hour in pending for minute in by_hour[hour]]
        merged = []
        for hour in _steps(ceil_to(self.first, HOUR), floor_to(self.last, HOUR), HOUR):
            if hour not in self.hours and self._mergeable(hour):
                self.hours[hour] = Piece(hour)
                for minute in _steps(hour, hour + HOUR, MINUTE):
                    if minute in self.minutes:
                        self.hours[hour].add(self.minutes[minute])
                merged.append(self.hours[hour])
        _store(self.kind, [(HOUR, piece) for piece in merged if piece.start >= kept])
        return len(self.missing)

    def _mergeable(self, hour: datetime) -> bool:
        """Whether ``hour`` is whole in [first, last) and every minute of it is known."""
        if not (self.first <= hour and hour + HOUR <= self.last):
            return False
        return all(m in self.minutes or m in self.empty for m in _steps(hour, hour + HOUR, MINUTE))

    def coarse(self) -> list[Piece]:
        """Pieces covering [first, last) once each: the hours, and the minutes outside them."""
        return [
            *self.hours.values(),
            *(piece for start, piece in self.minutes.items() if floor_to(start, HOUR) not in self.hours),
        ]


def _placed(rows: Rows, hours: dict[datetime, Piece], stretches: list[tuple]) -> tuple:
    """(minutes with events, minutes empty, minutes missing) of ``stretches``, from the finer
    ``rows`` and the ``hours`` rows read beside them."""
    wanted = [m for since, until in stretches for m in _steps(since, until, MINUTE)]
    minutes, empty, per_hour = {}, set(), {}
    for span, piece in {(span, piece.start): (span, piece) for span, piece in rows}.values():
        if piece.events():
            minutes[piece.start] = piece
            hour = floor_to(piece.start, HOUR)
            per_hour[hour] = per_hour.get(hour, 0) + piece.events()
        else:
            empty.update(_steps(piece.start, piece.start + span, MINUTE))
    # An hour row's minutes without a row held no events, when every row of its with events was
    # read too (a purge between two reads may have taken them: then they are missing).
    # The hours the stretches touch, hour by hour: a year-long window has half a million minutes.
    touched = {
        h for since, until in stretches if since < until for h in _steps(floor_to(since, HOUR), until, HOUR)
    }
    for hour in touched & hours.keys():
        if per_hour.get(hour, 0) == hours[hour].events():
            empty.update(_steps(hour, hour + HOUR, MINUTE))
    found = {m: minutes[m] for m in wanted if m in minutes}
    known_empty = {m for m in wanted if m in empty and m not in found}
    return found, known_empty, [m for m in wanted if m not in found and m not in known_empty]


def _runs(minutes: list[datetime]) -> list[tuple[datetime, timedelta]]:
    """The runs of consecutive ``minutes`` (sorted, within one hour): (start, span) each."""
    runs: list[tuple[datetime, timedelta]] = []
    for minute in minutes:
        if runs and runs[-1][0] + runs[-1][1] == minute:
            runs[-1] = (runs[-1][0], runs[-1][1] + MINUTE)
        else:
            runs.append((minute, MINUTE))
    return runs


def _outside(first: datetime, last: datetime, hours: list[datetime]) -> list[tuple]:
    """The stretches of [first, last) outside ``hours``, each as long as it can be."""
    stretches, since = [], first
    for hour in sorted(hours):
        if since < hour:
            stretches.append((since, hour))
        since = hour + HOUR
    if since < last:
        stretches.append((since, last))
    return stretches


def _store(kind: str, rows: Rows) -> None:
    if rows:  # a reading whose minutes were all stored writes nothing, not even a transaction
        _insert(kind, rows)


@app_tables
def _insert(kind: str, rows: Rows) -> None:
    # ON CONFLICT DO NOTHING: another filler storing the same rows at once stores them once.
    LagRollup.objects.bulk_create([piece.as_row(kind, span) for span, piece in rows], ignore_conflicts=True)
    # An hour row stands for its minutes without events: their empty rows go with its insert.
    hours = [piece.start for span, piece in rows if span == HOUR]
    if hours:
        within = Q()
        for hour in hours:
            within |= Q(start__gte=hour, start__lt=hour + HOUR)
        empty = {"count": 0, "missing_created": 0, "negative": 0, "backfilled": 0}
        LagRollup.objects.filter(within, kind=kind, span__lt=HOUR_SECONDS, **empty).delete()


def _next_batch(hours: int, seconds: float) -> int:
    """Hours for the next statement: PostgreSQL plans every partition of the event table for each
    statement (about 0.2 ms each: 130 ms with 720 hourly partitions), so light hours are computed
    many at a time, and heavy ones one at a time, keeping a statement near STATEMENT_SECONDS."""
    if seconds < STATEMENT_SECONDS / 2:
        return min(hours * 2, MAX_HOURS_PER_STATEMENT)
    if seconds > STATEMENT_SECONDS * 2:
        return max(hours // 2, 1)
    return hours


@app_tables_read
def last_stored_minute() -> datetime | None:
    """The latest minute the rollups counted events of any kind in (None: none), those without a
    measurable lag too: when events were last stored, read from the app's table by its (kind, span,
    start) index, never AWX's."""
    stored = Q(count__gt=0) | Q(negative__gt=0) | Q(backfilled__gt=0) | Q(missing_created__gt=0)
    minutes = LagRollup.objects.filter(stored, span=int(MINUTE.total_seconds()))
    latest = [
        minutes.filter(kind=kind).order_by("-start").values_list("start", flat=True).first() for kind in KINDS
    ]
    return max((start for start in latest if start is not None), default=None)


def purge_rollups(older_than: timedelta, batch_size: int = PURGE_BATCH) -> int:
    """Delete up to ``batch_size`` rollups (minutes and hours of every kind) that start more than
    ``older_than`` ago, oldest first: rollups outlive the events AWX's cleanup_jobs deletes, until
    the app's RETENTION."""
    rows = LagRollup.objects.filter(start__lt=timezone.now() - older_than)
    return delete_oldest(rows, "start", batch_size)


def fill_rollups(kinds=None, since: datetime | None = None, until: datetime | None = None) -> dict:
    """Store the final minutes of ``kinds`` (default all) in [since, until) (default the last
    LOOKBACK) not stored yet, within STATEMENT_TIMEOUT: for the maintenance thread.
    Returns {kind: minutes left unstored}."""
    end = final_end()
    until = min(floor_to(until, MINUTE), end) if until else end
    # From the start of an hour, so that the hour before is whole in it once final, and merged.
    since = ceil_to(since, MINUTE) if since else floor_to(until - LOOKBACK, HOUR)
    deadline = time.monotonic() + get_config()["STATEMENT_TIMEOUT"]
    covers = Cover.read_kinds(list(kinds or KINDS), since, until)
    return {kind: cover.fill(deadline) for kind, cover in covers.items()}


class RollupsBehind(Exception):
    """More final minutes of a window are missing from the rollups than its reader computes."""

    def __init__(self, minutes: int):
        super().__init__(f"{minutes} final minutes are not in the lag rollups")
        self.minutes = minutes


@dataclass
class WindowPieces:
    """A window of one kind as the rollups answer it: its final minutes (``cover``, every one read
    or computed) and its ``edges``, the part minutes and the minutes not final yet, computed from
    the events on each read and never stored. ``behind`` is how many final minutes the rollups
    lacked (a fresh install, a stopped maintenance thread): computed from the events for this read."""

    edges: list[Piece]
    cover: Cover
    behind: int

    def pieces(self) -> list[Piece]:
        """Pieces covering the window once each."""
        return [*self.edges, *self.cover.coarse()]


def window_pieces(
    kind: str,
    since: datetime,
    until: datetime,
    every_minute: bool = False,
    tables=None,
    fill_at_most: int | None = None,
) -> WindowPieces:
    """The pieces of [since, until): the final minutes from the rollups, those missing computed
    from the events within STATEMENT_TIMEOUT (Unavailable, saying how far behind, past it), the
    edges from the events (in one statement, over ``tables`` when the caller knows them).
    ``every_minute``: the minutes of hours with events too (by minute). ``fill_at_most``: with
    more minutes missing, RollupsBehind, and nothing computed."""
    window = kinds_window_pieces({kind: tables}, since, until, every_minute, fill_at_most)[kind]
    if isinstance(window, Exception):
        raise window
    return window


def final_span(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """[first, last): the whole minutes of [since, until) that are final, read from the rollups;
    the rest of the window (its edges) is computed from the events."""
    first, last = ceil_to(since, MINUTE), min(floor_to(until, MINUTE), final_end())
    return (first, last) if first < last else (until, until)


def kinds_window_pieces(
    tables: dict[str, list[str] | None],
    since: datetime,
    until: datetime,
    every_minute: bool = False,
    fill_at_most: int | None = None,
) -> dict[str, WindowPieces | RollupsBehind | Unavailable]:
    """window_pieces of each kind of ``tables`` (its event tables, None: looked up), every kind's
    rows read in one statement and its edges computed in one more: what a kind could not be
    answered with (RollupsBehind, Unavailable) in place of its pieces."""
    first, last = final_span(since, until)
    windows = _final_minutes(list(tables), first, last, every_minute, fill_at_most)
    answered = {kind: tables[kind] for kind, window in windows.items() if isinstance(window, WindowPieces)}
    for kind, edges in compute_kinds(answered, [(since, first), (last, until)]).items():
        windows[kind].edges = list(edges.values())
    return windows


def _final_minutes(
    kinds: list[str], first: datetime, last: datetime, every_minute: bool, fill_at_most: int | None
) -> dict[str, WindowPieces | RollupsBehind | Unavailable]:
    """The final minutes [first, last) of each of ``kinds`` (WindowPieces without edges yet), or
    why a kind's could not be read."""
    windows: dict[str, WindowPieces | RollupsBehind | Unavailable] = {}
    if not kinds:
        return windows
    for kind, cover in Cover.read_kinds(kinds, first, last, every_minute).items():
        behind = len(cover.missing)
        if fill_at_most is not None and behind > fill_at_most:
            windows[kind] = RollupsBehind(behind)
        # Each kind within STATEMENT_TIMEOUT of its own, as its one statement would be: one
        # deadline for all made the last kinds unknown on a slow link to the database.
        elif left := cover.fill(time.monotonic() + get_config()["STATEMENT_TIMEOUT"]):
            windows[kind] = Unavailable(
                f"the lag rollups of this window are being filled: they were {behind} minutes behind, "
                f"{left} minutes are left after STATEMENT_TIMEOUT.",
                hint=_fill_hint(first),
            )
        else:
            windows[kind] = WindowPieces([], cover, behind)
    return windows


def kinds_statistics(
    tables: dict[str, list[str] | None],
    since: datetime,
    until: datetime,
    fractions: list[float],
    fill_at_most: int | None = None,
) -> dict[str, tuple[LagStatistics, int] | RollupsBehind | Unavailable]:
    """(statistics, minutes behind) of each kind over [since, until) from the rollups, every kind
    at once (kinds_window_pieces); what a kind could not be answered with in place of its own.
    The sum of a kind's final minutes is kept for the next reading of the same minutes (reuse.py):
    it then reads only the edges."""
    first, last = final_span(since, until)
    sums = {kind: reuse.final_sum(kind, first, last) for kind in tables}
    windows = _final_minutes(
        [kind for kind, kept in sums.items() if kept is None], first, last, False, fill_at_most
    )
    for kind, window in windows.items():
        if isinstance(window, WindowPieces):
            sums[kind] = _merged(first, window.cover.coarse())
            reuse.keep_final_sum(kind, first, last, sums[kind])
    answered = {kind: tables[kind] for kind, kept in sums.items() if kept is not None}
    edges = compute_kinds(answered, [(since, first), (last, until)])
    answers: dict[str, tuple[LagStatistics, int] | RollupsBehind | Unavailable] = {}
    for kind, kept in sums.items():
        window = windows.get(kind)
        if kept is None:
            answers[kind] = window
            continue
        whole = _merged(since, [kept, *edges[kind].values()])
        answers[kind] = (whole.statistics(fractions), window.behind if window else 0)
    return answers


def _merged(start: datetime, pieces: list[Piece], keep: bool = False) -> Piece:
    whole = Piece(start)
    for piece in pieces:
        whole.add(piece, keep)
    return whole


def rollup_statistics(
    kind: str, query, fractions: list[float], limit: int, tables=None, fill_at_most: int | None = None
) -> tuple[LagStatistics, LagGroups, int]:
    """(total, [(group key, statistics)], minutes behind) of a windowed query (by none, minute or
    hour) from the rollups (window_pieces). Groups are by key, the first ``limit`` of those
    holding events."""
    every_minute = query.by == "minute"
    window = window_pieces(kind, query.since, query.until, every_minute, tables, fill_at_most)
    pieces = window.pieces()
    whole = _merged(query.since, pieces, keep=query.by != "none")  # a group reads its piece again
    groups: dict[datetime, Piece] = {}
    if query.by == "hour":
        for piece in pieces:  # an hour row is its own group: no copy of its histogram
            hour = floor_to(piece.start, HOUR)
            if hour in groups:
                groups[hour].add(piece)
            else:
                groups[hour] = piece
    elif query.by == "minute":  # the edges' minutes are not in the cover's
        groups = {piece.start: piece for piece in [*window.edges, *window.cover.minutes.values()]}
    # As the exact statement, no group where no event was stored.
    keys = [key for key in sorted(groups) if groups[key].events()][:limit]
    statistics = [(key, groups[key].statistics(fractions)) for key in keys]
    return whole.statistics(fractions), statistics, window.behind


def _fill_hint(first: datetime) -> str:
    if first < kept_from():
        return (
            "Minutes older than RETENTION are computed on every query, never kept: ask for a shorter "
            "window, or raise RETENTION to keep them."
        )
    return (
        "Ask again to go on filling (what is filled stays), or ask for a window of at most "
        "LAG_EXACT_WINDOW, or --exact."
    )
