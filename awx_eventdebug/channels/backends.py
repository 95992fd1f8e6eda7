"""The channel-layer backends the app knows and what it can do with each, as one table.

Loading the layer, reading its groups and queues, the live listener, the system checks and the
faces all ask this table, never compare BACKEND strings: a new backend is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

# What inspecting the groups can read of a backend.
MEMBERS = "members"  # sorted sets of member channels, mapped to the queues group_send fills
SUBSCRIBERS = "subscribers"  # pub/sub channels and their subscriber connections (PUBSUB NUMSUB)


@dataclass(frozen=True)
class BackendSupport:
    """What the app can do with one backend."""

    kind: str  # the layer's "kind" in every document
    note: str = ""  # shown instead of what cannot be read
    redis_hosts: bool = False  # CONFIG["hosts"] are Redis servers: decoded, pinged, read
    groups: str | None = None  # MEMBERS, SUBSCRIBERS or None (nothing readable)
    queues: bool = False  # its queues and $inflight backups are sorted sets the app can read
    listen: bool = False  # the live listener can join its groups and drain its own queue
    # Receives with BZPOPMIN, which redis-py 8's default socket_timeout interrupts (check W052).
    blocking_receive: bool = False


REDIS_LAYER = "channels_redis.core.RedisChannelLayer"
PUBSUB_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"
INMEMORY_LAYER = "channels.layers.InMemoryChannelLayer"

BACKENDS = {
    REDIS_LAYER: BackendSupport(
        kind="redis",
        redis_hosts=True,
        groups=MEMBERS,
        queues=True,
        listen=True,
        blocking_receive=True,
    ),
    PUBSUB_LAYER: BackendSupport(
        kind="pubsub",
        note="RedisPubSubChannelLayer keeps no groups or queues in Redis: messages are published and "
        "lost when nobody listens. Shown instead: the layer's group channels and their subscriber "
        "connections (PUBSUB NUMSUB).",
        redis_hosts=True,
        groups=SUBSCRIBERS,
    ),
    INMEMORY_LAYER: BackendSupport(
        kind="inmemory",
        note="InMemoryChannelLayer keeps its groups and queues in the memory of each process; "
        "they cannot be seen from another process.",
    ),
}

OTHER = BackendSupport(
    kind="other",
    note="This backend is not a channels_redis layer; its groups and queues cannot be read.",
)


def backend_support(backend: str | None) -> BackendSupport:
    """What the app can do with the layer whose BACKEND is ``backend`` (OTHER when unknown)."""
    return BACKENDS.get(backend or "", OTHER)
