"""A live ASGI server for the browser tests: daphne (which channels 3 brings, and which is a test
requirement for channels 4) serving example_settings.asgi in a subprocess, on the test database
and the test's own Redis key prefix.

A subprocess rather than channels' ChannelsLiveServerTestCase: the latter starts its server per
test in channels 3 but per class in channels 4 (before any per-test Redis prefix exists), and its
DaphneProcess takes an application in daphne 3 but a factory in daphne 4.
"""

import os
import re
import subprocess
import sys
import time

from tests.support import ROOT

ARTIFACTS = ROOT / "artifacts"  # gitignored: screenshots and server logs of the browser tests
COMMAND = ("-m", "daphne", "-b", "127.0.0.1", "-p", "0", "example_settings.asgi:application")
LISTENING = re.compile(r"Listening on TCP address 127\.0\.0\.1:(\d+)")


class LiveServer:
    def __init__(self, database_name: str, redis_prefix: str, log_name: str, environment: dict | None = None):
        """``environment`` adds to or overrides the server's (another DJANGO_SETTINGS_MODULE)."""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.support.live_settings",
            "EVENTDEBUG_LIVE_DATABASE": database_name,
            "EVENTDEBUG_LIVE_REDIS_PREFIX": redis_prefix,
            "PYTHONPATH": str(ROOT),
            **(environment or {}),
        }
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / log_name
        self.log = open(self.log_path, "w")  # closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, *COMMAND],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.port = self._wait_for_port(timeout=30)
        self.url = f"http://127.0.0.1:{self.port}"

    def _wait_for_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = LISTENING.search(self.log_path.read_text())
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        log = self.log_path.read_text()
        raise RuntimeError(f"daphne did not start listening within {timeout} s:\n{log}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
