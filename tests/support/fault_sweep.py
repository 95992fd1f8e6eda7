"""The fault sweeps' shared parts: every ``eventdebug`` subcommand and every endpoint as probe
targets, run in a fresh process (tests/support/fault_probe.py) against services the environment
points at a sick target."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import uuid
from contextlib import ExitStack, contextmanager
from urllib.parse import urlencode

import psycopg
from django.db import connection
from django.urls import reverse

from awx_eventdebug import urls
from tests.support import ROOT
from tests.support.child_env import django_child_environment
from tests.support.faulty_tcp import blackhole, slow_proxy
from tests.support.redis_servers import closed_port, redis_server
from tests.support.workloads import required_query

# Limits the probe runs under: REDIS_TIMEOUT 1 s, and a 2 s connect and statement timeout.
PROBE_SETTINGS = {"CAPTURE": False, "REDIS_TIMEOUT": 1.0, "STATEMENT_TIMEOUT": 2.0, "CONNECT_TIMEOUT": 2}
# Seconds any one subcommand or request may take against a sick dependency under those limits.
BOUND = 30.0
SECRET = "WrongSecret-77"
SLOW = 0.05  # seconds each answer of a "slow" target is held back: late, but within every timeout

COMMANDS = {
    "doctor": "doctor",
    "lag": "lag",
    "overflow": "overflow",
    "ingest": "ingest {log}",
    "purge": "purge --dry-run",
    "groups": "groups",
    "queues": "queues",
    "watch": "watch --count 1",
    "listen": "listen --group edtest-fault-probe --duration 1",
    "cleanup": "cleanup",
    "path": "path",
    "sample": "sample --interval 60",
    "report": "report --json",
    "check": "check --json",
}
ENDPOINTS = [pattern.name for pattern in urls.urlpatterns]


def endpoint_path(name: str, **query) -> str:
    """The path of the endpoint named ``name`` (a URL name), with the query it cannot answer
    without and ``query``."""
    query = {**required_query(name), **query}
    return reverse(f"awx_eventdebug:{name}") + (f"?{urlencode(query)}" if query else "")


def targets(log: str) -> dict[str, str]:
    """Probe name -> what the probe runs: a subcommand line or a path."""
    found = {name: line.format(log=log) for name, line in COMMANDS.items()}
    for name in ENDPOINTS:
        found[f"{name}-api" if name in COMMANDS else name] = endpoint_path(name)
    return found


@contextmanager
def every_target(more: dict[str, str] | None = None):
    """targets() of a one-record overflow log for ingest, and ``more``."""
    with tempfile.NamedTemporaryFile("w", suffix=".log") as log:
        log.write(
            "2026-01-01 00:00:00,000 INFO channels_redis.core 1 of 4 channels over capacity in group g\n"
        )
        log.flush()
        yield {**targets(log.name), **(more or {})}


def base_environment(**settings) -> dict:
    """The probe process's environment: the run's database and Redis, PROBE_SETTINGS and
    ``settings`` as EVENTDEBUG."""
    return {**django_child_environment(), "PROBE_EVENTDEBUG": json.dumps({**PROBE_SETTINGS, **settings})}


@contextmanager
def sick(service: str, fault: str):
    """(environment variables, port) pointing ``service`` at a target with ``fault``."""
    with ExitStack() as stack:
        real_port = 6379 if service == "redis" else int(connection.settings_dict["PORT"] or 5432)
        if fault == "refused":
            port = stack.enter_context(closed_port())
        elif fault == "blackholed":
            port = stack.enter_context(blackhole())
        elif fault == "slow":
            port = stack.enter_context(slow_proxy(real_port, SLOW))
        else:  # wrong credentials
            port = (
                stack.enter_context(redis_server("--requirepass", "right"))
                if service == "redis"
                else real_port
            )
        if service == "redis":
            password = f":{SECRET}@" if fault == "wrong credentials" else ""
            yield {"EVENTDEBUG_REDIS_URL": f"redis://{password}127.0.0.1:{port}/0"}, port
        else:
            env = {"PGPORT": str(port), "PGPASSWORD": SECRET}
            if fault == "wrong credentials":
                env["PGUSER"] = "edtest_no_such_role"  # trust auth: a role that does not exist
            yield env, port


@contextmanager
def out_of_connections():
    """Environment variables connecting the probe as a role PostgreSQL lets open no connection
    (CONNECTION LIMIT 0): "too many connections", as from a server out of connections."""
    role = f"edtest_full_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    try:
        yield {"PGUSER": role}
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP ROLE {role}")


def own_session() -> psycopg.Connection:
    """A PostgreSQL session of its own on the test's database (another process's, as AWX's)."""
    database = connection.settings_dict
    return psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        password=database["PASSWORD"],
        dbname=database["NAME"],
    )


@contextmanager
def locked(table: str, mode: str = "ACCESS EXCLUSIVE"):
    """``table`` locked by a second PostgreSQL session until the block ends: ACCESS EXCLUSIVE, as
    a migration, VACUUM FULL or pg_repack lock it (reads wait too), or ``mode``: SHARE, as a
    CREATE INDEX without CONCURRENTLY does, holds inserts and lets reads through. Yields that
    session."""
    with own_session() as holder:
        # A session of the test's own holding the table (an open transaction) fails the test.
        holder.execute("SET lock_timeout = '10s'")
        holder.execute(f"LOCK TABLE {table} IN {mode} MODE")
        try:
            yield holder
        finally:
            holder.rollback()


def run_probes(env: dict, probes: dict[str, str], bound: float = BOUND) -> dict[str, dict]:
    """Probe name -> its answer: exit code or HTTP status, seconds, output; all of them within
    ``bound`` seconds each."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.fault_probe", *probes.values()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=bound * len(probes),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    return {name: answer for name, answer in zip(probes, answers, strict=True)}
