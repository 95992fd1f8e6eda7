"""What a capturing process loses when it is stopped (docs/overflow.md, "Exit and fork"): what
it counted since its last write, at most one CAPTURE_FLUSH_INTERVAL, on SIGKILL and on a SIGTERM
it does not handle; nothing when it exits through the interpreter, as AWX's services do on
SIGTERM. Real processes, real signals, the run's own database."""

import signal
import subprocess
import sys

import pytest

from tests.support import ROOT
from tests.support.capture_helpers import drops_by_group
from tests.support.child_env import django_child_environment

pytestmark = pytest.mark.django_db(transaction=True)


def stopped(how: signal.Signals, *args: str) -> dict[str, int]:
    victim = subprocess.Popen(
        [sys.executable, "-m", "tests.support.capture_victim", *args],
        cwd=ROOT,
        env=django_child_environment(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert victim.stdout.readline().strip() == "ready"
        victim.send_signal(how)
        victim.wait(timeout=30)
    finally:
        victim.kill()
        victim.wait()
        victim.stdout.close()
    return drops_by_group()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM-unhandled"])
def test_a_killed_process_loses_what_it_counted_since_its_last_write(how):
    assert stopped(how) == {"flushed": 3}


def test_a_process_exiting_on_sigterm_writes_what_it_counted():
    assert stopped(signal.SIGTERM, "exit-on-sigterm") == {"flushed": 3, "pending": 2}
