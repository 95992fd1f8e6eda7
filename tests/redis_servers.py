"""Throwaway redis-server processes for tests that need a Redis of their own (a second shard, a
password, slowlog settings): started on a free port, stopped and their files removed after."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager

import redis


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def redis_server(*args: str):
    """A redis-server on 127.0.0.1:<port> without persistence; yields the port."""
    with redis_server_process(*args) as (port, _process):
        yield port


@contextmanager
def redis_server_process(*args: str):
    """Like redis_server, yielding (port, process) for tests that stop the server themselves."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="edtest-redis-")
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir]
    process = subprocess.Popen([*command, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until_listening(port, process)
        yield port, process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_until_listening(port: int, process: subprocess.Popen) -> None:
    client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return
        except redis.AuthenticationError:
            return  # listening, and asking for the password it was started with
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {port} did not start") from None
            time.sleep(0.05)
        finally:
            client.close()


@contextmanager
def sentinel_for(master_port: int, master_name: str = "edtest"):
    """A redis-sentinel watching the redis-server on ``master_port``; yields its port."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="edtest-sentinel-")
    config = f"{workdir}/sentinel.conf"
    with open(config, "w") as file:
        file.write(f"port {port}\nbind 127.0.0.1\nsentinel monitor {master_name} 127.0.0.1 {master_port} 1\n")
    process = subprocess.Popen(
        ["redis-server", config, "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_until_listening(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
