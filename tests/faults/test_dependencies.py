"""Every dependency fault is bounded in time and named for what it is.

{Redis, PostgreSQL} x {refused, blackholed, slow, wrong credentials} x every subcommand and every
endpoint, each run in a fresh process (tests/support/fault_probe.py) pointed at the sick target:
no traceback, an exit code of 0 or 2 (HTTP 200 or 503; doctor: 1, "problem found"), done within
BOUND seconds, the target named (127.0.0.1:<its port>) by everything that needs it, no password
shown, and a section of the report or check failing only for its own dependency.
"""

from __future__ import annotations

import json
import re

import pytest

from awx_eventdebug.cli import SUBCOMMANDS
from tests.support.fault_sweep import (
    BOUND,
    COMMANDS,
    SECRET,
    base_environment,
    every_target,
    run_probes,
    sick,
)

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
    with sick(service, fault) as (sick_env, port), every_target() as probes:
        answers = run_probes({**base_environment(), **sick_env}, probes)
    problems = []
    for name, answer in answers.items():
        output, code = answer["output"], answer.get("exit", answer.get("status"))
        expect_ok = fault == "slow" or name not in NEEDS[service]
        # doctor's own contract: exit 1 when it finds a problem, which it names.
        # check: idle (3) when the window holds no event (docs/cli.md).
        allowed = {0, 200} if expect_ok else {0, 2, 200, 503} | ({1} if name == "doctor" else set())
        allowed |= {3} if name == "check" else set()
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
        document = json.loads(re.split(r"\n(?:CommandError: |eventdebug )", answers[name]["output"])[0])
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
