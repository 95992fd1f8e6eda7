"""A Redis server of a test's own, on a free port, for tests that stop Redis or shard a layer."""

import contextlib
import socket
import subprocess
import time

import redis


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def private_redis(directory):
    """Start redis-server (no persistence, files in ``directory``); yield (port, server process)."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the test's redis-server did not start") from None
                time.sleep(0.05)
        client.close()
        yield port, server
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(10)
