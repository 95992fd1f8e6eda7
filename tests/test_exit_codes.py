"""One exit-code contract for every subcommand (docs/cli.md), by sweep: a usage error exits 2,
an unreachable Redis exits 2 (doctor: 1, a problem it reports) or 0 where Redis is not read, and
a verdict or a refusal is one line on stderr naming the subcommand, never Django's
"CommandError: ..." that reads as a crash."""

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from awx_eventdebug.cli import SUBCOMMANDS
from tests.health.test_report import dead_redis, recent_job
from tests.support import ROOT
from tests.support.child_env import django_child_environment

pytestmark = pytest.mark.django_db

# What each subcommand needs to run at all, and its exit with Redis unreachable.
ARGUMENTS = {
    "ingest": (),  # a log file of the test's
    "watch": ("--count", "1"),
    "listen": ("--group", "job_events-1", "--duration", "0.2"),
}
REDIS_DOWN = {
    "doctor": 1,  # a problem it found and reports
    "lag": 0,
    "overflow": 0,
    "ingest": 0,
    "purge": 0,
    "groups": 2,
    "queues": 2,
    "watch": 2,
    "listen": 2,
    "cleanup": 2,
    "report": 2,
    "check": 2,
    "path": 0,  # the hops it could not read are "unknown" in its document
    "sample": 0,  # the snapshot it writes records the failed reads
}


def exit_code(name, *args):
    try:
        call_command("eventdebug", name, *args, stdout=StringIO(), stderr=StringIO())
    except CommandError as exc:
        return exc.returncode
    return 0


def test_every_subcommand_is_in_the_contract():
    assert {subcommand.name for subcommand in SUBCOMMANDS} == set(REDIS_DOWN)


def test_an_unreachable_redis_exits_as_the_contract_says(settings, tmp_path):
    (tmp_path / "daphne.log").write_text("")
    ARGUMENTS["ingest"] = (str(tmp_path / "daphne.log"),)
    dead_redis(settings)
    settings.BROKER_URL = "redis://127.0.0.1:1/0"
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": 1, "SAMPLE_INTERVAL": 10}
    found = {name: exit_code(name, *ARGUMENTS.get(name, ())) for name in REDIS_DOWN}
    assert found == REDIS_DOWN


def manage(*args):
    command = [sys.executable, str(ROOT / "example_settings" / "manage.py"), "eventdebug", *args]
    env = django_child_environment()
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.django_db(transaction=True)
def test_usage_errors_and_verdicts_are_one_line_naming_the_subcommand(stand_in_rebuilt):
    for subcommand in SUBCOMMANDS:
        done = manage(subcommand.name, "--no-such-option")
        # argparse's usage and one "error:" line (--no-such-option, or a required argument).
        assert done.returncode == 2 and done.stderr.splitlines()[-1].startswith("manage.py eventdebug")
        assert ": error: " in done.stderr.splitlines()[-1] and "Traceback" not in done.stderr
    recent_job([0.5, 30.0])
    done = manage("check", "--since", "1h", "--max-p99", "5")
    assert done.returncode == 1 and done.stderr == "eventdebug check: 1 check failed\n", done.stderr
    done = manage("lag", "--since", "yesterday-ish")
    assert done.returncode == 2 and done.stderr.startswith("eventdebug lag: --since: "), done.stderr
    assert "CommandError" not in done.stderr
