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

from tests.support.server_process import free_port

START_ATTEMPTS = 5  # a port found free can be taken by another process before the server binds it
START_TIMEOUT = 30  # seconds; generous for a loaded machine


@contextmanager
def closed_port():
    """A port on 127.0.0.1 that refuses connections for as long as the block runs: bound by us,
    never listening, so no other process can start a server on it meanwhile."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


@contextmanager
def redis_server(*args: str):
    """A redis-server on 127.0.0.1:<port> without persistence; yields the port."""
    with redis_server_process(*args) as (port, _process):
        yield port


@contextmanager
def redis_server_process(*args: str):
    """Like redis_server, yielding (port, process) for tests that stop the server themselves."""
    workdir = tempfile.mkdtemp(prefix="edtest-redis-")
    try:
        with _started(lambda port: _server_command(port, workdir, args), _password(args)) as started:
            yield started
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def sentinel_for(master_port: int, master_name: str = "edtest"):
    """A redis-sentinel watching the redis-server on ``master_port``; yields its port."""
    workdir = tempfile.mkdtemp(prefix="edtest-sentinel-")

    def command(port):
        config = f"{workdir}/sentinel-{port}.conf"
        with open(config, "w") as file:
            file.write(
                f"port {port}\nbind 127.0.0.1\nsentinel monitor {master_name} 127.0.0.1 {master_port} 1\n"
            )
        return ["redis-server", config, "--sentinel"]

    try:
        with _started(command, None) as (port, _process):
            yield port
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _server_command(port: int, workdir: str, args: tuple[str, ...]) -> list[str]:
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir, *args]


def _password(args: tuple[str, ...]) -> str | None:
    return args[args.index("--requirepass") + 1] if "--requirepass" in args else None


@contextmanager
def _started(command, password: str | None):
    """Start ``command(port)`` on a free port, again on another one when the server exits
    because the port was taken meanwhile; yields (port, process) once it answers as itself."""
    for _attempt in range(START_ATTEMPTS):
        port = free_port()
        process = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if _wait_until_ours(port, process, password):
                yield port, process
                return
        finally:
            if process.poll() is None:
                process.terminate()
            process.wait(timeout=10)
    raise RuntimeError(f"redis-server did not start in {START_ATTEMPTS} attempts: {command('<port>')}")


def _wait_until_ours(port: int, process: subprocess.Popen, password: str | None) -> bool:
    """True once the server on ``port`` is the one we started (INFO's process_id is our child's);
    False when our process exited (it could not bind the port)."""
    client = redis.Redis(port=port, password=password, socket_timeout=5, socket_connect_timeout=5)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while process.poll() is None:
            try:
                if client.info("server")["process_id"] == process.pid:
                    return True
            except redis.ConnectionError:
                pass  # not listening yet
            except redis.ResponseError:
                pass  # another server took the port: ours exits when it fails to bind
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {port} did not answer in {START_TIMEOUT} s")
            time.sleep(0.05)
        return False
    finally:
        client.close()
