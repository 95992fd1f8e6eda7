"""Reading a channel layer's data out of Redis without harming the Redis AWX runs on: the bounded
read machinery that groups, queues and pub/sub inspection share, and the PING of every host.

Reads only, and only bounded ones: SCAN with MATCH and COUNT (never KEYS), and commands over fixed
small ranges, pipelined so thousands of keys cost a few round trips. Every connection has
EVENTDEBUG['REDIS_TIMEOUT']; a whole inspection stops at INSPECT_TIME_BUDGET, INSPECT_MAX_KEYS and
INSPECT_MAX_MEMBERS (one Budget), and its document says so in ``truncated``. Shards are read in
parallel; a shard that fails is reported unreachable and the others are still read.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import redis

from ..conf import get_config
from ..errors import Unavailable, first_line
from ..timeutil import isoformat, utc_from_epoch
from .config import LayerConfig, RedisHost, load_layer

SCAN_COUNT = 1000
PIPELINE_BATCH = 500


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
        self.truncated: list[str] = []
        # What may still be read, and what the reading says when that runs out.
        self._left = {"keys": config["INSPECT_MAX_KEYS"], "members": config["INSPECT_MAX_MEMBERS"]}
        self._reasons = {
            "keys": f"stopped at INSPECT_MAX_KEYS = {config['INSPECT_MAX_KEYS']} keys",
            "members": f"members read up to INSPECT_MAX_MEMBERS = {config['INSPECT_MAX_MEMBERS']}",
        }
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
        return self._take("keys", wanted)

    def take_members(self, wanted: int) -> int:
        """How many of ``wanted`` more group members may still be held."""
        return self._take("members", wanted)

    def _take(self, what: str, wanted: int) -> int:
        with self._lock:
            granted = min(wanted, self._left[what])
            self._left[what] -= granted
        if granted < wanted:
            self._note(self._reasons[what])
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


def on_every_host(layer: LayerConfig, run) -> list:
    """``run(host)`` for every host at once, in host order: N dead hosts cost one timeout, not N."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(layer.hosts))) as pool:
        return list(pool.map(run, layer.hosts))


def on_each_shard(layer: LayerConfig, read, timeout: float, failed: dict | None = None) -> list[ShardResult]:
    """``read(client, host) -> dict`` on every shard at once, each on a client of its own.

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

    return on_every_host(layer, run)


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


class Inspection(NamedTuple):
    """What one reading of a layer starts from."""

    layer: LayerConfig
    timeout: float  # per Redis host
    now: float
    budget: Budget
    doc: dict  # the frame every inspection document shares, filled in by the reading


def begin_inspection(alias: str | None, timeout: float | None, **params) -> Inspection:
    """The layer named by ``alias`` (None: EVENTDEBUG['LAYER']), ``timeout`` or REDIS_TIMEOUT,
    and a document recording the reading's ``params``."""
    layer = load_layer(alias)
    config = get_config()
    now = time.time()
    doc = {
        "layer": layer.describe(),
        "generated_at": isoformat(utc_from_epoch(now)),
        "note": "",
        "truncated": [],
        "shards": [],
        **params,
    }
    return Inspection(
        layer, config["REDIS_TIMEOUT"] if timeout is None else timeout, now, Budget(config), doc
    )


@dataclass(frozen=True)
class PingResult:
    host: str
    ok: bool
    seconds: float
    error: str = ""

    def as_dict(self) -> dict:
        return {
            "host": self.host,
            "ok": self.ok,
            "ms": round(self.seconds * 1000, 1),
            "error": self.error,
        }


def describe_redis_error(exc: Exception) -> str:
    """One line saying why Redis could not be read (never a password)."""
    if isinstance(exc, redis.AuthenticationError):
        return f"authentication failed ({first_line(exc)}): check the password in the layer's hosts"
    if isinstance(exc, redis.TimeoutError):
        return f"no answer within the timeout ({first_line(exc)})"
    return first_line(exc)


def _ping(host: RedisHost, timeout: float) -> PingResult:
    started = time.monotonic()
    client = host.client(timeout)
    try:
        client.ping()
        return PingResult(host.label, True, time.monotonic() - started)
    except (redis.RedisError, OSError) as exc:
        return PingResult(host.label, False, time.monotonic() - started, describe_redis_error(exc))
    finally:
        client.close()


def unreachable_message(host_label: str, error: str) -> str:
    """How every report and error names a Redis host that could not be read."""
    return f"redis {host_label} unreachable: {error}"


def ping_hosts(layer: LayerConfig, timeout: float | None = None) -> list[PingResult]:
    """PING every host at once."""
    timeout = get_config()["REDIS_TIMEOUT"] if timeout is None else timeout
    if not layer.hosts:
        return []
    return on_every_host(layer, lambda host: _ping(host, timeout))
