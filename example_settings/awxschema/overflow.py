"""Real channels_redis overflows, for the demo (command make_overflow) and the tests: group members
that never read, or read too slowly, sent more messages than their queues hold, so that
channels_redis drops them and logs its "N of M channels over capacity in group G" record, as it
does in AWX under load."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass
class SlowConsumerRun:
    """What slow_consumer() did: the slow member's queue key, its depth at the end, the messages
    group_send sent and those channels_redis dropped (sent while that queue was full)."""

    queue: str
    depth: int
    sent: int
    dropped: int


async def slow_consumer(
    slow: RedisChannelLayer,
    healthy: RedisChannelLayer,
    group: str,
    drops: int,
    backlog: Callable[[str, list[bytes]], None] | None = None,
    behind: int = 0,
    reads_one_in: int = 10,
) -> SlowConsumerRun:
    """Two processes' consumers join ``group`` (a browser tab on a fast link, one on a slow one):
    the healthy one reads every message, the slow one one in ``reads_one_in``. Messages are sent
    until the slow one's queue is full and ``drops`` more were dropped, so channels_redis logs
    "1 of 2 channels over capacity in group G" for each. The slow member stays in the group with
    its full queue, as a consumer that stopped reading leaves it in AWX.

    With ``behind``, the slow one starts that many messages behind: ``backlog(queue key,
    messages)`` writes them at once (a job's worth of events it fell behind on), then the live
    sends fill the rest."""
    slow_channel, healthy_channel = await slow.new_channel(), await healthy.new_channel()
    await slow.group_add(group, slow_channel)
    await healthy.group_add(group, healthy_channel)
    queue = slow.prefix + slow.non_local_name(slow_channel)
    capacity = slow.get_capacity(slow_channel)
    depth = min(behind, capacity)
    if depth:
        message = {"type": "job.event", "__asgi_channel__": slow_channel}
        await asyncio.to_thread(backlog, queue, [slow.serialize(message) for _ in range(depth)])
    sent = dropped = 0
    while dropped < drops:
        await healthy.group_send(group, {"type": "job.event", "counter": sent + 1})
        sent += 1
        # channels_redis drops a message to a queue holding capacity messages or more.
        if depth >= capacity:
            dropped += 1
        else:
            depth += 1
        await healthy.receive(healthy_channel)
        if sent % reads_one_in == 0 and dropped == 0:  # once full, the slow one stops reading
            await slow.receive(slow_channel)
            depth -= 1
    return SlowConsumerRun(queue=queue, depth=depth, sent=sent, dropped=dropped)
