"""The configured channel layer, read from settings.CHANNEL_LAYERS as channels_redis reads it.

This module knows where the layer keeps its data: which Redis hosts (with passwords masked for
output), the key prefix, capacities, expiries and the shard each group or queue lives on. It
opens plain synchronous redis-py connections with short timeouts; it never goes through the
layer's private methods, so a diagnosis cannot disturb the layer's own connection pools.
"""

from __future__ import annotations

import binascii
import concurrent.futures
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import redis
from channels.layers import BaseChannelLayer
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..conf import get_config
from ..errors import Misconfigured, first_line

REDIS_LAYER = "channels_redis.core.RedisChannelLayer"
PUBSUB_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"
INMEMORY_LAYER = "channels.layers.InMemoryChannelLayer"

MASK = "****"


def mask_url(url: str) -> str:
    """The URL with any password replaced by ****."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


@dataclass(frozen=True)
class RedisHost:
    """One entry of the layer's ``hosts``, decoded the way channels_redis decodes it."""

    index: int
    options: dict = field(repr=False, hash=False, compare=False)

    @property
    def label(self) -> str:
        """How the host is named in output: its address, password masked."""
        opts = self.options
        if "address" in opts:
            return mask_url(str(opts["address"]))
        if "master_name" in opts:
            sentinels = ",".join(f"{h}:{p}" for h, p in opts.get("sentinels", []))
            return f"sentinel://{sentinels}/{opts['master_name']}"
        return f"redis://{opts.get('host', 'localhost')}:{opts.get('port', 6379)}"

    def client(self, timeout: float | None = None) -> redis.Redis:
        """A synchronous redis-py client with connect and command timeouts."""
        timeout = get_config()["REDIS_TIMEOUT"] if timeout is None else timeout
        # No retries: redis-py 6+ retries a failed command 3 times with backoff by default,
        # which would multiply the time an unreachable host costs.
        limits = {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "retry": Retry(NoBackoff(), 0),
        }
        # Our limits replace the host's own: with redis-py 8 a layer's hosts often carry
        # socket_timeout None (channels_redis's blocking receive needs it), never right here.
        opts = {**self.options, **limits}
        if "address" in opts:
            return redis.Redis.from_url(str(opts.pop("address")), **opts)
        if "master_name" in opts:
            from redis.sentinel import Sentinel

            sentinel_kwargs = {**limits, **(opts.pop("sentinel_kwargs", None) or {})}
            sentinel = Sentinel(opts.pop("sentinels"), sentinel_kwargs=sentinel_kwargs, **limits)
            return sentinel.master_for(opts.pop("master_name"), **opts)
        return redis.Redis(**opts)


def decode_hosts(hosts) -> list[RedisHost]:
    """channels_redis's decoding of ``hosts``: URLs, (host, port) pairs or option dicts."""
    if not hosts:
        return [RedisHost(0, {"address": "redis://localhost:6379"})]
    if isinstance(hosts, (str, bytes)):
        raise Misconfigured("the channel layer's hosts must be a list, not a single string.")
    decoded = []
    for index, entry in enumerate(hosts):
        if isinstance(entry, dict):
            decoded.append(RedisHost(index, dict(entry)))
        elif isinstance(entry, (tuple, list)):
            decoded.append(RedisHost(index, {"host": entry[0], "port": entry[1]}))
        else:
            decoded.append(RedisHost(index, {"address": entry}))
    return decoded


def consistent_hash(value: str | bytes, ring_size: int) -> int:
    """The shard index channels_redis picks for a group name or a queue's non-local name."""
    if ring_size == 1:
        return 0
    if isinstance(value, str):
        value = value.encode("utf8")
    return int((binascii.crc32(value) & 0xFFF) / (4096 / float(ring_size)))


@dataclass
class LayerConfig:
    """One CHANNEL_LAYERS entry, with channels_redis's defaults filled in."""

    alias: str
    backend: str
    hosts: list[RedisHost]
    prefix: str = "asgi"
    capacity: int = 100
    channel_capacity: dict = field(default_factory=dict)
    expiry: int = 60
    group_expiry: int = 86400

    def __post_init__(self):
        # channels' own base class applies the glob/regex capacity rules: first match wins.
        self._rules = BaseChannelLayer(capacity=self.capacity)
        self._rules.channel_capacity = self._rules.compile_capacities(self.channel_capacity)

    @property
    def kind(self) -> str:
        """ "redis" (groups and queues in Redis), "pubsub", "inmemory" or "other"."""
        return {REDIS_LAYER: "redis", PUBSUB_LAYER: "pubsub", INMEMORY_LAYER: "inmemory"}.get(
            self.backend, "other"
        )

    def capacity_for(self, channel: str) -> int:
        return self._rules.get_capacity(channel)

    def non_local_name(self, channel: str) -> str:
        return self._rules.non_local_name(channel)

    def group_key(self, group: str) -> str:
        return f"{self.prefix}:group:{group}"

    def queue_key(self, channel: str) -> str:
        """The sorted set holding ``channel``'s messages (shared by a whole process)."""
        return self.prefix + self.non_local_name(channel)

    def group_shard(self, group: str) -> int:
        return consistent_hash(group, len(self.hosts))

    def queue_shard(self, channel: str) -> int:
        return consistent_hash(self.non_local_name(channel), len(self.hosts))

    def describe(self) -> dict:
        """The configuration as shown by doctor and the API (passwords masked)."""
        return {
            "alias": self.alias,
            "backend": self.backend,
            "hosts": [host.label for host in self.hosts],
            "prefix": self.prefix,
            "capacity": self.capacity,
            "channel_capacity": {
                getattr(pattern, "pattern", pattern): value
                for pattern, value in self.channel_capacity.items()
            },
            "expiry": self.expiry,
            "group_expiry": self.group_expiry,
        }


def load_layer(alias: str | None = None) -> LayerConfig:
    """The configured layer ``alias`` (default EVENTDEBUG['LAYER']); Misconfigured if absent."""
    alias = alias or get_config()["LAYER"]
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    if alias not in layers:
        known = ", ".join(sorted(layers)) or "none"
        raise Misconfigured(
            f"no channel layer {alias!r} in settings.CHANNEL_LAYERS (configured: {known}).",
            hint="Set EVENTDEBUG['LAYER'] or pass --layer.",
        )
    entry = layers[alias]
    backend = entry.get("BACKEND", "")
    config = dict(entry.get("CONFIG") or {})
    if backend not in (REDIS_LAYER, PUBSUB_LAYER):
        return LayerConfig(alias, backend, hosts=[])
    return LayerConfig(
        alias,
        backend,
        hosts=decode_hosts(config.get("hosts")),
        prefix=config.get("prefix", "asgi"),
        capacity=config.get("capacity", 100),
        channel_capacity=dict(config.get("channel_capacity") or {}),
        expiry=config.get("expiry", 60),
        group_expiry=config.get("group_expiry", 86400),
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
    """One line saying why Redis could not be read (never a password: redis-py omits it)."""
    if isinstance(exc, redis.AuthenticationError):
        return f"authentication failed ({exc}): check the password in the layer's hosts"
    if isinstance(exc, redis.TimeoutError):
        return f"no answer within the timeout ({exc})"
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
    """PING every host at once, so N unreachable hosts cost one timeout, not N."""
    timeout = get_config()["REDIS_TIMEOUT"] if timeout is None else timeout
    if not layer.hosts:
        return []
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(layer.hosts))) as pool:
        return list(pool.map(lambda host: _ping(host, timeout), layer.hosts))
