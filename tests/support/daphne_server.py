"""A live ASGI server for the browser tests: daphne (which channels 3 brings, and which is a test
requirement for channels 4) serving example_settings.asgi in a subprocess, on the test database
and the test's own Redis key prefix.

A subprocess rather than channels' ChannelsLiveServerTestCase: the latter starts its server per
test in channels 3 but per class in channels 4 (before any per-test Redis prefix exists), and its
DaphneProcess takes an application in daphne 3 but a factory in daphne 4.
"""

import os
import re
import sys

from tests.support import ROOT
from tests.support.server_process import ServerProcess

ARTIFACTS = ROOT / "artifacts"  # gitignored: screenshots and server logs of the browser tests
COMMAND = ("-m", "daphne", "-b", "127.0.0.1", "-p", "0", "example_settings.asgi:application")
LISTENING = re.compile(r"Listening on TCP address 127\.0\.0\.1:(\d+)")


class LiveServer(ServerProcess):
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
        super().__init__([sys.executable, *COMMAND], ARTIFACTS / log_name, cwd=ROOT, env=env)
        self.port = self.wait_until(self._port, timeout=30, what="daphne did not start listening")
        self.url = f"http://127.0.0.1:{self.port}"

    def _port(self) -> int | None:
        found = LISTENING.search(self.log_path.read_text())
        return int(found.group(1)) if found else None
