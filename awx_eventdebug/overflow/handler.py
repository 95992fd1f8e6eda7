"""Capture of channels_redis "N of M channels over capacity in group G" log records.

channels_redis logs one such INFO record on ``channels_redis.core`` each time group_send finds
full queues: each is one group message silently dropped for those queues. They come in bursts of
thousands per second, from inside daphne's event loop or async_to_sync, exactly when AWX is
overloaded. So ``emit()`` only adds to an in-memory aggregate under a lock and returns: no I/O, no
message formatting for the known record, no exception to the caller. A daemon thread, started on
the first record, writes the aggregate every CAPTURE_FLUSH_INTERVAL seconds as at most one row per
(node, group, window), on its own database connection, which it closes after each write (AWX runs
many processes; none should hold an idle connection for this).

A process that ends writes what is pending, waiting at most EXIT_FLUSH_SECONDS: from
multiprocessing's exit hooks, which run at the interpreter's exit and, in a multiprocessing
child, before it ends with os._exit, where logging.shutdown() never runs (AWX's callback
receiver and dispatcher workers are such children).
"""

from __future__ import annotations

import functools
import logging
import multiprocessing.util
import os
import threading
import time
import weakref
from dataclasses import replace

from ..columns import NAME_MAX_LENGTH, SOURCE_LIVE
from ..conf import get_config
from ..timeutil import isoformat, utc_from_epoch
from .counts import Counts, merge_into
from .record import node_name, parse_record, storable_name, window_start_epoch
from .upsert import add_counts

# Records of groups beyond EVENTDEBUG['CAPTURE_MAX_PENDING_GROUPS'] are counted under this name,
# which channels can never produce (a group name has no space or parenthesis).
OTHER_GROUPS = "(other groups)"

# A process that ends waits at most this long in all for its last write (the exit hook, then
# logging.shutdown()'s flush() and close()): a hung database cannot delay a restart by more.
EXIT_FLUSH_SECONDS = 2.0
# Among multiprocessing's exit hooks, those of priority 0 and above run before it terminates the
# process's daemonic children and joins the others, which can take long.
EXIT_HOOK_PRIORITY = 0
# Retry delays after a failed write grow up to this many flush intervals.
BACKOFF_INTERVALS = 12

status_logger = logging.getLogger("awx_eventdebug.overflow.handler")


# Each counter of a handler, and its field in stats() (named with what it counts).
COUNTER_FIELDS = {
    "parsed": "parsed_records",
    "ignored": "ignored_records",
    "bounded": "bounded_records",
    "rows_written": "written_rows",
    "rows_set_aside": "set_aside_rows",
    "flushes": "flushes",
    "flush_failures": "flush_failures",
}


class OverflowCaptureHandler(logging.Handler):
    """A logging handler counting overflow records into ChannelOverflow rows (source "live").

    Usable from a LOGGING dictConfig (``"class": "awx_eventdebug.overflow.handler.OverflowCaptureHandler"``)
    or installed by the app on ``channels_redis.core`` (install.py). Unset arguments come from
    the EVENTDEBUG settings when the handler is made.
    """

    def __init__(
        self,
        level=logging.INFO,
        *,
        flush_interval: float | None = None,
        window: int | None = None,
        max_pending: int | None = None,
        node: str | None = None,
        using: str = "default",
    ):
        super().__init__(level)
        config = get_config()
        self.flush_interval = flush_interval or config["CAPTURE_FLUSH_INTERVAL"]
        self.window = window or config["CAPTURE_WINDOW"]
        self.max_pending = max_pending or config["CAPTURE_MAX_PENDING_GROUPS"]
        self.node = node or node_name()
        self.using = using
        self._reset_state()
        _HANDLERS.add(self)
        os.register_at_fork(after_in_child=functools.partial(_reset_in_child, weakref.ref(self)))

    def _reset_state(self):
        """Fresh aggregate, counters and thread state (new handler, or a forked child, whose
        parent still owns and will write what was pending before the fork)."""
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(threading.Lock())
        # (group, window start (epoch s)) -> its counts, their times in epoch seconds
        self._pending: dict[tuple[str, int], Counts[float]] = {}
        self._writing = False  # a batch taken from _pending is being written
        self._writing_drops = 0  # its drops, until written or put back
        self._thread: threading.Thread | None = None
        # Set when the flusher thread could not be started (thread limit, interpreter shutdown):
        # emit() must not retry, and fail, on every record.
        self._start_failed = False
        self._flusher_ident: int | None = None
        self._closing = False
        self._requested = self._attempted = 0
        self._failures_in_row = 0
        self._last_ok = True
        self._timed_out = False
        # This process's exit hook (multiprocessing.util.Finalize), made with its first flusher:
        # a multiprocessing child clears the hooks it inherits before it runs.
        self._exit_hook: multiprocessing.util.Finalize | None = None
        self._exit_deadline: float | None = None  # monotonic; set once the process is ending
        self.counters = dict.fromkeys(COUNTER_FIELDS, 0)
        self.last_flush: float | None = None
        self.last_error = ""

    # Hot path -------------------------------------------------------------------------------

    def handle(self, record):
        # emit() takes its own short lock; Handler.handle would add a second (reentrant) one.
        result = self.filter(record)
        if isinstance(result, logging.LogRecord):
            record = result
        if result:
            self.emit(record)
        return result

    def emit(self, record):
        # Records logged by the flusher itself (the database backend's, our warnings) must not
        # feed back into the aggregate.
        if self._flusher_ident is not None and threading.get_ident() == self._flusher_ident:
            return
        try:
            try:
                parsed = parse_record(record)
            except Exception:
                parsed = None
            counters = self.counters
            with self._lock:
                if parsed is None:
                    counters["ignored"] += 1
                    return
                counters["parsed"] += 1
                queues, members, group = parsed
                if len(group) > NAME_MAX_LENGTH:  # never from channels_redis (names < 100)
                    group = storable_name(group)
                created = record.created
                key = (group, window_start_epoch(created, self.window))
                entry = self._pending.get(key)
                if entry is None:
                    self._pend(key, Counts.of_record(created, queues, members))
                else:  # the common case, without making a Counts per record
                    entry.add(
                        first_seen=created,
                        last_seen=created,
                        drops=1,
                        queues_over=queues,
                        max_group_size=members,
                    )
            if self._thread is None and not self._start_failed:
                self._start_flusher()
        except Exception:
            self.handleError(record)

    def _pend(self, key: tuple[str, int], counts: Counts[float]) -> None:
        """Add ``counts`` to the pending aggregate, under OTHER_GROUPS when the bound leaves no
        room for ``key``; ``bounded`` counts the records that lose their group name so, once
        (a failed batch put back holds some already). Called with the lock held."""
        pending = self._pending
        if key not in pending and len(pending) >= self.max_pending:
            if key[0] != OTHER_GROUPS:
                self.counters["bounded"] += counts.drops
                key = (OTHER_GROUPS, key[1])
        merge_into(pending, key, counts)

    # Flushing -------------------------------------------------------------------------------

    def _start_flusher(self) -> bool:
        """Start the flusher thread unless it runs; False when it cannot be started."""
        with self._wakeup:
            if self._thread is not None:
                return True
            self._closing = False
            thread = threading.Thread(target=self._run, name="awx-eventdebug-overflow-flusher", daemon=True)
            try:
                thread.start()
            except RuntimeError as exc:
                self._start_failed = True
                self.last_error = f"cannot start the flusher thread: {exc}"
                return False
            self._thread = thread
            if self._exit_hook is None:
                self._exit_hook = multiprocessing.util.Finalize(
                    self, _flush_at_exit, args=(weakref.ref(self),), exitpriority=EXIT_HOOK_PRIORITY
                )
            return True

    def _run(self):
        self._flusher_ident = threading.get_ident()
        delay = self.flush_interval
        try:
            while True:
                with self._wakeup:
                    self._wakeup.wait_for(lambda: self._requested > self._attempted or self._closing, delay)
                    target, closing = self._requested, self._closing
                ok = self._write_pending()
                with self._wakeup:
                    self._attempted = max(self._attempted, target)
                    self._last_ok = ok
                    self._wakeup.notify_all()
                if ok:
                    delay = self.flush_interval
                else:
                    delay = min(delay * 2, self.flush_interval * BACKOFF_INTERVALS)
                if closing:
                    return
        finally:
            with self._wakeup:
                self._thread = None
                self._flusher_ident = None
                self._wakeup.notify_all()

    def _write_pending(self) -> bool:
        """Write the aggregate; on failure put it back (within the bound). True on success."""
        with self._lock:
            batch, self._pending = self._pending, {}
            self._writing = bool(batch)
            self._writing_drops = sum(counts.drops for counts in batch.values())
        if not batch:
            return True
        try:
            return self._write_batch(batch)
        finally:
            with self._lock:
                self._writing = False
                self._writing_drops = 0

    def _write_batch(self, batch) -> bool:
        from django.db import connections

        rows = {
            (self.node, group, utc_from_epoch(window_start), SOURCE_LIVE): replace(
                counts,
                first_seen=utc_from_epoch(counts.first_seen),
                last_seen=utc_from_epoch(counts.last_seen),
            )
            for (group, window_start), counts in batch.items()
        }
        refused: dict = {}
        try:
            written = add_counts(rows, using=self.using, refused=refused)
        except Exception as exc:  # the thread must survive anything the database or Django raise
            self._restore(batch)
            self._failed(exc, len(batch))
            return False
        finally:
            try:
                connections[self.using].close()
            except Exception:  # a broken connection is dropped either way; the thread lives on
                pass
        with self._lock:
            self.counters["rows_written"] += written
            self.counters["flushes"] += 1
            self.last_flush = time.time()
        if refused:
            self._set_aside(refused)
        if self._failures_in_row:
            status_logger.warning(
                "awx-eventdebug: overflow capture writes again after %d failed attempts; nothing was lost.",
                self._failures_in_row,
            )
            self._failures_in_row = 0
        return True

    def _set_aside(self, refused: dict) -> None:
        """Rows the database refused are dropped, not retried (they would fail every later
        flush); counted, and logged once per process."""
        with self._lock:
            first = not self.counters["rows_set_aside"]
            self.counters["rows_set_aside"] += len(refused)
        if first:
            (_node, group, _window, _source), why = next(iter(refused.items()))
            # ascii(): the name may hold what the log's own encoding refuses too.
            status_logger.warning(
                "awx-eventdebug: the database refused %d channel overflow rows (group %s: %s); they are "
                "set aside and counted (rows_set_aside), the rest was written. Later ones are only counted.",
                len(refused),
                ascii(group),
                why,
            )

    def _restore(self, batch):
        with self._lock:
            self._writing_drops = 0
            for key, counts in batch.items():
                self._pend(key, counts)

    def _failed(self, exc, pending_rows):
        with self._lock:
            self.counters["flush_failures"] += 1
            self.last_error = f"{type(exc).__name__}: {exc}".strip()
        self._failures_in_row += 1
        if self._failures_in_row == 1:  # one warning per outage, not per attempt or record
            status_logger.warning(
                "awx-eventdebug: could not write %d channel overflow rows (%s); keeping them in "
                "memory (at most %d groups) and retrying with backoff.",
                pending_rows,
                self.last_error,
                self.max_pending,
            )

    def flush(self, timeout: float = EXIT_FLUSH_SECONDS) -> bool:
        """Have the flusher thread write what is pending now; wait at most ``timeout`` seconds,
        and once the process is ending, no later than its exit deadline.

        True when it was written. Called by logging.shutdown() at exit, hence the short default.
        """
        if self._exit_deadline is not None:
            timeout = min(timeout, max(0.0, self._exit_deadline - time.monotonic()))
        with self._lock:
            if not self._pending and not self._writing:
                return True
        if not self._start_flusher():
            return False
        with self._wakeup:
            self._requested += 1
            target = self._requested
            self._wakeup.notify_all()
            done = self._wakeup.wait_for(lambda: self._attempted >= target or self._thread is None, timeout)
            self._timed_out = not done
            return bool(done) and self._attempted >= target and self._last_ok

    def flush_at_exit(self) -> None:
        """The last write of a process that ends, bounded by EXIT_FLUSH_SECONDS together with
        every flush() after it; the drops it could not write are counted in one warning, the
        only trace they leave."""
        if self._exit_deadline is None:
            self._exit_deadline = time.monotonic() + EXIT_FLUSH_SECONDS
        if self.flush():
            return
        with self._lock:
            lost = sum(counts.drops for counts in self._pending.values()) + self._writing_drops
            why = self.last_error
            if self._writing:
                why = f"no answer from the database in {EXIT_FLUSH_SECONDS:g} s"
        if lost:
            status_logger.warning(
                "awx-eventdebug: process %d ends with %d channel overflow drops it could not write (%s); "
                "they are lost.",
                os.getpid(),
                lost,
                why,
            )

    def close(self):
        """Write what is pending (bounded), then stop the flusher. A record after close() starts
        a new one: logging reconfiguration closes handlers that may still be attached."""
        # logging.shutdown() flushes, then closes: after a flush that timed out on a hung
        # database, a second wait would only double the delay of the exit.
        if not self._timed_out:
            self.flush()
        with self._wakeup:
            self._closing = True
            self._wakeup.notify_all()
        super().close()

    # Reading --------------------------------------------------------------------------------

    def stats(self) -> dict:
        """This process's counters, as the doctor report and the API show them."""
        with self._lock:
            return {
                "node": self.node,
                "seen_records": self.counters["parsed"] + self.counters["ignored"],
                **{COUNTER_FIELDS[name]: value for name, value in self.counters.items()},
                "pending_groups": len(self._pending),
                "max_pending_groups": self.max_pending,
                "flush_interval_seconds": self.flush_interval,
                "window_seconds": self.window,
                "flusher_running": self._thread is not None,
                "last_flush": isoformat(utc_from_epoch(self.last_flush)) if self.last_flush else None,
                "last_error": self.last_error,
            }


_HANDLERS: weakref.WeakSet[OverflowCaptureHandler] = weakref.WeakSet()


def _flush_at_exit(handler_ref):
    handler = handler_ref()
    if handler is not None:
        handler.flush_at_exit()


def _reset_in_child(handler_ref):
    handler = handler_ref()
    if handler is not None:
        handler._reset_state()


def capture_stats() -> list[dict]:
    """Counters of every capture handler of this process (usually one)."""
    return [handler.stats() for handler in list(_HANDLERS)]
