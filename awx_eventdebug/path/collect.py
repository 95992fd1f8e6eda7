"""What one snapshot of this node holds, read at a bounded cost: each hop's share of one
pipelined round trip to the node's Redis (BROKER_URL: the callback queue's LLEN and LINDEX 0,
wsrelay's stats key), the reads of their own (the channel layer's queues, the budgeted read of
``eventdebug queues``) at the same time, and AWX's instance table for the node's role and its
peers' names.
"""

from __future__ import annotations

import concurrent.futures

import redis

from ..channels.redis_read import describe_redis_error, unreachable_message
from ..conf import get_config
from ..errors import first_line
from ..sections import attempt, section
from .hop import Hop, NodeContext
from .node import broker_client, broker_label, callback_queue, instances
from .registry import hops


def collect(
    node: str, now: float, previous: dict | None = None, previous_seconds: float | None = None
) -> dict:
    """This node's hops as read at ``now``; ``previous`` is the data of its previous snapshot
    when that one is recent (rates are taken against it), taken ``previous_seconds`` before."""
    errors: dict[str, str] = {}
    known = section(instances, errors, "instances") or {}
    role = known.get(node)
    peers = sorted(set(known) - {node})
    doc = {"node": node, "role": role, "queue": callback_queue(), "errors": errors}
    contexts = {
        hop.key: NodeContext(node, role, peers, now, (previous or {}).get(hop.snapshot_key), previous_seconds)
        for hop in hops()
        if hop.snapshot_key
    }
    piped = [hop for hop in hops() if hop.snapshot_key and not hop.reads_own]
    own = [hop for hop in hops() if hop.snapshot_key and hop.reads_own]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(own))) as pool:
        # A read of its own often goes to the node's own Redis too: all wait at most REDIS_TIMEOUT, together.
        pending = {hop: pool.submit(attempt, lambda hop=hop: hop.read_node(contexts[hop.key])) for hop in own}
        broker, figures = read_broker(piped, contexts)
        doc["broker"] = broker
        doc.update(figures)
        for hop, future in pending.items():
            read, error = future.result()
            doc[hop.snapshot_key] = read or {"error": error}
    return doc


def read_broker(piped: list[Hop], contexts: dict[str, NodeContext]) -> tuple[str | None, dict]:
    """The label of BROKER_URL and each hop's figures, from one pipelined round trip."""
    timeout = get_config()["REDIS_TIMEOUT"]
    try:
        label = broker_label()
        client = broker_client(timeout)
    except Exception as exc:  # Misconfigured, or a URL redis-py cannot read
        return None, {hop.snapshot_key: {"error": str(exc)} for hop in piped}
    try:
        pipe = client.pipeline(transaction=False)
        counts = []
        for hop in piped:
            before = len(pipe)
            hop.pipeline(pipe, contexts[hop.key])
            counts.append(len(pipe) - before)
        replies = pipe.execute(raise_on_error=False)
    except (redis.RedisError, OSError) as exc:
        failed = {"error": unreachable_message(label, describe_redis_error(exc))}
        return label, {hop.snapshot_key: failed for hop in piped}
    finally:
        client.close()
    figures, start = {}, 0
    for hop, count in zip(piped, counts, strict=True):
        figures[hop.snapshot_key] = hop_figures(hop, replies[start : start + count], label, contexts[hop.key])
        start += count
    return label, figures


def hop_figures(hop: Hop, replies: list, label: str, context: NodeContext) -> dict:
    """A hop's figures from its replies; a reply it cannot read is that hop's error, never the
    whole snapshot's (a Redis key holding what AWX would not write there)."""
    try:
        return hop.from_replies(replies, label, context)
    except Exception as exc:  # any parse failure of one hop
        return {"error": f"{hop.label}: unreadable reply ({type(exc).__name__}: {first_line(exc)})"}
