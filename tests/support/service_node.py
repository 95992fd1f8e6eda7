"""One long-running process of a simulated AWX node (tests/path/test_cluster.py,
tests/maintenance/): Django set up with tests.support.node_settings, so the app's ready() starts
what it starts in an AWX service; it prints the names of the process's threads, then a heartbeat,
the process's other work, until it is killed."""

import json
import os
import subprocess
import sys
import threading
import time

import django

from tests.support import ROOT


def database_env() -> dict:
    """The test database, for processes of their own."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return {"EVENTDEBUG_DATABASE": "postgres", "PGDATABASE": connection.settings_dict["NAME"]}
    return {"EVENTDEBUG_DATABASE": "sqlite", "EVENTDEBUG_SQLITE_PATH": connection.settings_dict["NAME"]}


def start_node(
    node: str, redis_port: int, sample_interval: float, stdout=subprocess.DEVNULL, **environment: str
) -> subprocess.Popen:
    """Start one process of ``node`` on the test database, with its Redis on ``redis_port``;
    ``environment`` adds node_settings' other variables (NODE_CAPTURE, NODE_MAINTENANCE)."""
    env = {
        **os.environ,
        **database_env(),
        "DJANGO_SETTINGS_MODULE": "tests.support.node_settings",
        "NODE_ID": node,
        "NODE_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "NODE_SAMPLE_INTERVAL": str(sample_interval),
        **environment,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.service_node"],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, timeout: float, what: str):
    """``condition()``'s first true result, asked every 0.2 s; the test fails after ``timeout``
    seconds without one."""
    import pytest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def main():
    django.setup()
    print("threads " + json.dumps(sorted(thread.name for thread in threading.enumerate())), flush=True)
    beats = 0
    while True:
        beats += 1
        print(f"beat {beats}", flush=True)
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
