"""AWX's side of hops 3 and 6 for the path tests: events RPUSHed as CallbackQueueDispatcher
does (awx/main/queue.py), wsrelay's stats key written as RelayWebsocketStats does
(awx/main/analytics/broadcast_websocket.py), and a Redis that never answers."""

from __future__ import annotations

import json
import re
import socket
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, generate_latest

CALLBACK_QUEUE = "callback_tasks"
STATS_KEY = "broadcast_websocket_stats"


def awx_event(created: datetime, counter: int = 1, job_id: int = 14) -> dict:
    """One runner_on_ok event as the callback receiver pops it (trimmed of nothing it reads)."""
    event_uuid = str(uuid.uuid4())
    return {
        "uuid": event_uuid,
        "counter": counter,
        "stdout": '\u001b[0;32mh2 | SUCCESS => {\u001b[0m\r\n\u001b[0;32m    "ping": "pong"\u001b[0m',
        "start_line": counter * 4,
        "end_line": counter * 4 + 4,
        "runner_ident": str(job_id),
        "event": "runner_on_ok",
        "job_id": job_id,
        "pid": 19777,
        "created": created.isoformat(),
        "event_data": {
            "playbook": "ping.yml",
            "task": "ping",
            "task_action": "ping",
            "host": "h2",
            "res": {"ping": "pong", "changed": False},
            "duration": 0.44627,
            "uuid": event_uuid,
        },
        "job_created": "2026-11-30 03:51:21.498070+00:00",
        "host_name": "h2",
        "host_id": 2,
    }


def dispatch(client, events) -> None:
    """RPUSH each event's JSON onto the callback queue, one command per event as AWX does."""
    for event in events:
        client.rpush(CALLBACK_QUEUE, json.dumps(event))


def backlog_events(count: int, oldest_age: float, now: datetime | None = None) -> list[dict]:
    """``count`` events created evenly from ``oldest_age`` seconds ago to now."""
    now = now or datetime.now(UTC)
    step = oldest_age / max(1, count - 1)
    return [awx_event(now - timedelta(seconds=oldest_age - i * step), counter=i + 1) for i in range(count)]


def safe_name(hostname: str) -> str:
    return re.sub("[^0-9a-zA-Z]+", "_", hostname)


def wsrelay_stats(local: str, remotes: dict[str, tuple[bool, int]]) -> str:
    """The text wsrelay SETs: one registry per remote host, concatenated; ``remotes`` maps a
    hostname to (connected, messages received on the connection)."""
    text = []
    for remote, (connected, messages) in remotes.items():
        registry = CollectorRegistry()
        name = safe_name(remote)
        total = Counter(
            f"awx_{name}_messages_received_total",
            "Number of messages received, to be forwarded, by the broadcast websocket system",
            registry=registry,
        )
        current = Gauge(
            f"awx_{name}_messages_received_currrent_conn",
            "Number forwarded messages received by the broadcast websocket system, for the duration of the "
            "current connection",
            registry=registry,
        )
        connection = Enum(
            f"awx_{name}_connection",
            "Websocket broadcast connection",
            states=["disconnected", "connected"],
            registry=registry,
        )
        connection.state("disconnected")
        start = Gauge(
            f"awx_{name}_connection_start", "Time the connection was established", registry=registry
        )
        per_minute = Gauge(
            f"awx_{name}_messages_received_per_minute", "Messages received per minute", registry=registry
        )
        if connected:
            connection.state("connected")
            start.set_to_current_time()
        total.inc(messages)
        current.inc(messages)
        per_minute.set(messages)
        text.append(generate_latest(registry).decode("UTF-8"))
    return "".join(text)


@contextmanager
def blackhole():
    """A port on 127.0.0.1 that accepts connections (the kernel completes them) and never
    answers: a hung Redis."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]
