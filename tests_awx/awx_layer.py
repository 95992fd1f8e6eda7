"""A member nobody reads (a stalled daphne, say) in a group, through AWX's configured layer."""

from __future__ import annotations

import asyncio

import redis
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings


def add_stuck_member(group: str) -> str:
    """Adds a new channel to ``group`` and fills its queue to the layer's capacity; its name."""

    async def fill() -> str:
        layer = get_channel_layer()
        channel = await layer.new_channel("stuck")
        await layer.group_add(group, channel)
        try:
            while True:
                await layer.send(channel, {"type": "filler"})
        except ChannelFull:
            return channel

    return asyncio.run(fill())


def remove_stuck_member(group: str, channel: str) -> None:
    layer = get_channel_layer()
    asyncio.run(layer.group_discard(group, channel))
    # A process-specific channel's queue key: the prefix and the name up to its "!".
    client = redis.Redis.from_url(settings.BROKER_URL, socket_timeout=5)
    client.delete(layer.prefix + channel[: channel.index("!") + 1])
    client.close()
