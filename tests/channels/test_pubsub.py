"""A RedisPubSubChannelLayer's groups: the group channels with subscribers, read from Redis."""

import asyncio

from channels_redis.pubsub import RedisPubSubChannelLayer

from awx_eventdebug.channels.backends import PUBSUB_LAYER
from awx_eventdebug.channels.groups import inspect_groups
from awx_eventdebug.channels.queues import inspect_queues
from tests.conftest import REDIS_URL
from tests.support.channel_layers import use_layer


def test_pubsub_layer_reports_subscribers(settings, key_prefix):
    config = {"hosts": [REDIS_URL], "prefix": key_prefix}
    use_layer(settings, config, backend=PUBSUB_LAYER)

    async def run():
        layers = [RedisPubSubChannelLayer(**config) for _ in range(2)]
        for layer in layers:
            await layer.group_add("job_events-7", await layer.new_channel())
        await layers[0].group_add("broadcast-group_send", await layers[0].new_channel())
        doc = await asyncio.to_thread(inspect_groups)
        queues = await asyncio.to_thread(inspect_queues)
        for layer in layers:
            await layer.flush()
        return doc, queues

    doc, queues = asyncio.run(run())
    assert "keeps no groups or queues in Redis" in doc["note"]
    assert doc["groups"] == [
        {"name": "job_events-7", "shard": 0, "subscribers": 2},
        {"name": "broadcast-group_send", "shard": 0, "subscribers": 1},
    ]
    assert doc["summary"] == {"groups": 2, "subscribers": 3}
    assert "keeps no groups or queues in Redis" in queues["note"] and queues["queues"] == []
