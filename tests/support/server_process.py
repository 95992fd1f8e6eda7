"""A server the tests start as a subprocess (daphne, Prometheus): its output in a log file, a
bounded wait until it answers, and stop(); and free ports for any server a test starts."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

Ready = TypeVar("Ready")


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 (each held until all are found)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]


def free_port() -> int:
    return free_ports(1)[0]


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
