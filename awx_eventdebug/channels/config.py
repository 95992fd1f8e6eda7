"""The configured channel layer, read from settings.CHANNEL_LAYERS as channels_redis reads it.

This module knows where the layer keeps its data: which Redis hosts (with passwords masked for
output), the key prefix, capacities, expiries and the shard each group or queue lives on, and
what the app can do with its backend (backends.py). It opens plain synchronous redis-py
connections with short timeouts; it never goes through the layer's private methods, so a
diagnosis cannot disturb the layer's own connection pools.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field

import redis
from channels.layers import BaseChannelLayer
from django.conf import settings
from django.utils.module_loading import import_string
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..conf import get_config
from ..errors import Misconfigured, cut, first_line, quoted
from ..secrets import mask_secrets
from .backends import BackendSupport, backend_support


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
            return mask_secrets(str(opts["address"]))
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
    if not isinstance(hosts, list | tuple):
        raise Misconfigured(f"the channel layer's hosts must be a list, not {type(hosts).__name__}.")
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
    def support(self) -> BackendSupport:
        """What the app can do with this layer's backend."""
        return backend_support(self.backend)

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
            "capacity_messages": self.capacity,
            "channel_capacity_messages": {
                getattr(pattern, "pattern", pattern): value
                for pattern, value in self.channel_capacity.items()
            },
            "expiry_seconds": self.expiry,
            "group_expiry_seconds": self.group_expiry,
            "kind": self.support.kind,
        }


def layer_entry(alias: str) -> dict:
    """The CHANNEL_LAYERS entry ``alias``; Misconfigured when there is none, or when channels
    itself could not load it (not a dict, its BACKEND missing or not importable, its CONFIG not
    a dict): what the app would read of it then is not AWX's layer."""
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    if not isinstance(layers, dict):
        raise Misconfigured(f"settings.CHANNEL_LAYERS must be a dict, not {type(layers).__name__}.")
    if alias not in layers:
        known = ", ".join(sorted(map(str, layers))) or "none"
        raise Misconfigured(
            f"no channel layer {quoted(alias)} in settings.CHANNEL_LAYERS (configured: {known}).",
            hint="Set EVENTDEBUG['LAYER'] or pass --layer.",
        )
    entry = layers[alias]
    where = f"CHANNEL_LAYERS[{quoted(alias)}]"
    if not isinstance(entry, dict):
        raise Misconfigured(f"{where} must be a dict with a BACKEND, not {type(entry).__name__}.")
    backend = entry.get("BACKEND")
    if not isinstance(backend, str) or not backend:
        raise Misconfigured(f"{where} has no BACKEND: channels cannot load this layer.")
    try:
        loaded = import_string(backend)
    except Exception as exc:  # noqa: BLE001 - whatever its module raises, channels cannot load it
        why = f"does not import ({cut(first_line(exc))})"
    else:
        why = "" if isinstance(loaded, type) else "is not a class"
    if why:
        raise Misconfigured(
            f"{where}['BACKEND'] {quoted(backend)} {why}: channels cannot load this layer.",
            hint="Name the layer class AWX uses, channels_redis.core.RedisChannelLayer.",
        )
    if not isinstance(entry.get("CONFIG") or {}, dict):
        raise Misconfigured(f"{where}['CONFIG'] must be a dict, not {type(entry['CONFIG']).__name__}.")
    return entry


def load_layer(alias: str | None = None) -> LayerConfig:
    """The configured layer ``alias`` (default EVENTDEBUG['LAYER']); Misconfigured if absent or
    unusable (layer_entry)."""
    alias = alias or get_config()["LAYER"]
    entry = layer_entry(alias)
    backend = entry["BACKEND"]
    config = dict(entry.get("CONFIG") or {})
    if not backend_support(backend).redis_hosts:
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
