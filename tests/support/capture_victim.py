"""A capturing process that ends in a given way, for the tests of what each ending keeps.

Every variant counts the same records: it installs the capture handler (no periodic flush),
logs 3 overflow records of group "flushed" and writes them, then logs 2 of group "pending",
which only a write at the end of the process can store. Then it ends as ENDING says:

- ``return``, ``sys-exit``, ``uncaught-exception``, ``os-exit``: so, at once.
- ``return-via-port-PORT``: points the database at PORT (nothing there, or a server that never
  answers), prints "ready" and returns.
- ``os-exit-later``: (the one exception) flushing every 0.2 s, logs 5 records of group "older",
  sleeps 5 s, then calls os._exit.
- ``wait``: prints "ready" and sleeps: the test sends a signal (default actions);
  ``exit-on-sigterm``: the same, with SIGTERM handled as AWX's services do, by exiting through
  the interpreter.
- ``child-METHOD-HOW``: the counting is done by a multiprocessing child (start method fork,
  spawn or forkserver) whose target returns, raises, or calls sys.exit; with fork, the parent
  first logs and writes 1 record of group "parent", so the child is forked with a flusher running.
- ``awx-worker``: a fork child running AWX's worker loop (awx/main/dispatch/worker/base.py:
  BaseWorker.work_loop with its WorkerSignalHandler: SIGTERM at its default action, SIGINT asks
  the loop to stop, a "QUIT" message ends it, so does the parent's death) counts and prints
  "worker PID"; the parent then reads a line on stdin: "QUIT" puts the message on the worker's
  queue; anything else only waits for the worker to end.

Usage: python -m tests.support.capture_victim ENDING
"""

import logging
import multiprocessing
import os
import signal
import sys
import time
from queue import Empty

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def set_up(flush_interval: float = 3600):
    import django
    from django.test.utils import override_settings

    django.setup()
    override_settings(EVENTDEBUG={"CAPTURE_FLUSH_INTERVAL": flush_interval}).enable()
    from awx_eventdebug.overflow import install

    return install.install()


def log(group: str, times: int) -> None:
    from awx_eventdebug.overflow.record import LOGGER_NAME, OVERFLOW_FORMAT

    logger = logging.getLogger(LOGGER_NAME)
    for _ in range(times):
        logger.info(OVERFLOW_FORMAT, 1, 4, group)


def count() -> None:
    """The records every variant counts: 3 written, 2 pending."""
    handler = set_up()
    log("flushed", 3)
    assert handler.flush(timeout=30)
    log("pending", 2)


def child(how: str) -> None:
    count()
    if how == "raise":
        raise RuntimeError("the worker's task failed")
    if how == "sys-exit":
        sys.exit(3)


def awx_worker(queue, ready) -> None:
    ppid = os.getppid()
    stop = []
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, lambda signum, frame: stop.append(signum))
    count()
    ready.set()
    while not stop:
        if os.getppid() != ppid:  # orphaned: AWX's worker exits too
            break
        try:
            if queue.get(block=True, timeout=1) == "QUIT":
                break
        except Empty:
            continue


def run_awx_worker() -> None:
    set_up()
    context = multiprocessing.get_context("fork")
    queue, ready = context.Queue(), context.Event()
    worker = context.Process(target=awx_worker, args=(queue, ready), daemon=True)
    worker.start()
    assert ready.wait(60)
    print("worker", worker.pid, flush=True)
    if sys.stdin.readline().strip() == "QUIT":
        queue.put("QUIT")
    worker.join(60)


def run_child(method: str, how: str) -> None:
    if method == "fork":
        handler = set_up()
        log("parent", 1)
        assert handler.flush(timeout=30)
    process = multiprocessing.get_context(method).Process(target=child, args=(how,))
    process.start()
    process.join(60)


def main(ending: str) -> None:
    if ending.startswith("child-"):
        _, method, how = ending.split("-", 2)
        run_child(method, how)
        return
    if ending == "awx-worker":
        run_awx_worker()
        return
    if ending == "os-exit-later":
        set_up(flush_interval=0.2)
        log("older", 5)
        time.sleep(5)
        os._exit(0)
    count()
    if ending.startswith("return-via-port-"):
        from django.db import connection

        # Shared by every thread's connection: the flusher's next one goes there.
        connection.settings_dict["PORT"] = ending.rsplit("-", 1)[1]
        print("ready", flush=True)
        return
    if ending == "sys-exit":
        sys.exit(3)
    if ending == "uncaught-exception":
        raise RuntimeError("the service failed")
    if ending == "os-exit":
        os._exit(0)
    if ending in ("wait", "exit-on-sigterm"):
        if ending == "exit-on-sigterm":
            signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        print("ready", flush=True)
        time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1])
