"""The maintenance thread: in each of AWX's long-running processes (never in a short-lived
command), a daemon thread running slot.run_slot() at every slot, one at a time. Its reads of
Redis wait at most REDIS_TIMEOUT and its statements STATEMENT_TIMEOUT, and nothing the host
process does ever waits for it."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

from django.db import connections

from ..conf import get_config
from ..errors import first_line
from ..overflow.record import node_name
from ..path.sampler import WRITTEN, slot_start
from .slot import UNSAMPLED_SLOT, run_slot

THREAD_NAME = "awx-eventdebug-maintenance"
status_logger = logging.getLogger("awx_eventdebug.maintenance")


class Maintainer:
    """A daemon thread calling run_slot() at every slot of ``slot`` seconds, one at a time: a
    slot that outlasts its length makes the next slots pass (counted in ``overruns``). With
    ``sample`` False it takes no snapshots, and only keeps the tables up."""

    def __init__(self, slot: float, sample: bool = True, node: str | None = None):
        self.slot = slot
        self.sample = sample
        self.node = node or node_name()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.counters = dict.fromkeys(
            ("samples", "skipped", "upkeeps", "failures", "overruns", "in_flight", "max_in_flight"), 0
        )
        self.last_error = ""
        self.last_seconds: float | None = None
        self.last_upkeep: dict | None = None

    def start(self) -> bool:
        with self._lock:
            if self._thread is not None:
                return True
            thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
            try:
                thread.start()
            except RuntimeError as exc:  # thread limit, interpreter shutdown
                self.last_error = f"cannot start the maintenance thread: {exc}"
                return False
            self._thread = thread
            return True

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self):
        # The first slot waits a whole slot length at least, then for the start of a slot.
        due = slot_start(time.time(), self.slot) + 2 * self.slot
        while not self._stop.wait(max(0.0, due - time.time())):
            self._run_once()
            now = time.time()
            passed = int((now - due) // self.slot)
            if passed:
                with self._lock:
                    self.counters["overruns"] += passed
            due = slot_start(now, self.slot) + self.slot

    def _run_once(self):
        counters = self.counters
        with self._lock:
            counters["in_flight"] += 1
            counters["max_in_flight"] = max(counters["max_in_flight"], counters["in_flight"])
        started = time.monotonic()
        try:
            result = run_slot(self.slot, self.node, self.sample)
        except Exception as exc:  # the thread must outlive anything Redis, the database or Django raise
            result, error = None, first_line(exc)
        else:
            upkeep = result["upkeep"] or {"errors": {}}
            error = "; ".join(f"{task}: {line}" for task, line in upkeep["errors"].items())
        finally:
            try:
                connections["default"].close()  # no idle connection (and no lock) held between slots
            except Exception:
                pass
        # A slot whose work another process of the node did says nothing of whether it works.
        skipped = result is not None and result["upkeep"] is None
        with self._lock:
            counters["in_flight"] -= 1
            if result is not None and result["sample"] is not None and result["sample"]["status"] == WRITTEN:
                counters["samples"] += 1
            if skipped:
                counters["skipped"] += 1
            elif result is not None:
                counters["upkeeps"] += 1
                self.last_upkeep = result["upkeep"]
            if error:
                counters["failures"] += 1
            self.last_seconds = round(time.monotonic() - started, 3)
            first_failure = bool(error) and not self.last_error
            if not skipped:
                self.last_error = error
        if first_failure:  # one warning per outage, not per slot
            status_logger.warning("awx-eventdebug: the maintenance of %s failed: %s", self.node, error)

    def stats(self) -> dict:
        with self._lock:
            return {
                "node": self.node,
                "slot": self.slot,
                "sample": self.sample,
                "running": self._thread is not None and self._thread.is_alive(),
                **self.counters,
                "last_seconds": self.last_seconds,
                "last_error": self.last_error,
                "last_upkeep": self.last_upkeep,
            }


_MAINTAINER: Maintainer | None = None


# AWX's long-running services started as management commands; every other command (migrate,
# collectstatic, the operator's migration job, eventdebug itself) is short-lived and never runs
# the thread.
SERVICE_COMMANDS = frozenset({"run_callback_receiver", "run_dispatcher", "run_wsrelay", "runserver"})


def is_service_process(argv: list[str]) -> bool:
    """True for a long-running process: a server (uwsgi, daphne) or one of SERVICE_COMMANDS."""
    program = os.path.basename(argv[0]) if argv else ""
    if program in ("awx-manage", "manage.py", "django-admin", "__main__.py"):
        return len(argv) > 1 and argv[1] in SERVICE_COMMANDS
    return True


def start_maintainer() -> Maintainer | None:
    """Start this process's maintenance thread (once) when the process is a long-running service
    (is_service_process): slots of SAMPLE_INTERVAL seconds with a snapshot each, or of
    UNSAMPLED_SLOT without when SAMPLE_INTERVAL is 0. ready() calls it when MAINTENANCE is on."""
    global _MAINTAINER
    if not is_service_process(sys.argv):
        return None
    if _MAINTAINER is None:
        interval = get_config()["SAMPLE_INTERVAL"]
        _MAINTAINER = Maintainer(interval or UNSAMPLED_SLOT, sample=bool(interval))
        _MAINTAINER.start()
    return _MAINTAINER
