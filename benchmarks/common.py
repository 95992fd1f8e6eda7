"""Shared set-up of the benchmark scripts: Django on a scratch PostgreSQL database."""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(database: str = "awx_eventdebug_bench") -> None:
    """Configure the example project on a freshly created PostgreSQL database and migrate it."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_settings.settings")
    os.environ["EVENTDEBUG_DATABASE"] = "postgres"
    os.environ["PGDATABASE"] = database
    import psycopg

    host, port = os.environ.get("PGHOST", "127.0.0.1"), os.environ.get("PGPORT", "5432")
    user = os.environ.get("PGUSER", "postgres")
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def ensure_database() -> None:
    """Create the configured PostgreSQL database if missing (keeping one already seeded) and
    migrate it; for scripts that reuse seeded data between runs, unlike setup_django."""
    import psycopg
    from django.conf import settings
    from django.core.management import call_command

    database = settings.DATABASES["default"]
    with psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{database["NAME"]}"')
    call_command("migrate", verbosity=0)


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
