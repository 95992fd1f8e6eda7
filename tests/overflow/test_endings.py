"""What a capturing process keeps of what it counted, for every way an AWX process ends
(docs/overflow.md, "How a process ends"): everything when it ends through the interpreter or as
a multiprocessing child; what it wrote before, when it is killed or calls os._exit, which leaves
at most one CAPTURE_FLUSH_INTERVAL unwritten. Real processes, real signals, the run's own
database; each victim writes 3 records, then leaves 2 pending (tests/support/capture_victim.py)."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from awx_eventdebug.overflow.handler import EXIT_FLUSH_SECONDS
from tests.support import ROOT
from tests.support.capture_helpers import drops_by_group
from tests.support.child_env import django_child_environment
from tests.support.server_process import free_ports

pytestmark = pytest.mark.django_db(transaction=True)

EVERYTHING = {"flushed": 3, "pending": 2}
WRITTEN_BEFORE = {"flushed": 3}


def victim(ending: str, **options) -> subprocess.Popen:
    options.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.capture_victim", ending],
        cwd=ROOT,
        env=django_child_environment(),
        stdout=subprocess.PIPE,
        text=True,
        **options,
    )


def ended(process: subprocess.Popen) -> int:
    try:
        return process.wait(timeout=60)
    finally:
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream:
                stream.close()


@pytest.mark.parametrize(
    ("ending", "kept"),
    [
        ("return", EVERYTHING),
        ("sys-exit", EVERYTHING),
        ("uncaught-exception", EVERYTHING),
        ("os-exit", WRITTEN_BEFORE),
        # multiprocessing children end with os._exit, after multiprocessing's exit hooks.
        ("child-fork-return", {"parent": 1, **EVERYTHING}),
        ("child-fork-raise", {"parent": 1, **EVERYTHING}),
        ("child-fork-sys-exit", {"parent": 1, **EVERYTHING}),
        ("child-spawn-return", EVERYTHING),
        ("child-forkserver-return", EVERYTHING),
    ],
)
def test_a_process_ending_by_itself(ending, kept):
    ended(victim(ending))
    assert drops_by_group() == kept


@pytest.mark.parametrize(
    ("ending", "how", "kept"),
    [
        ("wait", signal.SIGINT, EVERYTHING),  # KeyboardInterrupt: through the interpreter
        ("exit-on-sigterm", signal.SIGTERM, EVERYTHING),  # AWX's services, uwsgi's master
        ("wait", signal.SIGTERM, WRITTEN_BEFORE),  # no handler: the default action kills
        ("wait", signal.SIGKILL, WRITTEN_BEFORE),
    ],
    ids=["SIGINT", "SIGTERM-handled", "SIGTERM-default", "SIGKILL"],
)
def test_a_process_stopped_by_a_signal(ending, how, kept):
    process = victim(ending)
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(how)
    ended(process)
    assert drops_by_group() == kept


def gone(pid: int, timeout: float = 30) -> bool:
    """Whether ``pid`` ended (or is a zombie) within ``timeout``: an orphan is not ours to wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(
    ("how", "kept"),
    [
        ("QUIT", EVERYTHING),  # reload, scale-down, a failed parent: AWX's worker.quit()
        (signal.SIGINT, EVERYTHING),
        ("orphaned", EVERYTHING),  # the parent died: the loop sees it and returns
        (signal.SIGTERM, WRITTEN_BEFORE),  # AWX resets SIGTERM to its default in its workers
    ],
    ids=["QUIT", "SIGINT", "orphaned", "SIGTERM"],
)
def test_an_awx_worker(how, kept):
    parent = victim("awx-worker", stdin=subprocess.PIPE)
    try:
        word, pid = parent.stdout.readline().split()
        assert word == "worker"
        if how == "orphaned":
            parent.kill()
        elif isinstance(how, signal.Signals):
            os.kill(int(pid), how)
        if how != "orphaned":
            parent.stdin.write(f"{how}\n")
            parent.stdin.flush()
        assert gone(int(pid))
    finally:
        ended(parent)
    assert drops_by_group() == kept


def test_a_process_killed_loses_at_most_one_flush_interval():
    # It logs, then lives 25 flush intervals: the flusher wrote the records on its own.
    ended(victim("os-exit-later"))
    assert drops_by_group() == {"older": 5}


@pytest.mark.postgres_only(reason="a TCP database to point at a dead or a silent port")
@pytest.mark.parametrize("database", ["refuses", "never answers"])
def test_a_process_ending_without_its_database_waits_a_bounded_time_and_counts_the_loss(database):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        if database == "never answers":
            silent.listen()  # the kernel completes the handshake; nothing ever replies
        else:
            silent.close()
        process = victim(f"return-via-port-{port}", stderr=subprocess.PIPE)
        assert process.stdout.readline().strip() == "ready"
        started = time.monotonic()
        process.wait(timeout=60)
        took = time.monotonic() - started
        errors = process.stderr.read()
        ended(process)
    # One wait for the exit hook, logging.shutdown()'s flush and close() together: two waits
    # take twice EXIT_FLUSH_SECONDS at the least, whatever the load; one took 3.7 s, the
    # interpreter's teardown included, at a load average of 11 on 2 cores.
    assert took < 2 * EXIT_FLUSH_SECONDS, took
    assert drops_by_group() == WRITTEN_BEFORE
    assert "ends with 2 channel overflow drops it could not write" in errors, errors


# AWX's uwsgi.ini recycles a worker after max-requests; its master stops the workers on SIGINT.
UWSGI = os.environ.get("EVENTDEBUG_TEST_UWSGI") or shutil.which(
    "uwsgi", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
)


def worker_pid(port: int, path: str = "/pid") -> int:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as answer:
                return int(answer.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def request_ended_by_the_worker(port: int) -> None:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/count-and-stay", timeout=600).close()
    except (OSError, http.client.HTTPException):
        pass  # the worker ended before it answered


def wait_for_worker(stats_port: int, status: str, timeout: float = 30) -> None:
    """Wait until uWSGI's stats server shows the worker ``status`` ("idle" or "busy").

    Its "busy" is uwsgi_worker_is_busy(), the test by which uWSGI skips the interpreter's exit
    hooks in a worker (plugins/python/python_plugin.c, uwsgi_python_atexit); a worker stays busy
    a moment after its client read the whole answer (core/utils.c, uwsgi_close_request)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", stats_port), timeout=timeout) as stats:
                document = b"".join(iter(lambda: stats.recv(65536), b""))
            if json.loads(document)["workers"][0]["status"] == status:
                return
        except OSError:
            pass  # the master is not serving its stats yet
        assert time.monotonic() < deadline, f"the uWSGI worker was never {status}"
        time.sleep(0.05)


def wait_for_drops(expected: dict, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while drops_by_group() != expected:
        assert time.monotonic() < deadline, drops_by_group()
        time.sleep(0.1)


@pytest.mark.skipif(not UWSGI, reason="no uwsgi here (AWX's own; EVENTDEBUG_TEST_UWSGI names one)")
@pytest.mark.parametrize(
    ("ending", "kept"),
    [
        ("recycled after max-requests", EVERYTHING),
        ("stopped by the master", EVERYTHING),
        # uWSGI runs no exit hook in a worker that is answering a request.
        ("stopped by the master in a request", WRITTEN_BEFORE),
    ],
)
def test_a_uwsgi_worker(ending, kept):
    port, stats_port = free_ports(2)
    master = subprocess.Popen(
        [UWSGI, "--http-socket", f"127.0.0.1:{port}", "--master", "--processes", "1", "--lazy-apps"]
        + ["--max-requests", "2", "--min-worker-lifetime", "1", "--virtualenv", sys.prefix]
        + ["--stats", f"127.0.0.1:{stats_port}"]
        + ["--pythonpath", str(ROOT), "--module", "tests.support.capture_wsgi:application"],
        cwd=ROOT,
        env=django_child_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if ending == "recycled after max-requests":
            first = worker_pid(port, "/count")
            time.sleep(1.5)  # older than --min-worker-lifetime
            pids = {worker_pid(port) for _ in range(3)}  # the second request ends the worker
            assert pids - {first}, pids
        elif ending == "stopped by the master":
            first = worker_pid(port, "/count")
            wait_for_worker(stats_port, "idle")
            master.send_signal(signal.SIGINT)
        else:
            first = worker_pid(port)
            # It counts, then stays in the request until the master stops it.
            threading.Thread(target=request_ended_by_the_worker, args=(port,), daemon=True).start()
            wait_for_drops(WRITTEN_BEFORE)
            wait_for_worker(stats_port, "busy")
            master.send_signal(signal.SIGINT)
        assert gone(first)
    finally:
        master.send_signal(signal.SIGINT)
        ended(master)
    assert drops_by_group() == kept
