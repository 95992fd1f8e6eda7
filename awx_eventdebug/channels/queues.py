"""The channel layer's queues as Redis holds them (``eventdebug queues``): every queue key and
$inflight backup with its depth, capacity, fill and oldest message, and the per-queue rules
groups.py shares (a queue's figures, its severity, a left-behind backup, distinct queues).

Read with redis_read's bounded machinery: ZCARD, ZCOUNT and ZRANGE over fixed small ranges,
pipelined.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import redis
from channels_redis.core import RedisChannelLayer

from .config import LayerConfig
from .redis_read import (
    age,
    begin_inspection,
    collection_paused,
    escape_glob,
    first_score,
    is_reply,
    on_each_shard,
    pipelined,
    require_some_shard,
    scan_keys,
    zcard,
    zcount,
    zrange,
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 10000
FULL = 100.0
NEARLY_FULL = 80.0
# A receiving channels_redis process puts its $inflight backup back into the queue at every
# BZPOPMIN round, at least every brpop_timeout seconds.
RECEIVE_ROUND = RedisChannelLayer.brpop_timeout

T = TypeVar("T")


@dataclass
class QueueStats:
    """One queue key and its $inflight backup, as Redis shows them now."""

    key: str
    shard: int
    depth: int
    live: int  # messages channels_redis still counts against capacity (not past expiry)
    oldest: float | None
    inflight: int
    inflight_oldest: float | None

    def entry(self, capacity: int, now: float, expiry: int) -> dict:
        return {
            "key": self.key,
            "shard": self.shard,
            "depth_messages": self.depth,
            "expired_messages": self.depth - self.live,
            "capacity_messages": capacity,
            "fill_percent": round(100.0 * self.live / capacity, 1) if capacity else None,
            "oldest_age_seconds": age(now, self.oldest),
            "inflight_messages": self.inflight,
            "inflight_oldest_age_seconds": age(now, self.inflight_oldest),
            "inflight_left_behind": inflight_left_behind(self.inflight_oldest, now, expiry),
        }


def inflight_left_behind(oldest_score: float | None, now: float, expiry: int) -> bool:
    """A message older than 2 x expiry + one receive round can only still sit in $inflight
    when the process that took it no longer receives: it waited at most about 2 x expiry in
    the queue (pruned or expired after that), and a receiving process puts its backup back
    within one round."""
    return oldest_score is not None and now - oldest_score > 2 * expiry + RECEIVE_ROUND


def not_drained(oldest_score: float | None, now: float, expiry: int) -> bool:
    """A receiving process takes a message moments after it was sent; one that has waited half
    the expiry (channels_redis prunes it at expiry) has no receiver: the queue of a member left
    behind by a killed process, such as ``eventdebug listen`` ended by SIGKILL."""
    return oldest_score is not None and now - oldest_score > expiry / 2


def read_queue_stats(client: redis.Redis, keys: list[str], shard: int, now: float, expiry: int, budget):
    """QueueStats of ``keys`` (all on one shard), pipelined; absent keys read as depth 0."""
    # channels_redis prunes scores up to int(now) - expiry before it counts a queue.
    live_from = f"({int(now) - int(expiry)}"

    reads = (zcard(), zcount(live_from, "+inf"), zrange(0, 0, withscores=True), zcard(suffix="$inflight"))
    stats = {}
    for key, (depth, live, oldest, inflight) in pipelined(client, keys, reads, budget).items():
        if not (is_reply(depth) and is_reply(live)):
            continue  # not a sorted set: not a channel layer queue
        inflight = inflight if is_reply(inflight) else 0
        stats[key] = QueueStats(key, shard, depth, live, first_score(oldest), inflight, None)
    # $inflight keys are rare (a process taking a message, or one that died): a second round.
    backups = [key for key, queue in stats.items() if queue.inflight]
    oldest_backups = pipelined(client, backups, (zrange(0, 0, withscores=True, suffix="$inflight"),), budget)
    for key, (oldest,) in oldest_backups.items():
        stats[key].inflight_oldest = first_score(oldest)
    return stats


def queue_severity(queue: dict) -> tuple:
    """Worst first: fullest, then oldest waiting message, then deepest."""
    return (queue["fill_percent"] or 0.0, queue["oldest_age_seconds"] or 0.0, queue["depth_messages"] or 0)


@dataclass
class SharedQueue(Generic[T]):
    """One queue key, however often it was seen."""

    first: T  # what was seen of it first: a member channel, or a queue's entry
    groups: list[str] = field(default_factory=list)  # the groups mapping to it, each once, in order


def distinct_queues(seen: Iterable[tuple[str, T, str | None]]) -> dict[str, SharedQueue[T]]:
    """Each queue key once, in first-seen order, from (key, item, group or None) triples given a
    group at a time: a process queue appears under every group its channels joined, and a
    misplaced copy of a queue sits on a second shard."""
    queues: dict[str, SharedQueue[T]] = {}
    for key, item, group in seen:
        queue = queues.get(key)
        if queue is None:
            queue = queues[key] = SharedQueue(item)
        if group is not None and queue.groups[-1:] != [group]:
            queue.groups.append(group)
    return queues


def summarize_queues(summary: dict, queues: list[dict]) -> None:
    """The counts over queue entries, each key counted once, by its first entry (inspect_queues
    passes them worst first)."""
    distinct = [queue.first for queue in distinct_queues((q["key"], q, None) for q in queues).values()]
    summary["queues"] = len(distinct)
    summary["nearly_full_queues"] = sum(1 for q in distinct if (q["fill_percent"] or 0) > NEARLY_FULL)
    summary["full_queues"] = sum(1 for q in distinct if (q["fill_percent"] or 0) >= FULL)
    summary["max_oldest_age_seconds"] = max(
        (q["oldest_age_seconds"] for q in distinct if q["oldest_age_seconds"] is not None), default=None
    )


@collection_paused()
def inspect_queues(
    alias: str | None = None, min_depth: int = 0, limit: int = DEFAULT_LIMIT, timeout: float | None = None
) -> dict:
    """Every queue key of the layer (process and plain channels) and every $inflight key,
    worst first; ``min_depth`` and ``limit`` narrow the list, never the summary."""
    layer, timeout, now, budget, doc = begin_inspection(
        alias, timeout, min_depth_messages=min_depth, limit=limit
    )
    summary = {
        "queues": 0,
        "messages": 0,
        # The bound is stated beside its count: the reading's own, not the check's CHECK_MAX_FILL.
        "nearly_full_percent": NEARLY_FULL,
        "nearly_full_queues": 0,
        "full_queues": 0,
        "max_oldest_age_seconds": None,
        "misplaced_queues": 0,
        "inflight_keys": 0,
        "left_behind_inflight_keys": 0,
    }
    doc.update(summary=summary, queues=[], inflight=[])
    if not layer.support.queues:
        doc["note"] = layer.support.note
        return doc
    group_prefix = layer.group_key("")

    def read(client, host):
        keys = [
            k
            for k in scan_keys(client, escape_glob(layer.prefix) + "*", budget)
            if not k.startswith(group_prefix)
        ]
        queue_keys = [k for k in keys if not k.endswith("$inflight")]
        # $inflight keys whose queue is gone (a process that died with a message taken).
        known = set(queue_keys)
        orphans = [k[: -len("$inflight")] for k in keys if k.endswith("$inflight")]
        orphans = [k for k in orphans if k not in known]
        return read_queue_stats(client, queue_keys + orphans, host.index, now, layer.expiry, budget)

    results = on_each_shard(layer, read, timeout)
    require_some_shard(results)
    queues, inflight = [], []
    for result in results:
        for stats in result.data.values():
            if stats.depth:
                queues.append(_queue_doc(layer, stats, now))
            if stats.inflight:
                inflight.append(_inflight_doc(layer, stats, now))
    queues.sort(key=queue_severity, reverse=True)
    inflight.sort(key=lambda i: i["oldest_age_seconds"] or 0.0, reverse=True)
    summarize_queues(summary, queues)
    summary.update(
        messages=sum(q["depth_messages"] for q in queues),
        misplaced_queues=sum(1 for q in queues if q["misplaced"]),
        inflight_keys=len(inflight),
        left_behind_inflight_keys=sum(1 for i in inflight if i["left_behind"]),
    )
    doc.update(
        shards=[r.as_dict() for r in results],
        queues=[q for q in queues if q["depth_messages"] >= min_depth][:limit],
        inflight=inflight[:limit],
        truncated=budget.truncated,
    )
    return doc


def _queue_doc(layer: LayerConfig, stats: QueueStats, now: float) -> dict:
    channel = stats.key[len(layer.prefix) :]
    process = channel.endswith("!")
    # Receivers of a process queue read one shard; plain channels are read round-robin.
    receiver_shard = layer.queue_shard(channel) if process else None
    return {
        "channel": channel,
        "kind": "process" if process else "plain",
        **stats.entry(layer.capacity_for(channel), now, layer.expiry),
        "receiver_shard": receiver_shard,
        "misplaced": receiver_shard is not None and receiver_shard != stats.shard,
    }


def _inflight_doc(layer: LayerConfig, stats: QueueStats, now: float) -> dict:
    return {
        "key": stats.key + "$inflight",
        "shard": stats.shard,
        "depth_messages": stats.inflight,
        "oldest_age_seconds": age(now, stats.inflight_oldest),
        "queue_depth_messages": stats.depth,
        "left_behind": inflight_left_behind(stats.inflight_oldest, now, layer.expiry),
    }
