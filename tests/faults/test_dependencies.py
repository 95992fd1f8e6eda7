"""Every dependency fault is bounded in time and named for what it is.

{Redis, PostgreSQL} x {refused, blackholed, slow, wrong credentials} x every subcommand and every
endpoint, each run in a fresh process (tests/support/fault_probe.py) pointed at the sick target:
no traceback, an exit code of 0 or 2 (HTTP 200 or 503; doctor: 1, "problem found"), done within
BOUND seconds, the target named (127.0.0.1:<its port>) by everything that needs it, no password
shown, and a section of the report or check failing only for its own dependency.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.urls import reverse

from awx_eventdebug import urls
from awx_eventdebug.cli import SUBCOMMANDS
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
NEEDS = {
    "redis": {"doctor", "groups", "queues", "watch", "listen", "cleanup", "report", "check", "sample"}
    | {"channels", "report-api", "check-api", "metrics", "dashboard"},
    "postgres": {"doctor", "lag", "overflow", "ingest", "purge", "report", "check", "path", "sample"}
    | {"overflow-api", "overflow-summary", "lag-api", "report-api", "check-api", "metrics", "dashboard"}
    | {"path-api", "listen-gaps"},
}
# The report's and the check's sections, by the dependency each reads.
SECTIONS = {"redis": {"channel_layer"}, "postgres": {"lag", "overflow", "path"}}


def test_every_subcommand_and_endpoint_is_probed():
    assert set(COMMANDS) == {subcommand.name for subcommand in SUBCOMMANDS}


def targets(log: str) -> dict[str, str]:
    """Probe name -> what the probe runs: a subcommand line or a path."""
    found = {name: line.format(log=log) for name, line in COMMANDS.items()}
    for name in ENDPOINTS:
        key = f"{name}-api" if name in COMMANDS else name
        query = required_query(name)
        found[key] = reverse(f"awx_eventdebug:{name}") + (f"?{urlencode(query)}" if query else "")
    return found


def base_environment() -> dict:
    return {**django_child_environment(), "PROBE_EVENTDEBUG": json.dumps(PROBE_SETTINGS)}


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


def run_probes(env: dict) -> dict[str, dict]:
    with tempfile.NamedTemporaryFile("w", suffix=".log") as log:
        log.write(
            "2026-01-01 00:00:00,000 INFO channels_redis.core 1 of 4 channels over capacity in group g\n"
        )
        log.flush()
        probes = targets(log.name)
        result = subprocess.run(
            [sys.executable, "-m", "tests.support.fault_probe", *probes.values()],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=BOUND * len(probes),
        )
    assert result.returncode == 0, result.stderr[-3000:]
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    return {name: answer for name, answer in zip(probes, answers, strict=True)}


FAULTS = ["refused", "blackholed", "slow", "wrong credentials"]
MATRIX = [
    pytest.param(
        service,
        fault,
        marks=[pytest.mark.postgres_only(reason="a PostgreSQL of the run's own to break")]
        if service == "postgres"
        else [],
        id=f"{service}-{fault.replace(' ', '-')}",
    )
    for service in ("redis", "postgres")
    for fault in FAULTS
]


# Transactional: the probes' own processes commit (ingest writes), and the tables are emptied after.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("service", "fault"), MATRIX)
def test_a_sick_dependency_is_bounded_and_named(service, fault, stand_in_rebuilt):
    with sick(service, fault) as (sick_env, port):
        answers = run_probes({**base_environment(), **sick_env})
    problems = []
    for name, answer in answers.items():
        output, code = answer["output"], answer.get("exit", answer.get("status"))
        expect_ok = fault == "slow" or name not in NEEDS[service]
        # doctor's own contract: exit 1 when it finds a problem, which it names.
        allowed = {0, 200} if expect_ok else {0, 2, 200, 503} | ({1} if name == "doctor" else set())
        if code not in allowed or "Traceback" in output:
            shown = output[output.index("Traceback") :] if "Traceback" in output else output
            problems.append(f"{name}: {code} {shown[-400:]}")
        if answer["seconds"] > BOUND:
            problems.append(f"{name}: took {answer['seconds']:.1f} s")
        if not expect_ok and f"127.0.0.1:{port}" not in output:
            problems.append(f"{name}: does not name 127.0.0.1:{port}: {output[-500:]}")
        if SECRET in output:
            problems.append(f"{name}: shows the password")
    others = set().union(*SECTIONS.values()) - SECTIONS[service]
    for name in ("report", "check"):
        document = json.loads(answers[name]["output"].split("CommandError")[0])
        failed = set(document.get("errors", {}))
        # check's lines: "lag of job events: ...", "overflow: ...", "queues on redis ...: ...".
        first_words = {line.split(":")[0].split()[0] for line in document.get("unchecked", [])}
        failed |= {"channel_layer" if word in ("queues", "channel_layer") else word for word in first_words}
        if failed & others:
            problems.append(f"{name}: sections {sorted(failed & others)} fail for a {service} fault")
    metrics = answers["metrics"]["output"]
    failed = {section for section in others if f"# {section} unavailable:" in metrics}
    if failed:
        problems.append(f"metrics: sections {sorted(failed)} fail for a {service} fault")
    assert not problems, "\n".join(p[:400] for p in problems)
