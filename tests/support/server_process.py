"""A server the tests start as a subprocess (daphne, Prometheus): its output in a log file, a
bounded wait until it answers, and stop()."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

Ready = TypeVar("Ready")


class ServerProcess:
    def __init__(self, command: list[str], log_path: Path, **popen):
        self.log_path = log_path
        self.log = open(log_path, "w")  # closed in stop()
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, **popen)

    def wait_until(self, ready: Callable[[], Ready | None], timeout: float, what: str) -> Ready:
        """``ready()``'s first answer that is not None, asked every 0.1 s until the deadline; the
        server stopped and the test failed with its log when it exits or the deadline passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            answer = ready()
            if answer is not None:
                return answer
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"{what} within {timeout} s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
