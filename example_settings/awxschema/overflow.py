"""Real channels_redis overflows, for the demo (command make_overflow) and the tests: groups whose
members never read, sent more messages than their queues hold, so that channels_redis drops them
and logs its "N of M channels over capacity in group G" record, as it does in AWX under load."""

from channels_redis.core import RedisChannelLayer


async def overflow_groups(layer: RedisChannelLayer, sends: dict[str, int]) -> None:
    """Each group gets one member that never reads; send ``sends[group]`` messages to it.

    channels_redis keeps one queue per layer instance, shared by all its channels: once the first
    group filled it, every later message of this instance is dropped."""
    for group in sends:
        await layer.group_add(group, await layer.new_channel())
    for group, count in sends.items():
        for _ in range(count):
            await layer.group_send(group, {"type": "x"})
