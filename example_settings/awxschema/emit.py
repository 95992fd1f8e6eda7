"""Job event websocket messages exactly as AWX sends them through the channel layer.

AWX's callback receiver calls ``emit_event_detail(event)`` after saving a batch, which builds the
payload below and hands it to ``consumers.emit_channel_notification(group, payload)``: one
``group_send`` of ``{"type": "internal.message", "text": json.dumps(payload)}`` to the job's group
(``job_events-<id>``), with ``"needs_relay": True`` since AWX 22 (wsrelay). This stand-in sends
the same messages from outside AWX, so that ``eventdebug listen`` can be demonstrated, tested and
benchmarked against a real channels_redis layer.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Iterable
from datetime import datetime

from awx_eventdebug.awx.tables import KINDS
from awx_eventdebug.timeutil import utc_from_epoch

_EVENTS_WITH_URL = {"job": "job_events", "ad_hoc_command": "ad_hoc_command_events"}


def event_payload(kind: str, job_id: int, counter: int, created: datetime) -> dict:
    """The dict emit_event_detail builds for one event (keys and order as AWX's)."""
    timestamp = created.isoformat()
    url = f"/api/v2/{_EVENTS_WITH_URL[kind]}/{counter}" if kind in _EVENTS_WITH_URL else ""
    return {
        "id": counter,
        kind: job_id,
        "created": timestamp,
        "modified": timestamp,
        "group_name": KINDS[kind].group_prefix,
        "url": url,
        "stdout": f"ok: [host{counter % 50}]",
        "counter": counter,
        "uuid": f"00000000-0000-4000-8000-{counter:012d}",
        "parent_uuid": "",
        "start_line": counter,
        "end_line": counter + 1,
        "event": "runner_on_ok",
        "event_data": {"host": f"host{counter % 50}", "task": "ping", "res": {"changed": False}},
        "failed": False,
        "changed": False,
        "event_level": 3,
        "play": "stand-in",
        "role": "",
        "task": "ping",
    }


def layer_message(payload: dict, needs_relay: bool = True) -> dict:
    """emit_channel_notification's group_send message for ``payload``."""
    message = {"type": "internal.message", "text": json.dumps(payload)}
    if needs_relay:
        message["needs_relay"] = True
    return message


async def emit_events(
    layer,
    kind: str,
    job_id: int,
    counters: Iterable[int],
    *,
    lag: float = 0.0,
    lag_spread: float = 0.0,
    rng: random.Random | None = None,
    rate: float | None = None,
    concurrency: int = 1,
) -> int:
    """group_send one event per counter to the job's group; the number sent.

    Each event's ``created`` is ``lag`` seconds before the moment its message is built, so a
    listener sees a lag of ``lag`` plus the time the message spends on the way. With
    ``lag_spread`` > 0 each event's lag is drawn from a lognormal distribution of median ``lag``
    and that sigma instead: mostly near the median with a tail, as real lag is. ``rate`` paces
    the sending (events per second); ``concurrency`` > 1 keeps that many group_sends in flight,
    which a single sender needs to offer thousands of messages per second.
    """
    group = KINDS[kind].group_name(job_id)
    rng = rng or random.Random()
    pending = enumerate(counters)  # shared by the senders: each takes the next counter
    started = time.monotonic()
    sent = 0

    async def sender() -> None:
        nonlocal sent
        for index, counter in pending:
            if rate:
                delay = started + index / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            event_lag = lag * rng.lognormvariate(0, lag_spread) if lag_spread else lag
            created = utc_from_epoch(time.time() - event_lag)
            await layer.group_send(group, layer_message(event_payload(kind, job_id, counter, created)))
            sent += 1

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return sent
