"""TCP endpoints on 127.0.0.1 that misbehave as a sick dependency does: one that accepts
connections and never answers, and a proxy that forwards to a real server but slowly."""

from __future__ import annotations

import select
import socket
import threading
import time
from contextlib import contextmanager


@contextmanager
def blackhole():
    """A port whose connections the kernel accepts (listen backlog) but nothing ever reads or
    answers; yields the port."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(128)
        yield server.getsockname()[1]


@contextmanager
def slow_proxy(target_port: int, delay: float):
    """A port forwarding to 127.0.0.1:``target_port``, each answer held back ``delay`` seconds;
    yields the port. Stops its threads on exit."""
    stop = threading.Event()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    server.settimeout(0.2)

    def pipe(client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", target_port), timeout=5) as upstream:
            while not stop.is_set():
                ready, _, _ = select.select([client, upstream], [], [], 0.2)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is upstream:
                        time.sleep(delay)
                        client.sendall(data)
                    else:
                        upstream.sendall(data)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=pipe, args=(client,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        acceptor.join()
        server.close()
