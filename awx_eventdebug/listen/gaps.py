"""Why counters are missing from a job's websocket messages, judged from the events AWX stored.

AWX does not send every event over the websocket, by design:

- ``RunnerCallback.event_handler`` (awx/main/tasks/callback.py) marks an event
  ``skip_websocket_message`` when it has no output (empty ``stdout`` and ``start_line ==
  end_line``), and when the job already sent ``MAX_WEBSOCKET_EVENT_RATE`` (30) messages in the
  last second; ``MINIMAL_EVENTS`` are always sent, and with a rate of 0 nothing is skipped. The
  flag is not stored.
- ``emit_event_detail`` (awx/main/models/events.py) sends only ``MINIMAL_EVENTS`` when
  ``UI_LIVE_UPDATES_ENABLED`` is off.
- The callback receiver emits an event after storing it, its workers out of order.

So each missing counter gets one cause: ``no_output`` and ``live_updates_off`` (certain, from the
stored row), ``rate_limited`` (the job's sendable events in the RATE_WINDOW_SECONDS before it, by
``created``, were more than the rate: likely, since AWX's clock there is not ``created``),
``not_stored`` (no row yet, or a row stored so recently that its message may still be on its way:
the receiver's backlog), or ``lost``: stored, due to be sent, and not received.
Only ``lost`` is a loss.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.db import connection, connections
from django.db.models import Sum
from django.utils import timezone

from ..awx.messages import KIND_BY_GROUP_PREFIX
from ..awx.sending import AwxSending
from ..awx.tables import KINDS, MAX_JOB_ID, EventKind
from ..db import bounded_transaction, diagnostic_cursor
from ..errors import first_line
from ..lag.query import LagQuery, where_clause
from ..lag.sources import event_sources
from ..models import ChannelOverflow
from ..overflow.queries import OverflowFilter
from ..timeutil import isoformat, utc_from_epoch

# awx/main/constants.py; kinds without an event column are 'verbose' (their models' property).
MINIMAL_EVENTS = ("playbook_on_play_start", "playbook_on_task_start", "playbook_on_stats", "EOF")
CAUSES = ("no_output", "live_updates_off", "rate_limited", "not_stored", "lost")
# How long after storing an event AWX may still be sending its message: the receiver stores a
# batch of up to 1000 events, then sends their messages one group_send at a time.
IN_FLIGHT = timedelta(seconds=2)
# Events read before the first missing counter, for its rate over the RATE_WINDOW_SECONDS before
# it: more than any job's events in that window, short of a rate over the limit regardless.
RATE_LOOKBACK = 5000
MAX_RANGES = 10_000  # counter ranges classified in one statement
CHECK_EVERY = 5.0  # seconds between checks while listening
MAX_CHECKED_JOBS = 20  # jobs checked at once (several only on a broadcast group)


# The missing counters one by one, so that they join the stored events on equality (a hash join)
# rather than each event being compared with every range.
_POSTGRES_MISSING = (
    "SELECT generate_series(lo, hi) AS counter FROM unnest(%s::integer[], %s::integer[]) AS r (lo, hi)"
)
_SQLITE_MISSING = (
    "SELECT json_extract(value, '$[0]') AS counter, json_extract(value, '$[1]') AS hi FROM json_each(%s)"
    " UNION ALL SELECT counter + 1, hi FROM missing WHERE counter < hi"
)
# AWX counts its rate over one second of its own clock, taken when its task handles the event:
# behind ``created`` and bunched, as ansible-runner reads events in chunks (and receptor streams
# them), so AWX's second can hold events whose ``created`` spans more: up to 0.3 s more in the
# real-AWX tier on a loaded host (docs/listen.md). Missing events are judged over this window.
RATE_WINDOW_SECONDS = 1.5
_POSTGRES_RATE_FRAME = (
    f"created RANGE BETWEEN interval '{RATE_WINDOW_SECONDS} seconds' PRECEDING AND CURRENT ROW"
)
# SQLite's RANGE needs a number: epoch seconds of Django's "YYYY-MM-DD HH:MM:SS.ffffff" text.
_SQLITE_RATE_FRAME = (
    "(strftime('%%s', substr(created, 1, 19)) + CAST(substr(created, 20) AS REAL))"
    f" RANGE BETWEEN {RATE_WINDOW_SECONDS} PRECEDING AND CURRENT ROW"
)

# AWX's filter only runs once its window holds an event: the job's first one (counter 1) is always
# sent, output or not, and counts towards the rate.
_NO_OUTPUT = "stdout = '' AND start_line = end_line AND counter > 1"

_CLASSIFY = """
WITH RECURSIVE missing AS ({missing}),
stored AS (
    SELECT counter, modified, {minimal} AS minimal,
           {no_output} AS no_output,
           sum(CASE WHEN {minimal} OR NOT ({no_output}) THEN 1 ELSE 0 END)
               OVER (ORDER BY {rate_frame}) AS rate
    FROM {table} WHERE {where} AND counter BETWEEN %s AND %s
)
SELECT count(*) FILTER (WHERE modified < %s),
       count(*) FILTER (WHERE modified < %s AND minimal),
       count(*) FILTER (WHERE modified < %s AND NOT minimal AND no_output),
       count(*) FILTER (WHERE modified < %s AND NOT minimal AND NOT no_output AND rate > %s)
FROM stored JOIN missing ON stored.counter = missing.counter
"""


def classify_missing(
    kind: EventKind, job: int, ranges: list[tuple[int, int]], sent_by: datetime, sending: AwxSending
) -> dict[str, int]:
    """How many of the counters in ``ranges`` (inclusive, sorted, at most MAX_RANGES) went
    missing for each of CAUSES, for messages that had to be sent by ``sent_by`` (the moment the
    receiver stopped listening). One statement over the job's events between the first range
    (less RATE_LOOKBACK) and the last; EventDebugError when the job or its events cannot be read."""
    if len(ranges) > MAX_RANGES:
        raise ValueError(f"at most {MAX_RANGES} ranges")
    counts = dict.fromkeys(CAUSES, 0)
    if not ranges:
        return counts
    stored_before = connection.ops.adapt_datetimefield_value(sent_by - IN_FLIGHT)
    query = LagQuery(kind=kind.name, job=job)
    with diagnostic_cursor(event_tables=True) as cursor:
        [source] = event_sources(cursor, kind, query)
        where, where_params = where_clause(kind, query, source)
        postgres = cursor.db.vendor == "postgresql"
        minimal, minimal_params = "FALSE", []
        if kind.has_event_column:
            minimal = f"event IN ({', '.join(['%s'] * len(MINIMAL_EVENTS))})"
            minimal_params = list(MINIMAL_EVENTS)
        sql = _CLASSIFY.format(
            missing=_POSTGRES_MISSING if postgres else _SQLITE_MISSING,
            minimal=minimal,
            no_output=_NO_OUTPUT,
            rate_frame=_POSTGRES_RATE_FRAME if postgres else _SQLITE_RATE_FRAME,
            table=source.table,
            where=where,
        )
        range_params = (
            [[lo for lo, _ in ranges], [hi for _, hi in ranges]] if postgres else [_json_ranges(ranges)]
        )
        cursor.execute(
            sql,
            [
                *range_params,
                *minimal_params,
                *minimal_params,
                *where_params,
                max(ranges[0][0] - RATE_LOOKBACK, 0),
                ranges[-1][1],
                *[stored_before] * 4,
                sending.max_event_rate,
            ],
        )
        stored, minimal_count, no_output, over_rate = cursor.fetchone()
    counts["not_stored"] = _count(ranges) - stored
    if not sending.live_updates:
        counts["live_updates_off"] = stored - minimal_count
    elif sending.max_event_rate > 0:
        counts["no_output"] = no_output
        counts["rate_limited"] = over_rate
    not_sent = counts["live_updates_off"] + counts["no_output"] + counts["rate_limited"]
    counts["lost"] = stored - not_sent
    return counts


def _json_ranges(ranges) -> str:
    return "[" + ",".join(f"[{int(lo)},{int(hi)}]" for lo, hi in ranges) + "]"


def gaps_report(kind: str, job: int, missing: list[tuple[int, int]]) -> dict:
    """GET listen/gaps/: the causes of a job's ``missing`` counters as of now, for a client of
    AWX's websocket (the dashboard's gauge) that did not receive them."""
    sending = AwxSending.from_settings()
    causes = classify_missing(KINDS[kind], job, missing, timezone.now(), sending)
    return {
        "kind": kind,
        "job": job,
        "missing_counters": _count(missing),
        "cause_counters": causes,
        "lost_counters": causes["lost"],
        "awx": sending.as_dict(),
    }


def job_of_stream(stream: str) -> tuple[EventKind, int] | None:
    """(kind, job id) of a job's websocket group name (``job_events-42``); None for others."""
    prefix, _, job = stream.rpartition("-")
    kind = KIND_BY_GROUP_PREFIX.get(prefix)
    if kind is None or not job.isdigit() or int(job) > MAX_JOB_ID:
        return None
    return KINDS[kind], int(job)


class GapCheck:
    """The causes of the missing counters of every job a listener tracks, checked against the
    database every CHECK_EVERY seconds and once at the end.

    ``start`` and ``finish`` run on the event loop; ``run`` does the database work in a worker
    thread of its own (Django refuses database access from a thread running an event loop, and
    a statement must never stall the drain). Final gaps (past the reorder horizon) are checked
    once and their causes kept; open gaps are checked again each time, as late messages fill
    them and the receiver stores what it had not. Whatever no check judged (too many jobs, not a
    job's group, a failed check) is ``unchecked``.
    """

    def __init__(self):
        self.sending = AwxSending.from_settings()
        self.final: dict[str, int] = dict.fromkeys(CAUSES, 0)
        self.current: dict[str, dict[str, int]] = {}  # per stream, its open gaps' causes
        self.checked_at: float | None = None
        self.errors: dict[str, str] = {}  # per stream: why its gaps could not be checked
        self._worker: ThreadPoolExecutor | None = None
        self._running: asyncio.Future | None = None
        self.started = time.time()
        # Group messages channels_redis dropped for the checked jobs' groups since the start, as
        # the overflow capture recorded them: the loss's cause when some member's queue was full.
        self.overflow_drops: int | None = None

    def start(self, counters: dict) -> None:
        """On the event loop: check the gaps so far in the worker thread, unless the previous
        check is still running (then they wait for the next time)."""
        if self._running is not None:
            if not self._running.done():
                return
            self.merge(self._running.result())
            self._running = None
        jobs = self.snapshot(counters)
        if jobs:
            self._running = self._in_worker(self.run, jobs, time.time())

    async def finish(self, counters: dict, sent_by: float) -> None:
        """On the event loop, at the end: the gaps as they are then, for messages due by
        ``sent_by``; then the worker thread's database connection closed and the thread ended."""
        if self._running is not None:
            self.merge(await self._running)
            self._running = None
        jobs = self.snapshot(counters)
        if jobs:
            self.merge(await self._in_worker(self.run, jobs, sent_by))
        if self._worker is not None:
            await self._in_worker(connections.close_all)
            self._worker.shutdown()
            self._worker = None

    def _in_worker(self, function, *args) -> asyncio.Future:
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="eventdebug-gaps")
        return asyncio.get_running_loop().run_in_executor(self._worker, function, *args)

    @staticmethod
    def snapshot(counters: dict) -> list[tuple[str, list, list]]:
        """(stream, open ranges, final ranges) of the jobs with gaps, most missing first."""
        jobs = []
        for stream, gaps in counters.items():
            retired = gaps.take_retired()
            if job_of_stream(stream) is not None and (gaps.missing or retired):
                jobs.append((stream, gaps.open_ranges()[-MAX_RANGES:], retired[-MAX_RANGES:]))
        jobs.sort(key=lambda job: -_count(job[1] + job[2]))
        return jobs[:MAX_CHECKED_JOBS]

    def run(self, jobs, sent_by: float) -> dict:
        """In a worker thread: the causes of each job's open and final gaps, or why not."""
        results = {}
        moment = utc_from_epoch(sent_by)
        for stream, open_ranges, retired in jobs:
            kind, job = job_of_stream(stream)
            try:
                results[stream] = (
                    classify_missing(kind, job, open_ranges, moment, self.sending),
                    classify_missing(kind, job, retired, moment, self.sending),
                )
            except Exception as exc:  # noqa: BLE001 - a failed check must not end the listener
                results[stream] = first_line(exc)
        return {"at": sent_by, "results": results, "overflow_drops": self._overflow_drops(jobs)}

    def _overflow_drops(self, jobs) -> int | None:
        rows = ChannelOverflow.objects.filter(group__in=[stream for stream, _, _ in jobs])
        try:
            with bounded_transaction():
                total = OverflowFilter(since=utc_from_epoch(self.started)).apply(rows).aggregate(Sum("drops"))
        except Exception:  # noqa: BLE001 - as a failed check: unknown, and the listener goes on
            return None
        return total["drops__sum"] or 0

    def merge(self, outcome: dict) -> None:
        """Take the outcome of ``run`` (on the event loop)."""
        self.checked_at = outcome["at"]
        self.overflow_drops = outcome["overflow_drops"]
        for stream, result in outcome["results"].items():
            if isinstance(result, str):
                self.errors[stream] = result
                self.current.pop(stream, None)
                continue
            self.errors.pop(stream, None)
            self.current[stream], final = result
            for cause in CAUSES:
                self.final[cause] += final[cause]

    def figures(self, missing: int) -> dict:
        """The causes of ``missing`` counters as of the last check."""
        causes = dict(self.final)
        for current in self.current.values():
            for cause in CAUSES:
                causes[cause] += current[cause]
        causes["unchecked"] = max(missing - sum(causes.values()), 0)
        return {
            "cause_counters": causes,
            "lost_counters": causes["lost"],
            "checked": isoformat(utc_from_epoch(self.checked_at)) if self.checked_at else None,
            "check_errors": dict(self.errors),
            "overflow_drops": self.overflow_drops,
            "awx": self.sending.as_dict(),
        }


def _count(ranges) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)
