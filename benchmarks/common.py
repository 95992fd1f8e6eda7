"""What the benchmark scripts share: Django set up on the example project (each script's main()
calls setup_django() first, then imports what needs it), a redis-server of their own, timing and
printing."""

import atexit
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import django
import psycopg
import redis
from django.conf import settings
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def setup_django(postgres: str | None = None, *, fresh: bool = False) -> None:
    """Django on the example project, migrated, before anything imports the app registry's models.

    Without ``postgres``: a SQLite file in a temporary directory, removed at exit. With it:
    PostgreSQL, database PGDATABASE (default ``postgres``), created when missing and otherwise
    kept, so that a script reuses the data it seeded before; ``fresh`` drops and creates it first,
    and then takes the name ``postgres`` only, never one from the environment that could hold
    someone's data. DEBUG is off, as in production: with it on, Django keeps every query, which
    would be measured. The maintenance thread is off (below).
    """
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "example_settings.settings"
    os.environ["DJANGO_DEBUG"] = "0"
    if postgres is None:
        os.environ["EVENTDEBUG_DATABASE"] = "sqlite"
        workdir = tempfile.mkdtemp(prefix="bench-")
        atexit.register(shutil.rmtree, workdir, ignore_errors=True)
        os.environ["EVENTDEBUG_SQLITE_PATH"] = str(Path(workdir) / "bench.sqlite3")
    else:
        os.environ["EVENTDEBUG_DATABASE"] = "postgres"
        if fresh:
            os.environ["PGDATABASE"] = postgres
        else:
            os.environ.setdefault("PGDATABASE", postgres)
    # No maintenance thread: a script is a long-running process to the app (maintenance/thread.py
    # is_service_process), and the thread would run its slots mid-measurement, on whichever
    # database the script points at then. bench_health.py does its work where it measures it.
    settings.EVENTDEBUG = {**settings.EVENTDEBUG, "MAINTENANCE": False}
    django.setup()
    if postgres is not None:
        create_database(drop=fresh)
    call_command("migrate", verbosity=0, stdout=io.StringIO())


def create_database(drop: bool) -> None:
    """Create the configured PostgreSQL database if it is missing (after dropping it with ``drop``)."""
    database = settings.DATABASES["default"]
    name = database["NAME"]
    with psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        password=database["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        if drop:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def redis_server(*args: str):
    """A redis-server of the script's own (so the shared one stays light) on a free port, without
    persistence; yields the port once the server answering there is this one."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="bench-redis-")
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir]
    process = subprocess.Popen([*command, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_timeout=5)
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if client.info("server")["process_id"] == process.pid:
                    break
            except redis.ConnectionError:
                pass  # not listening yet
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port} (taken meanwhile?)")
            time.sleep(0.05)
        yield port
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def progress(message: str) -> None:
    """Progress on stderr, so stdout holds only the results."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def interleaved_medians(functions, repeat: int) -> list[float]:
    """Median seconds of each function. Rounds interleave the functions, so that the load of a
    shared machine weighs on all of them alike and their ratios hold."""
    for function in functions:
        function()  # warm-up: caches, plans, imports
    samples = [[] for _ in functions]
    for _ in range(repeat):
        for function, times in zip(functions, samples, strict=True):
            started = time.perf_counter()
            function()
            times.append(time.perf_counter() - started)
    return [statistics.median(times) for times in samples]


def print_table(headers, rows) -> None:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        cells = zip(row, widths, strict=True)
        print("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(cells)))
