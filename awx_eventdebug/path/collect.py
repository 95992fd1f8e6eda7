"""What one snapshot of this node holds, read at a bounded cost: one pipelined round trip to the
node's Redis (LLEN and LINDEX 0 of the callback queue, GET of wsrelay's stats key), the channel
layer's queues (the budgeted read of ``eventdebug queues``) at the same time, and AWX's
instance table for the node's role and its peers' names.
"""

from __future__ import annotations

import concurrent.futures

import redis

from ..channels.queues import inspect_queues
from ..channels.redis_read import describe_redis_error, is_reply, unreachable_message
from ..conf import get_config
from ..errors import first_line
from ..sections import attempt, section
from .backlog import backlog_figures
from .node import broker_client, broker_label, callback_queue, instances
from .relay import STATS_KEY, relay_figures

# The fullest queues a snapshot keeps (the summary counts all of them).
TOP_QUEUES = 5
QUEUE_FIGURES = ("key", "depth", "capacity", "fill", "oldest_age")


def collect(node: str, now: float) -> dict:
    """This node's hops 3, 6 and 7 as read at ``now``."""
    errors: dict[str, str] = {}
    known = section(instances, errors, "instances") or {}
    doc = {"node": node, "role": known.get(node), "queue": callback_queue(), "errors": errors}
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # The layer's Redis is often the node's own: both reads wait at most REDIS_TIMEOUT, together.
        layer = pool.submit(attempt, layer_summary)
        doc.update(read_broker(doc["queue"], now, sorted(set(known) - {node}), doc["role"]))
        summary, error = layer.result()
    doc["layer"] = summary or {"error": error}
    return doc


def read_broker(queue: str, now: float, peers: list[str], role: str | None) -> dict:
    """Backlog and relay figures from one pipelined round trip to BROKER_URL."""
    timeout = get_config()["REDIS_TIMEOUT"]
    try:
        label = broker_label()
        client = broker_client(timeout)
    except Exception as exc:  # Misconfigured, or a URL redis-py cannot read
        failed = {"error": str(exc)}
        return {"broker": None, "backlog": failed, "relay": failed}
    try:
        pipe = client.pipeline(transaction=False)
        pipe.llen(queue).lindex(queue, 0).get(STATS_KEY)
        length, head, stats = pipe.execute(raise_on_error=False)
    except (redis.RedisError, OSError) as exc:
        failed = {"error": unreachable_message(label, describe_redis_error(exc))}
        return {"broker": label, "backlog": failed, "relay": failed}
    finally:
        client.close()
    if is_reply(length) and is_reply(head):
        backlog = {**backlog_figures(length, head, now), "error": ""}
    else:
        backlog = {"error": f"{queue} on redis {label} is not a list: {first_line(length)}"}
    if is_reply(stats):
        relay = relay_figures(stats, peers, role)
    else:
        relay = {"error": f"{STATS_KEY} on redis {label}: {first_line(stats)}"}
    return {"broker": label, "backlog": backlog, "relay": relay}


def layer_summary() -> dict:
    """The channel layer's queue counts and its fullest queues."""
    doc = inspect_queues(limit=TOP_QUEUES)
    return {
        "error": "",
        "note": doc["note"],
        "summary": doc["summary"],
        "queues": [{key: queue[key] for key in QUEUE_FIGURES} for queue in doc["queues"]],
        "unreachable": [s["error"] for s in doc["shards"] if not s["ok"]],
        "truncated": doc["truncated"],
    }
