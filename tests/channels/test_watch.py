import asyncio

from channels_redis.core import RedisChannelLayer

from awx_eventdebug.channels.watch import watch_samples
from tests.conftest import REDIS_URL
from tests.support.channel_layers import layer_config, use_layer


def test_rates_and_membership_changes_between_samples(settings, key_prefix):
    config = layer_config([REDIS_URL], key_prefix, capacity=100)
    use_layer(settings, config)
    layer = RedisChannelLayer(**config)
    loop = asyncio.new_event_loop()
    stay, leave, late = (loop.run_until_complete(layer.new_channel()) for _ in range(3))
    loop.run_until_complete(layer.group_add("job_events-3", stay))
    loop.run_until_complete(layer.group_add("job_events-3", leave))

    samples = watch_samples(pattern="job_events-*", interval=0.2, count=2)
    first = next(samples)
    for _ in range(10):
        loop.run_until_complete(layer.group_send("job_events-3", {"type": "job.event"}))
    loop.run_until_complete(layer.group_discard("job_events-3", leave))
    loop.run_until_complete(layer.group_add("job_events-3", late))
    second = next(samples)
    loop.run_until_complete(layer.close_pools())
    loop.close()

    assert first["membership"] == [] and first["queues"][0]["rate_per_second"] is None
    (queue,) = second["queues"]
    assert queue["depth_messages"] == 10 and queue["members"] == 2
    assert queue["rate_per_second"] == round(10 / second["seconds"], 1) > 0
    assert second["membership"] == [
        {
            "group": "job_events-3",
            "members": 2,
            "joined_count": 1,
            "left_count": 1,
            "joined": [late],
            "left": [leave],
        }
    ]
    assert list(samples) == []


def test_a_queue_counts_its_members_of_every_group(settings, key_prefix):
    config = layer_config([REDIS_URL], key_prefix, capacity=100)
    use_layer(settings, config)
    layer = RedisChannelLayer(**config)  # one process: one process queue for all its channels

    async def join():
        channels = [await layer.new_channel() for _ in range(5)]
        groups = ["job_events-1"] * 2 + ["job_events-2"] + ["job_events-3"] * 2
        for channel, group in zip(channels, groups, strict=True):
            await layer.group_add(group, channel)
        await layer.group_send("job_events-1", {"type": "job.event"})
        await layer.close_pools()

    asyncio.run(join())
    (sample,) = watch_samples(pattern="job_events-*", count=1)
    (queue,) = sample["queues"]
    assert (queue["members"], sample["summary"]["groups"], sample["summary"]["members"]) == (5, 3, 5)
