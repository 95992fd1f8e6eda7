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
import functools
import gc
import inspect
import re
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
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


@contextmanager
def collection_paused():
    """Python's cyclic garbage collector held off while an inspection builds its tens of
    thousands of small containers: it would otherwise walk every object of the process several
    times over (a third of the CPU of reading 10k groups). Reference counting still frees
    everything; the collector is turned back on after, unless it was off already."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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


class Read(NamedTuple):
    """One read command on a key, packed straight into RESP: the bytes before the key and after
    it, the same for every key of a batch, are packed once (``suffix`` is added to the key:
    ``$inflight``), and ``convert`` turns its reply into what the caller reads.

    redis-py's pipeline costs tens of microseconds of Python per command (argument encoding,
    response callbacks); an inspection sends tens of thousands of these few commands, so a batch
    is packed with one format per key for all its commands and each reply read by RawConnection.
    Member names come back as text, scores as floats, counts as ints, a key of another type as its
    error object."""

    head: bytes
    tail: bytes
    convert: Callable | None
    suffix: bytes = b""


def zrange(start: int, end: int, withscores: bool = False, suffix: str = "") -> Read:
    if withscores:
        return _read(b"ZRANGE", (start, end, b"WITHSCORES"), _score_pairs, suffix)
    return _read(b"ZRANGE", (start, end), _texts, suffix)


def zcount(low, high) -> Read:
    return _read(b"ZCOUNT", (low, high))


def zcard(suffix: str = "") -> Read:
    return _read(b"ZCARD", (), None, suffix)


def ttl() -> Read:
    return _read(b"TTL", ())


def zmscore(members: list[str]) -> Read:
    return _read(b"ZMSCORE", members, _scores)


def _read(name: bytes, arguments, convert=None, suffix: str = "") -> Read:
    head = b"*%d\r\n$%d\r\n%b\r\n" % (len(arguments) + 2, len(name), name)
    return Read(head, _pack(arguments), convert, _encoded(suffix))


def _encoded(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogateescape")


def _pack(values) -> bytes:
    return b"".join(b"$%d\r\n%b\r\n" % (len(data), data) for data in map(_encoded, values))


def _escaped(data: bytes) -> bytes:
    """``data`` as the literal text of a bytes format."""
    return data.replace(b"%", b"%%")


def _packed(keys: list[str], reads: tuple[Read, ...]) -> bytes:
    """``reads`` on each of ``keys``, in one format per key."""
    template = b"".join(
        _escaped(read.head) + b"$%d\r\n%b" + _escaped(read.suffix) + b"\r\n" + _escaped(read.tail)
        for read in reads
    )
    suffixes = [len(read.suffix) for read in reads]
    encoded = map(_encoded, keys)
    if not any(suffixes):
        return b"".join([template % ((len(key), key) * len(reads)) for key in encoded])
    arguments = (tuple(chain.from_iterable((len(key) + extra, key) for extra in suffixes)) for key in encoded)
    return b"".join([template % each for each in arguments])


def _texts(reply) -> list[str]:
    """Names as text, decoded in one call per reply rather than one per name; a name holding a
    newline (no channel name does) or a str reply falls back to one at a time."""
    try:
        texts = b"\n".join(reply).decode("utf-8", "replace").split("\n")
    except TypeError:
        texts = []
    return texts if len(texts) == len(reply) else [as_text(m) for m in reply]


def _score_pairs(reply) -> list[tuple[str, float]]:
    if reply and isinstance(reply[0], list):  # RESP3 (protocol=3 in the hosts): pairs
        return [(as_text(member), float(score)) for member, score in reply]
    return list(zip(_texts(reply[::2]), map(float, reply[1::2]), strict=True))


def _scores(reply) -> list[float | None]:
    return [None if score is None else float(score) for score in reply]


class RawConnection:
    """A connection of a client's pool that is sent packed RESP and read reply by reply: the one
    place this app goes past redis-py's documented API, whose tests check it on every redis-py
    they run with (5.0.1, which AWX pins, to the latest).

    Replies come from the connection's parser, ``Connection._parser`` (hiredis's C reader when
    installed): ``Connection.read_response`` costs half as much again per reply with hiredis (it
    formats the host's name and checks the protocol every time) and raises an error reply (a key
    of another type) that belongs among the replies. A connection without that parser
    (client-side caching's proxy, or a redis-py that moved it) is read with ``read_response``:
    the same replies, slower."""

    def __init__(self, client: redis.Redis):
        self.pool = client.connection_pool
        if _takes_command_name(type(self.pool)):
            self.connection = self.pool.get_connection("ZRANGE")
        else:
            self.connection = self.pool.get_connection()
        parser = getattr(self.connection, "_parser", None)
        self.read_reply = self.read_documented if parser is None else parser.read_response

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        if kind is not None:
            self.connection.disconnect()  # replies may be left unread on it
        self.pool.release(self.connection)
        # redis-py's hiredis parser before 8.0 raises Python's TimeoutError, which read_response
        # turns into its own, as callers expect (the builtin is an OSError, redis-py's is not).
        if isinstance(exc, TimeoutError):
            raise redis.TimeoutError(*exc.args) from exc

    def send(self, packed: bytes) -> None:
        self.connection.send_packed_command([packed])

    def read_documented(self):
        """The next reply by redis-py's documented API, an error reply as its error object."""
        try:
            return self.connection.read_response()
        except redis.ResponseError as error:
            return error


@functools.cache
def _takes_command_name(pool_type: type) -> bool:
    """Whether ``pool_type.get_connection`` requires a command name, which no pool uses: redis-py
    before 5.3 does, and 5.3 deprecated it (a warning when one is given)."""
    parameter = inspect.signature(pool_type.get_connection).parameters.get("command_name")
    return parameter is not None and parameter.default is inspect.Parameter.empty


def read_replies(connection: RawConnection, reads: tuple[Read, ...]) -> list:
    """The replies of ``reads`` on one key, converted."""
    read = connection.read_reply
    replies = []
    for command in reads:
        reply = read()
        if command.convert is not None and reply is not None and not isinstance(reply, Exception):
            reply = command.convert(reply)
        replies.append(reply)
    return replies


def execute(client: redis.Redis, key: str, reads: tuple[Read, ...]) -> list:
    """``reads`` on ``key`` in one write on one connection of ``client``; their replies, in order."""
    with RawConnection(client) as connection:
        connection.send(_packed([key], reads))
        return read_replies(connection, reads)


def pipelined(client: redis.Redis, keys: list[str], reads, budget: Budget) -> dict[str, list]:
    """For each of ``keys``, the replies of ``reads`` (a tuple of Read) on it, or of
    ``reads(key)`` when it is a function: commands that differ per key (ZMSCORE of a group's
    members).

    One write per PIPELINE_BATCH keys, the next batch sent before the replies of the last are
    read, so that Redis executes one batch while this process parses the other (two batches in
    flight at most: bounded buffers on both sides). A key whose reply is an error (a key of
    another type) gets the error object in its list. Keys left when the budget ends are absent.
    """
    batches = []
    for start in range(0, len(keys), PIPELINE_BATCH):
        batch = keys[start : start + PIPELINE_BATCH]
        if callable(reads):
            per_key = [reads(key) for key in batch]
            packed = b"".join(_packed([key], each) for key, each in zip(batch, per_key, strict=True))
        else:
            per_key = [reads] * len(batch)
            packed = _packed(batch, reads)
        batches.append((batch, packed, per_key))
    replies: dict[str, list] = {}
    if not batches or budget.out_of_time():
        return replies
    with RawConnection(client) as connection:
        connection.send(batches[0][1])
        for index, (batch, _, per_key) in enumerate(batches):
            following = index + 1 < len(batches) and not budget.out_of_time()
            if following:
                connection.send(batches[index + 1][1])
            for key, key_reads in zip(batch, per_key, strict=True):
                replies[key] = read_replies(connection, key_reads)
            if not following:
                break
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
    if len(layer.hosts) == 1:  # most layers: no thread to start and join
        return [run(layer.hosts[0])]
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
            "milliseconds": round(self.seconds * 1000, 1),
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
