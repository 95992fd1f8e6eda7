"""Leftovers of ``eventdebug listen``: its members (named ``eventdebug.<client>!<id>``) that
Redis shows as stale, found by the groups inspection and, on request, removed with their queues.
Nothing else is ever written: a member of another name, or a listen that still drains its
queue, is left alone."""

from __future__ import annotations

import redis

from .config import load_layer
from .groups import inspect_groups
from .redis_read import describe_redis_error

# listen's channel shows up as eventdebug.<client prefix>!<id> among a group's members, so an
# admin reading the group in Redis can tell the probe from browsers (specific.<...>), and so can
# is_listen_channel.
CHANNEL_PREFIX = "eventdebug"


def is_listen_channel(channel: str) -> bool:
    return channel.startswith(f"{CHANNEL_PREFIX}.")


def listen_leftovers(alias: str | None = None, timeout: float | None = None, apply: bool = False) -> dict:
    """The stale members of ``listen`` in every group read; with ``apply``, each removed (ZREM
    from its group, DEL of its queue) and marked ``removed`` (or why not, in ``error``)."""
    doc = inspect_groups(alias, "*", limit=None, timeout=timeout)
    layer = load_layer(alias)
    leftovers = [
        {
            "group": group["name"],
            "group_key": group["key"],
            "shard": group["shard"],
            "channel": member["channel"],
            "queue": queue["key"],
            "stale": member["stale"],
            "removed": False,
            "error": "",
        }
        for group in doc["groups"]
        for queue in group["queues"]
        for member in queue["members"]
        if member["stale"] and is_listen_channel(member["channel"])
    ]
    if apply:
        for leftover in leftovers:
            _remove(layer, leftover, timeout)
    return {
        "layer": doc["layer"],
        "applied": apply,
        "note": doc["note"],
        "truncated": doc["truncated"],
        "shards": doc["shards"],
        "leftovers": leftovers,
    }


def _remove(layer, leftover: dict, timeout: float | None) -> None:
    group_client = layer.hosts[leftover["shard"]].client(timeout)
    queue_client = layer.hosts[layer.queue_shard(leftover["channel"])].client(timeout)
    try:
        group_client.zrem(leftover["group_key"], leftover["channel"])
        queue_client.delete(leftover["queue"])
        leftover["removed"] = True
    except (redis.RedisError, OSError) as exc:
        leftover["error"] = describe_redis_error(exc)
    finally:
        group_client.close()
        queue_client.close()
