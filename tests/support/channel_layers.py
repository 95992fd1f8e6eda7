"""Channel layers for the channels tests: a layer's CONFIG on the test's own prefix, installed as
CHANNEL_LAYERS['default'], and groups filled through channels_redis itself."""

from __future__ import annotations

import asyncio

from channels_redis.core import RedisChannelLayer

from awx_eventdebug.channels.backends import REDIS_LAYER

CAPACITY = 5
SMALL_CAPACITY = 3


def layer_config(hosts, prefix, **extra):
    return {
        "hosts": hosts,
        "prefix": prefix,
        "capacity": CAPACITY,
        "channel_capacity": {"small.*": SMALL_CAPACITY},
        **extra,
    }


def use_layer(settings, config, backend=REDIS_LAYER):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend, "CONFIG": config}}


def fill_groups(config, processes=3, sends=7):
    """Each process (a layer instance with its own client prefix) joins job_events-1 with two
    consumers and one "small" channel (channel_capacity 3), and broadcast-group_send with one;
    group_send then fills every queue to capacity; process 0 receives one message."""

    async def run():
        layers = [RedisChannelLayer(**config) for _ in range(processes)]
        joined = {"job_events-1": [], "broadcast-group_send": []}
        for layer in layers:
            for name in ("job_events-1", "job_events-1", "broadcast-group_send"):
                channel = await layer.new_channel()
                await layer.group_add(name, channel)
                joined[name].append(channel)
            small = await layer.new_channel(prefix="small")
            await layer.group_add("job_events-1", small)
            joined["job_events-1"].append(small)
        for _ in range(sends):
            await layers[0].group_send("job_events-1", {"type": "job.event"})
        await layers[0].group_send("broadcast-group_send", {"type": "control"})
        await layers[0].receive(joined["job_events-1"][0])
        for layer in layers:
            await layer.close_pools()
        return layers, joined

    return asyncio.run(run())


def without_times(doc):
    """The document minus what changes between two reads of the same state (the time of the
    reading, ages, and the groups' TTLs, which count down: see ttls_count_down), lists sorted."""
    if isinstance(doc, dict):
        return {
            k: without_times(v)
            for k, v in doc.items()
            if k not in ("generated_at", "ttl_seconds") and not k.endswith("oldest_age_seconds")
        }
    if isinstance(doc, list):
        # Queues that tie on fill are ordered by their oldest message: milliseconds apart here.
        return sorted(
            (without_times(v) for v in doc), key=lambda v: v.get("key", "") if isinstance(v, dict) else ""
        )
    return doc


def ttls_count_down(first: dict, then: dict, slack: int = 30) -> bool:
    """Whether each group's TTL read in ``first`` is read in ``then`` (the same groups read
    later) as the same or up to ``slack`` seconds less: Redis counts it down, a second at a time,
    between the readings, however long apart a busy machine makes them."""
    earlier = {group["name"]: group["ttl_seconds"] for group in first["groups"]}
    later = {group["name"]: group["ttl_seconds"] for group in then["groups"]}
    return earlier.keys() == later.keys() and all(0 <= earlier[n] - later[n] <= slack for n in earlier)


class SubclassedRedisChannelLayer(RedisChannelLayer):
    """A backend the app's table does not know, stored as RedisChannelLayer stores its data."""


SUBCLASSED_LAYER = f"{__name__}.SubclassedRedisChannelLayer"
