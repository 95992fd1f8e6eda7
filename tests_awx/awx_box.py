"""The running AWX the tests talk to, as scripts/awx-tier/box.sh started it: `awx-manage`,
AWX's API on uwsgi (with the app, and a second one without it), and daphne's /websocket/."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import requests
import websocket
from django.core.management import CommandError, call_command

BOX = Path(os.environ["AWX_TIER_BOX"])
WEB_URL = os.environ["AWX_TIER_WEB_URL"]
BARE_URL = os.environ["AWX_TIER_BARE_URL"]  # the same AWX, without the app in its conf.d
WS_URL = os.environ["AWX_TIER_WS_URL"]
VENV = Path(os.environ["AWX_TIER_VENV"])
WHEEL = Path(os.environ["AWX_TIER_WHEEL"])
LOG_DIR = BOX / "log"
PREFIX = "/api/eventdebug/"


def awx_manage(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`awx-manage ARGS`, as an admin runs it on an AWX node."""
    return subprocess.run(["awx-manage", *args], capture_output=True, text=True, timeout=timeout)


def eventdebug(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return awx_manage("eventdebug", *args, timeout=timeout)


def eventdebug_json(*args: str) -> dict:
    """`eventdebug ARGS --json`'s document, run in this process: an AWX process as awx-manage's,
    without the seconds AWX takes to start one. Exit codes and messages are tested through
    ``eventdebug``."""
    out = io.StringIO()
    call_command("eventdebug", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def check(*args: str) -> dict:
    """`eventdebug check ARGS --json`'s document, run in this process (exit 1 is a CommandError
    after the document is written)."""
    out = io.StringIO()
    try:
        call_command("eventdebug", "check", *args, "--json", stdout=out)
    except CommandError:
        pass
    return json.loads(out.getvalue())


def causes_named(*args: str) -> dict[str, dict]:
    """The causes `check --json` names, by title."""
    return {found["cause"]: found for found in check(*args)["causes"]}


def get(path: str, user: tuple[str, str] | None = None, base: str = WEB_URL, **headers) -> requests.Response:
    """GET as a client of AWX's API: basic auth with ``user``, or anonymous; redirects not followed."""
    return requests.get(base + path, auth=user, headers=headers, allow_redirects=False, timeout=60)


class UiSession:
    """What AWX's UI (and the app's dashboard) does: a session login at /api/login/, then
    daphne's /websocket/ with the session cookies, subscribing with the csrftoken cookie as
    ``xrftoken``."""

    def __init__(self, username: str, password: str):
        self.cookies: dict[str, str] = {}
        self.socket = None
        self.request("GET", "/api/login/")
        answer = self.request(
            "POST",
            "/api/login/",
            data={
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
                "username": username,
                "password": password,
                "next": "/api/",
            },
            headers={"Referer": f"{WEB_URL}/api/login/"},
        )
        assert answer.status_code == 302, f"AWX's login answered {answer.status_code}"

    def request(self, method: str, path: str, headers: dict | None = None, **kwargs) -> requests.Response:
        """One request with the session's cookies. They are sent by hand: AWX marks them Secure (it
        runs behind TLS), and a browser sends them to http://127.0.0.1 (localhost counts as a secure
        context) but requests does not. One connection per request: uwsgi's http-socket closes it."""
        headers = {"Connection": "close", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        response = requests.request(
            method, WEB_URL + path, headers=headers, allow_redirects=False, timeout=60, **kwargs
        )
        self.cookies.update(response.cookies.items())
        return response

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def connect(self) -> dict:
        """Opens /websocket/; AWX's first message (``accept`` or ``close``)."""
        self.socket = websocket.create_connection(
            f"{WS_URL}/websocket/", cookie=self.cookie_header(), timeout=10
        )
        return json.loads(self.socket.recv())

    def send(self, message: dict) -> dict:
        """Sends ``message``; AWX's answer to it (the next message that is not an event)."""
        self.socket.send(json.dumps(message))
        while True:
            answer = json.loads(self.socket.recv())
            if "group_name" not in answer:
                return answer

    def subscribe(self, groups: dict, token_cookie: str = "csrftoken") -> dict:
        return self.send({"groups": groups, "xrftoken": self.cookies[token_cookie]})

    def messages(self, quiet: float, limit: float) -> list[dict]:
        """Every message received until none came for ``quiet`` seconds (at most ``limit``)."""
        self.socket.settimeout(quiet)
        received, deadline = [], time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                received.append(json.loads(self.socket.recv()))
            except websocket.WebSocketTimeoutException:
                break
        return received

    def close(self):
        if self.socket is not None:
            self.socket.close()


class Listener:
    """`awx-manage eventdebug listen --job N --json` running beside the test, as an admin runs it:
    started, joined to the job's group (its "Listening on" line), stopped with SIGTERM."""

    def __init__(self, job_id: int):
        self.process = subprocess.Popen(
            ["awx-manage", "eventdebug", "listen", "--job", str(job_id), "--json", "--duration", "300"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Both read in threads: stderr's lines are awaited with a timeout, and neither pipe fills
        # (a full pipe would stall the probe: its update lines come every second).
        self.stderr: queue.Queue[str] = queue.Queue()
        self.lines: list[str] = []
        self.last_line = ""
        self.readers = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for reader in self.readers:
            reader.start()
        self.wait_for_line("Listening on", timeout=60)

    def _read_stderr(self):
        for line in self.process.stderr:
            self.stderr.put(line)
        self.stderr.put("")

    def _read_stdout(self):
        for line in self.process.stdout:
            if line.strip():
                self.last_line = line

    def wait_for_line(self, start: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.stderr.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                lines = "".join(self.lines)
                raise AssertionError(f"no {start!r} line from listen in {timeout} s: {lines}") from None
            assert line, f"listen ended before a {start!r} line: {''.join(self.lines)}"
            self.lines.append(line)
            if line.startswith(start):
                return line

    def stop(self) -> dict:
        """SIGTERM; the summary (the last JSON line)."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.readers[1].join(timeout=10)
        assert self.process.returncode == 0, "".join(self.lines)
        summary = json.loads(self.last_line)
        assert summary["type"] == "summary" and summary["stopped"] == "terminated", summary
        return summary

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
