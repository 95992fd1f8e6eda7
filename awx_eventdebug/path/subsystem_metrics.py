"""AWX's own metrics of its callback receiver, as its workers keep them in the node's Redis.

Each worker adds its counts every SUBSYSTEM_METRICS_INTERVAL_SAVE_TO_REDIS seconds (default 2) to
the fields of one hash, SUBSYSTEM_METRICS_REDIS_KEY_PREFIX (default ``awx_metrics``), at
BROKER_URL: HINCRBY and HINCRBYFLOAT of deltas, so each field is the node's total since the hash
was created, across the receiver's restarts (AWX resets the dispatcher's metrics when the dispatcher
starts, awx/main/tasks/system.py, never the callback receiver's), except the fields a worker SETs.
A histogram is a field per bucket plus ``_sum`` and ``_inf`` (the count). Same fields, format and
defaults on AWX 24.6.1 and devel (awx/main/analytics/subsystem_metrics.py,
awx/main/dispatch/worker/callback.py).

A hop reads its fields with one HMGET of known names, never the hash whole; rates come from the
previous snapshot's values.
"""

from __future__ import annotations

from django.conf import settings

from ..channels.redis_read import is_reply
from ..errors import first_line

# AWX's default (awx/settings/defaults.py) when the settings do not say.
DEFAULT_KEY = "awx_metrics"
# Largest value read from a field: a bigger one is not AWX's counter.
MAX_VALUE = 2**63

# The fields the hops read, as AWX's CallbackReceiverMetrics names them.
POPPED = "callback_receiver_events_popped_redis"
IN_MEMORY = "callback_receiver_events_in_memory"
INSERTED = "callback_receiver_events_insert_db"
INSERT_SECONDS = "callback_receiver_events_insert_db_seconds"
PROCESSING = "callback_receiver_event_processing_avg_seconds"  # SET: the last batch's average
BATCH_ERRORS = "callback_receiver_batch_events_errors"
BATCHED = "callback_receiver_batch_events_insert_db_sum"  # the histogram's sum: events batched
BATCHES = "callback_receiver_batch_events_insert_db_inf"  # its count: batches inserted


def metrics_key() -> str:
    """The hash AWX's callback receiver writes its metrics to."""
    return getattr(settings, "SUBSYSTEM_METRICS_REDIS_KEY_PREFIX", None) or DEFAULT_KEY


def hmget(pipe, names: tuple[str, ...]) -> None:
    """Queue the read of ``names`` on the sampler's pipeline: one HMGET of known fields."""
    pipe.hmget(metrics_key(), names)


def parse_fields(names: tuple[str, ...], replies: list, broker: str) -> dict[str, float | None] | str:
    """HMGET's reply as numbers by field name (None for a field not there), or why it is not AWX's
    metrics hash. ValueError for a value that is not AWX's number."""
    (reply,) = replies
    if not is_reply(reply):
        return f"{metrics_key()} on redis {broker} is not AWX's metrics hash: {first_line(reply)}"
    values = {}
    for name, raw in zip(names, reply, strict=True):
        value = None if raw is None else float(raw)
        if value is not None and not abs(value) < MAX_VALUE:
            raise ValueError(f"{name} is {raw!r}: not a counter")
        values[name] = value
    return values


def change(name: str, current: dict, previous: dict | None, seconds: float | None) -> float | None:
    """How much the field ``name`` changed since the previous snapshot, ``seconds`` before
    (negative when it fell); None when there is no previous reading."""
    before = ((previous or {}).get("counters") or {}).get(name)
    now = current.get(name)
    if before is None or now is None or not seconds:
        return None
    return now - before


def since_previous(name: str, current: dict, previous: dict | None, seconds: float | None) -> float | None:
    """How much the counter ``name`` grew since the previous snapshot, ``seconds`` before; None
    when there is no previous reading or the counter went down (its hash was deleted: Redis lost
    it, or someone deleted the key)."""
    grown = change(name, current, previous, seconds)
    return None if grown is None or grown < 0 else grown


def absent_note() -> str:
    return f"no {metrics_key()} hash: no AWX callback receiver saved its metrics in this Redis"
