"""Taking snapshots of this node into NodeSnapshot: once per interval per node, whichever of the
node's processes gets there first.

AWX runs many processes per node, and every one that captures overflow (apps.ready) also runs a
Sampler thread. They share the work through the database: time is cut into slots of
SAMPLE_INTERVAL seconds aligned on the epoch; a process samples a slot only while holding the
node's PostgreSQL advisory lock (pg_try_advisory_lock: never waits) and only when no snapshot of
the node is as recent as the slot's start; the unique (node, slot_start) constraint settles the
rest (on SQLite, which has no advisory locks, it alone does). A sample runs in the Sampler's own
thread, one at a time; its Redis reads wait at most REDIS_TIMEOUT, so nothing the host process
does ever waits for it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, connection, transaction

from ..conf import get_config
from ..db import app_tables
from ..errors import first_line
from ..overflow.record import node_name
from ..timeutil import isoformat, utc_from_epoch
from .collect import collect

# Old snapshots of the node deleted after each sample, at most: a purge never holds many locks.
PURGE_BATCH = 1000
WRITTEN, SKIPPED = "written", "skipped"

status_logger = logging.getLogger("awx_eventdebug.path.sampler")


def slot_start(now: float, interval: float) -> float:
    """Start, in epoch seconds, of the sampling slot holding ``now``."""
    return (now // interval) * interval


def lock_key(node: str) -> int:
    """The node's advisory lock key: a signed 64-bit number from its name."""
    digest = hashlib.blake2b(f"awx_eventdebug.sample:{node}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def node_lock(node: str):
    """True while this process holds the node's sampling lock, False when another one does."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = lock_key(node)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@app_tables
def take_sample(interval: float, node: str | None = None) -> dict:
    """One snapshot of ``node`` (default this one) for the current slot, unless the slot is
    sampled already or being sampled by another process: {"status", "reason", "snapshot"}."""
    from ..models import NodeSnapshot

    node = node or node_name()
    config = get_config()
    started = time.time()
    slot = utc_from_epoch(slot_start(started, interval))
    with node_lock(node) as held:
        if not held:
            return {
                "status": SKIPPED,
                "reason": f"another process of {node} is sampling it",
                "snapshot": None,
            }
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # this session only: the sampler closes it after
                timeout = f"{int(config['STATEMENT_TIMEOUT'] * 1000)}ms"
                cursor.execute("SELECT set_config('statement_timeout', %s, false)", [timeout])
        previous = NodeSnapshot.objects.filter(node=node).order_by("-taken_at").first()
        if previous is not None and previous.taken_at >= slot:
            reason = f"{node} was sampled at {isoformat(previous.taken_at)}, in this interval"
            return {"status": SKIPPED, "reason": reason, "snapshot": None}
        seconds = started - previous.taken_at.timestamp() if previous is not None else None
        # Rates are taken against the previous snapshot only when it is recent.
        recent = previous is not None and seconds <= config["SAMPLE_STALE_INTERVALS"] * previous.interval
        data = collect(node, started, previous.data if recent else None, seconds if recent else None)
        try:
            with transaction.atomic():
                NodeSnapshot.objects.create(
                    node=node,
                    slot_start=slot,
                    taken_at=utc_from_epoch(started),
                    interval=interval,
                    seconds=round(time.time() - started, 3),
                    data=data,
                )
        except IntegrityError:  # SQLite: another process wrote this slot meanwhile
            return {"status": SKIPPED, "reason": f"{node} was sampled by another process", "snapshot": None}
        purge_snapshots(config["SAMPLE_RETENTION"])
        rollups = fill_lag_rollups()
    return {"status": WRITTEN, "reason": "", "snapshot": data, "rollups": rollups}


def fill_lag_rollups() -> dict:
    """Store the lag rollups of the minutes that became final (lag/rollup.py), so long windows
    find them ready; idempotent, so the sampler of every node may do it. A failure is reported
    here, not as a failed sample: the snapshot is written already."""
    from ..lag.rollup import fill_rollups

    try:
        return {"left": fill_rollups(), "error": ""}
    except Exception as exc:  # the statement timeout, a missing event table: the next sample retries
        return {"left": None, "error": first_line(exc)}


def purge_snapshots(older_than: timedelta) -> int:
    """Delete up to PURGE_BATCH snapshots older than ``older_than``, of any node: those of a node
    that stopped sampling (gone for good) go too."""
    from ..models import NodeSnapshot

    cutoff = utc_from_epoch(time.time()) - older_than
    rows = NodeSnapshot.objects.filter(taken_at__lt=cutoff)
    ids = list(rows.order_by("taken_at").values_list("pk", flat=True)[:PURGE_BATCH])
    return NodeSnapshot.objects.filter(pk__in=ids).delete()[0] if ids else 0


class Sampler:
    """A daemon thread calling take_sample() at every slot of ``interval`` seconds, one at a time:
    a sample that outlasts its slot makes the next slots pass (counted in ``overruns``)."""

    def __init__(self, interval: float, node: str | None = None):
        self.interval = interval
        self.node = node or node_name()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.counters = dict.fromkeys(
            ("samples", "skipped", "failures", "overruns", "in_flight", "max_in_flight"), 0
        )
        self.last_error = ""
        self.last_seconds: float | None = None

    def start(self) -> bool:
        with self._lock:
            if self._thread is not None:
                return True
            thread = threading.Thread(target=self._run, name="awx-eventdebug-path-sampler", daemon=True)
            try:
                thread.start()
            except RuntimeError as exc:  # thread limit, interpreter shutdown
                self.last_error = f"cannot start the sampler thread: {exc}"
                return False
            self._thread = thread
            return True

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self):
        # The first sample waits a whole interval at least, then for the start of a slot.
        due = slot_start(time.time(), self.interval) + 2 * self.interval
        while not self._stop.wait(max(0.0, due - time.time())):
            self._sample_once()
            now = time.time()
            passed = int((now - due) // self.interval)
            if passed:
                with self._lock:
                    self.counters["overruns"] += passed
            due = slot_start(now, self.interval) + self.interval

    def _sample_once(self):
        from django.db import connections

        counters = self.counters
        with self._lock:
            counters["in_flight"] += 1
            counters["max_in_flight"] = max(counters["max_in_flight"], counters["in_flight"])
        started = time.monotonic()
        try:
            result = take_sample(self.interval, self.node)
            key, error = ("samples" if result["status"] == WRITTEN else "skipped"), ""
        except Exception as exc:  # the thread must outlive anything Redis, the database or Django raise
            key, error = "failures", first_line(exc)
        finally:
            try:
                connections["default"].close()  # no idle connection (and no lock) held between samples
            except Exception:
                pass
        with self._lock:
            counters["in_flight"] -= 1
            counters[key] += 1
            self.last_seconds = round(time.monotonic() - started, 3)
            first_failure = bool(error) and not self.last_error
            self.last_error = error
        if first_failure:  # one warning per outage, not per interval
            status_logger.warning("awx-eventdebug: the path sampler of %s failed: %s", self.node, error)

    def stats(self) -> dict:
        with self._lock:
            return {
                "node": self.node,
                "interval": self.interval,
                "running": self._thread is not None and self._thread.is_alive(),
                **self.counters,
                "last_seconds": self.last_seconds,
                "last_error": self.last_error,
            }


_SAMPLER: Sampler | None = None


# AWX's long-running services started as management commands; every other command (migrate,
# collectstatic, the operator's migration job, eventdebug itself) is short-lived and never samples.
SERVICE_COMMANDS = frozenset({"run_callback_receiver", "run_dispatcher", "run_wsrelay", "runserver"})


def is_service_process(argv: list[str]) -> bool:
    """True for a long-running process: a server (uwsgi, daphne) or one of SERVICE_COMMANDS."""
    program = os.path.basename(argv[0]) if argv else ""
    if program in ("awx-manage", "manage.py", "django-admin", "__main__.py"):
        return len(argv) > 1 and argv[1] in SERVICE_COMMANDS
    return True


def start_sampler() -> Sampler | None:
    """Start this process's sampler (once) when SAMPLE_INTERVAL is not 0 and the process is a
    long-running service (is_service_process)."""
    global _SAMPLER
    interval = get_config()["SAMPLE_INTERVAL"]
    if not interval or not is_service_process(sys.argv):
        return None
    if _SAMPLER is None:
        _SAMPLER = Sampler(interval)
        _SAMPLER.start()
    return _SAMPLER
