"""inspect_queues against real Redis, and the per-queue rules groups and the dashboard share."""

import asyncio

from channels_redis.core import RedisChannelLayer

from awx_eventdebug.channels.queues import distinct_queues, inspect_queues, summarize_queues
from tests.support.channel_layers import CAPACITY, SMALL_CAPACITY, fill_groups


def test_queues_lists_every_queue_with_its_capacity(layer_settings, redis_client):
    layers, joined = fill_groups(layer_settings)
    doc = inspect_queues()
    queues = {q["key"]: q for q in doc["queues"]}
    assert len(queues) == 6
    for queue in queues.values():
        assert queue["kind"] == "process"
        assert queue["capacity_messages"] == (
            SMALL_CAPACITY if queue["channel"].startswith("small.") else CAPACITY
        )
        assert queue["depth_messages"] == redis_client.zcard(queue["key"])
        assert queue["misplaced"] is False
    assert doc["summary"]["messages"] == sum(redis_client.zcard(k) for k in queues)
    assert doc["inflight"] == []
    assert [q["depth_messages"] for q in inspect_queues(min_depth=CAPACITY)["queues"]] == [CAPACITY, CAPACITY]


def test_inflight_backup_of_an_emptied_queue_is_listed(layer_settings):
    layer = RedisChannelLayer(**layer_settings)

    async def take_the_only_message():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "one"})
        queue_key = layer.prefix + layer.non_local_name(channel)
        await layer._brpop_with_clean(0, queue_key, timeout=1)  # taken, never acknowledged
        await layer.close_pools()
        return queue_key

    queue_key = asyncio.run(take_the_only_message())
    doc = inspect_queues()
    assert doc["queues"] == []
    (backup,) = doc["inflight"]
    assert (backup["key"], backup["depth_messages"], backup["queue_depth_messages"]) == (
        queue_key + "$inflight",
        1,
        0,
    )
    assert backup["left_behind"] is False and backup["oldest_age_seconds"] < 30
    assert doc["summary"]["inflight_keys"] == 1 and doc["summary"]["left_behind_inflight_keys"] == 0


def test_distinct_queues_keep_the_first_sight_and_name_each_group_once():
    seen = [
        ("q1", "a.1", "a"),
        ("q2", "a.2", "a"),
        ("q1", "a.3", "a"),  # a second member of group a on q1
        ("q1", "b.1", "b"),
        ("q3", "c.1", None),  # no group: a queue entry of its own
    ]
    queues = distinct_queues(seen)
    assert list(queues) == ["q1", "q2", "q3"]
    shown = [(q.first, q.groups) for q in queues.values()]
    assert shown == [("a.1", ["a", "b"]), ("a.2", ["a"]), ("c.1", [])]


def test_summary_counts_a_key_seen_twice_once_by_its_first_entry():
    def queue(key, fill, oldest):
        return {"key": key, "fill_percent": fill, "oldest_age_seconds": oldest}

    # Worst first, as inspect_queues passes them: a misplaced copy of q1 sits on a second shard.
    summary = {}
    summarize_queues(summary, [queue("q1", 100.0, 9.0), queue("q2", 85.0, None), queue("q1", 10.0, 1.0)])
    assert summary == {"queues": 2, "nearly_full_queues": 2, "full_queues": 1, "max_oldest_age_seconds": 9.0}
