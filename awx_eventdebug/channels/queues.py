"""Reading a channel layer's state out of Redis without harming the Redis AWX runs on: the
shared rules and primitives (used by layer_groups too), and the queues (``eventdebug queues``).

Reads only, and only bounded ones: SCAN with MATCH and COUNT (never KEYS); ZCARD, ZCOUNT, TTL and
ZRANGE over fixed small ranges, pipelined so thousands of keys cost a few round trips. Every
connection has EVENTDEBUG['REDIS_TIMEOUT']; the whole reading stops at INSPECT_TIME_BUDGET,
INSPECT_MAX_KEYS and INSPECT_MAX_MEMBERS, and the result says so in ``truncated``. Shards are read
in parallel; a shard that fails is reported unreachable and the others are still read.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
import time
from dataclasses import dataclass, field

import redis
from channels_redis.core import RedisChannelLayer

from ..conf import get_config
from ..errors import Unavailable
from ..timeutil import isoformat, utc_from_epoch
from .config import LayerConfig, RedisHost, describe_redis_error, load_layer, unreachable_message

DEFAULT_LIMIT = 100
MAX_LIMIT = 10000
SCAN_COUNT = 1000
PIPELINE_BATCH = 500
MEMBER_PAGE = 500
FULL = 100.0
NEARLY_FULL = 80.0
# A receiving channels_redis process puts its $inflight backup back into the queue at every
# BZPOPMIN round, at least every brpop_timeout seconds.
RECEIVE_ROUND = RedisChannelLayer.brpop_timeout

INMEMORY_NOTE = (
    "InMemoryChannelLayer keeps its groups and queues in the memory of each process; "
    "they cannot be seen from another process."
)
OTHER_NOTE = "This backend is not a channels_redis layer; its groups and queues cannot be read."
PUBSUB_NOTE = (
    "RedisPubSubChannelLayer keeps no groups or queues in Redis: messages are published and lost "
    "when nobody listens. Shown instead: the layer's group channels and their subscriber "
    "connections (PUBSUB NUMSUB)."
)


def escape_glob(text: str) -> str:
    """``text`` matched literally inside a Redis MATCH pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


class Budget:
    """The limits of one inspection: a deadline and caps on what it holds in memory.

    Shared by the threads reading the shards, so the counters are guarded by a lock.
    """

    def __init__(self, config: dict):
        self.seconds = config["INSPECT_TIME_BUDGET"]
        self.deadline = time.monotonic() + self.seconds
        self.max_keys = config["INSPECT_MAX_KEYS"]
        self.max_members = config["INSPECT_MAX_MEMBERS"]
        self.keys_left = self.max_keys
        self.members_left = self.max_members
        self.truncated: list[str] = []
        self._lock = threading.Lock()

    def _note(self, reason: str) -> None:
        with self._lock:
            if reason not in self.truncated:
                self.truncated.append(reason)

    def out_of_time(self) -> bool:
        if time.monotonic() < self.deadline:
            return False
        self._note(f"stopped after the time budget (INSPECT_TIME_BUDGET = {self.seconds} s)")
        return True

    def take_keys(self, wanted: int) -> int:
        """How many of ``wanted`` more keys may still be read."""
        with self._lock:
            granted = min(wanted, self.keys_left)
            self.keys_left -= granted
        if granted < wanted:
            self._note(f"stopped at INSPECT_MAX_KEYS = {self.max_keys} keys")
        return granted

    def take_members(self, wanted: int) -> int:
        with self._lock:
            granted = min(wanted, self.members_left)
            self.members_left -= granted
        if granted < wanted:
            self._note(f"members read up to INSPECT_MAX_MEMBERS = {self.max_members}")
        return granted


def as_text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def scan_keys(client: redis.Redis, match: str, budget: Budget) -> list[str]:
    """Keys matching ``match``, by SCAN with COUNT; stops at the budget."""
    found: dict[str, None] = {}  # SCAN may return a key twice; keep first-seen order
    cursor = 0
    while not budget.out_of_time():
        cursor, keys = client.scan(cursor, match=match, count=SCAN_COUNT)
        new = [key for key in map(as_text, keys) if key not in found]
        granted = budget.take_keys(len(new))
        found.update(dict.fromkeys(new[:granted]))
        if cursor == 0 or granted < len(new):
            break
    return list(found)


def pipelined(client: redis.Redis, keys: list[str], queue_commands, budget: Budget) -> dict[str, list]:
    """For each key, the replies of the commands ``queue_commands(pipe, key)`` queues (any
    number per key).

    One round trip per PIPELINE_BATCH keys; a key whose reply is an error (a key of another
    type) gets the error object in its list. Keys left when the budget ends are absent.
    """
    replies: dict[str, list] = {}
    for start in range(0, len(keys), PIPELINE_BATCH):
        if budget.out_of_time():
            break
        batch = keys[start : start + PIPELINE_BATCH]
        pipe = client.pipeline(transaction=False)
        ends = []
        for key in batch:
            queue_commands(pipe, key)
            ends.append(len(pipe))
        flat = pipe.execute(raise_on_error=False)
        begin = 0
        for key, end in zip(batch, ends, strict=True):
            replies[key] = flat[begin:end]
            begin = end
    return replies


def is_reply(reply) -> bool:
    return not isinstance(reply, Exception)


@dataclass
class ShardResult:
    """What was read from one shard; ``error`` set when the shard could not be read."""

    host: RedisHost
    error: str = ""
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"index": self.host.index, "host": self.host.label, "ok": not self.error, "error": self.error}


def on_each_shard(layer: LayerConfig, read, timeout: float, failed: dict | None = None) -> list[ShardResult]:
    """``read(client, host) -> dict`` on every shard at once: N dead hosts cost one timeout.

    Shards in ``failed`` (index -> error, from an earlier round) are not tried again.
    """
    failed = failed or {}

    def run(host: RedisHost) -> ShardResult:
        if host.index in failed:
            return ShardResult(host, error=failed[host.index])
        client = host.client(timeout)
        try:
            return ShardResult(host, data=read(client, host))
        except (redis.RedisError, OSError) as exc:
            return ShardResult(host, error=describe_redis_error(exc))
        finally:
            client.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(layer.hosts))) as pool:
        return list(pool.map(run, layer.hosts))


def require_some_shard(results: list[ShardResult]) -> None:
    """Unavailable when no shard could be read: there is nothing to report."""
    if all(result.error for result in results):
        raise Unavailable(
            "; ".join(unreachable_message(r.host.label, r.error) for r in results),
            hint="Check that Redis runs and the layer's hosts (address, port, socket path, password).",
        )


def age(now: float, score: float | None) -> float | None:
    return None if score is None else round(max(0.0, now - score), 3)


def first_score(reply) -> float | None:
    return reply[0][1] if is_reply(reply) and reply else None


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
            "depth": self.depth,
            "expired": self.depth - self.live,
            "capacity": capacity,
            "fill": round(100.0 * self.live / capacity, 1) if capacity else None,
            "oldest_age": age(now, self.oldest),
            "inflight": self.inflight,
            "inflight_oldest_age": age(now, self.inflight_oldest),
            "inflight_left_behind": inflight_left_behind(self.inflight_oldest, now, expiry),
        }


def inflight_left_behind(oldest_score: float | None, now: float, expiry: int) -> bool:
    """A message older than 2 x expiry + one receive round can only still sit in $inflight
    when the process that took it no longer receives: it waited at most about 2 x expiry in
    the queue (pruned or expired after that), and a receiving process puts its backup back
    within one round."""
    return oldest_score is not None and now - oldest_score > 2 * expiry + RECEIVE_ROUND


def read_queue_stats(client: redis.Redis, keys: list[str], shard: int, now: float, expiry: int, budget):
    """QueueStats of ``keys`` (all on one shard), pipelined; absent keys read as depth 0."""
    # channels_redis prunes scores up to int(now) - expiry before it counts a queue.
    live_from = f"({int(now) - int(expiry)}"

    def queue_commands(pipe, key):
        pipe.zcard(key)
        pipe.zcount(key, live_from, "+inf")
        pipe.zrange(key, 0, 0, withscores=True)
        pipe.zcard(key + "$inflight")

    stats = {}
    for key, (depth, live, oldest, inflight) in pipelined(client, keys, queue_commands, budget).items():
        if not (is_reply(depth) and is_reply(live)):
            continue  # not a sorted set: not a channel layer queue
        inflight = inflight if is_reply(inflight) else 0
        stats[key] = QueueStats(key, shard, depth, live, first_score(oldest), inflight, None)
    # $inflight keys are rare (a process taking a message, or one that died): a second round.
    backups = [key for key, queue in stats.items() if queue.inflight]
    oldest_backups = pipelined(
        client, backups, lambda pipe, key: pipe.zrange(key + "$inflight", 0, 0, withscores=True), budget
    )
    for key, (oldest,) in oldest_backups.items():
        stats[key].inflight_oldest = first_score(oldest)
    return stats


def queue_severity(queue: dict) -> tuple:
    """Worst first: fullest, then oldest waiting message, then deepest."""
    return (queue["fill"] or 0.0, queue["oldest_age"] or 0.0, queue["depth"] or 0)


def base_doc(layer: LayerConfig, now: float) -> dict:
    return {
        "layer": {**layer.describe(), "kind": layer.kind},
        "generated_at": isoformat(utc_from_epoch(now)),
        "note": "",
        "truncated": [],
        "shards": [],
    }


def summarize_queues(summary: dict, queues: list[dict]) -> None:
    """Distinct queues (a process queue appears in each group its members joined)."""
    distinct = {q["key"]: q for q in queues}.values()
    summary["queues"] = len(distinct)
    summary["queues_over_80"] = sum(1 for q in distinct if (q["fill"] or 0) > NEARLY_FULL)
    summary["queues_full"] = sum(1 for q in distinct if (q["fill"] or 0) >= FULL)
    summary["max_oldest_age"] = max(
        (q["oldest_age"] for q in distinct if q["oldest_age"] is not None), default=None
    )


# ---------------------------------------------------------------------------------------------
# Queues


def inspect_queues(
    alias: str | None = None, min_depth: int = 0, limit: int = DEFAULT_LIMIT, timeout: float | None = None
) -> dict:
    """Every queue key of the layer (process and plain channels) and every $inflight key,
    worst first; ``min_depth`` and ``limit`` narrow the list, never the summary."""
    layer = load_layer(alias)
    config = get_config()
    timeout = config["REDIS_TIMEOUT"] if timeout is None else timeout
    now = time.time()
    doc = base_doc(layer, now)
    doc.update(min_depth=min_depth, limit=limit)
    summary = {
        "queues": 0,
        "messages": 0,
        "queues_over_80": 0,
        "queues_full": 0,
        "max_oldest_age": None,
        "misplaced_queues": 0,
        "inflight_keys": 0,
        "inflight_left_behind": 0,
    }
    doc.update(summary=summary, queues=[], inflight=[])
    if layer.kind != "redis":
        doc["note"] = {"pubsub": PUBSUB_NOTE, "inmemory": INMEMORY_NOTE}.get(layer.kind, OTHER_NOTE)
        return doc
    budget = Budget(config)
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
    inflight.sort(key=lambda i: i["oldest_age"] or 0.0, reverse=True)
    summarize_queues(summary, queues)
    summary.update(
        messages=sum(q["depth"] for q in queues),
        misplaced_queues=sum(1 for q in queues if q["misplaced"]),
        inflight_keys=len(inflight),
        inflight_left_behind=sum(1 for i in inflight if i["left_behind"]),
    )
    doc.update(
        shards=[r.as_dict() for r in results],
        queues=[q for q in queues if q["depth"] >= min_depth][:limit],
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
        "depth": stats.inflight,
        "oldest_age": age(now, stats.inflight_oldest),
        "queue_depth": stats.depth,
        "left_behind": inflight_left_behind(stats.inflight_oldest, now, layer.expiry),
    }
