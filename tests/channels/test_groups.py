"""inspect_groups against real Redis servers, checked against what channels_redis itself uses:
the group and queue keys, shards, capacities and stale members."""

import asyncio
import time

import redis
from channels_redis.core import RedisChannelLayer

from awx_eventdebug.channels.config import load_layer
from awx_eventdebug.channels.groups import GroupRead, GroupReport, inspect_groups
from awx_eventdebug.channels.queues import inspect_queues
from tests.conftest import REDIS_URL
from tests.support.channel_layers import CAPACITY, SMALL_CAPACITY, fill_groups, layer_config, use_layer
from tests.support.redis_servers import redis_server


def test_groups_report_what_channels_redis_uses(layer_settings, redis_client):
    layers, joined = fill_groups(layer_settings)
    reference = layers[0]
    doc = inspect_groups()

    assert doc["shards"] == [{"index": 0, "host": REDIS_URL, "ok": True, "error": ""}]
    assert doc["truncated"] == []
    groups = {g["name"]: g for g in doc["groups"]}
    assert set(groups) == set(joined)
    for name, channels in joined.items():
        group = groups[name]
        assert group["members"] == group["members_read"] == len(channels)
        assert 86390 < group["ttl_seconds"] <= 86400
        members = [m["channel"] for q in group["queues"] for m in q["members"]]
        assert sorted(members) == sorted(channels)
        for queue in group["queues"]:
            first = queue["members"][0]["channel"]
            assert queue["key"] == reference.prefix + reference.non_local_name(first)
            assert all(
                reference.prefix + reference.non_local_name(m["channel"]) == queue["key"]
                for m in queue["members"]
            )
            assert queue["capacity_messages"] == reference.get_capacity(first)
            assert queue["depth_messages"] == redis_client.zcard(queue["key"])
            assert queue["shard"] == reference.consistent_hash(reference.non_local_name(first)) == 0
            assert queue["fill_percent"] == round(
                100 * queue["depth_messages"] / queue["capacity_messages"], 1
            )
            assert all(m["stale"] is None for m in queue["members"])
        fills = [q["fill_percent"] for q in group["queues"]]
        assert fills == sorted(fills, reverse=True)

    depths = {q["key"]: q["depth_messages"] for q in groups["job_events-1"]["queues"]}
    receiver_queue = f"{reference.prefix}{reference.non_local_name(joined['job_events-1'][0])}"
    assert depths.pop(receiver_queue) == CAPACITY - 1
    assert sorted(depths.values()) == [SMALL_CAPACITY] * 3 + [CAPACITY] * 2
    assert doc["summary"] == {
        "groups": 2,
        "members": 12,
        "stale_members": 0,
        "queues": 6,
        "nearly_full_percent": 80.0,
        "nearly_full_queues": 5,
        "full_queues": 5,
        "max_oldest_age_seconds": doc["summary"]["max_oldest_age_seconds"],
    }
    assert 0 <= doc["summary"]["max_oldest_age_seconds"] < 30


def test_members_map_to_the_queues_channels_redis_names(layer_settings):
    """GroupReport inlines channels_redis's non_local_name for every member at once."""
    names = [["specific.abc!def", "plain", "a!b!c"], [], ["!x", "tail!", "é!ü", "a!later", "plain"]]
    groups = [GroupRead(f"g{n}", 0, len(members), members, 0) for n, members in enumerate(names)]
    report = GroupReport(load_layer(None), time.time())
    wanted = report.map_members(groups)
    reference = RedisChannelLayer(prefix=layer_settings["prefix"])
    for group in groups:
        assert group.member_queues == [reference.prefix + reference.non_local_name(m) for m in group.members]
    assert sorted(wanted[0]) == sorted({key for group in groups for key in group.member_queues})
    assert report.queues[reference.prefix + "a!"] == "a!b!c"  # its first member, in join order


def test_pattern_limit_and_glob_characters_in_the_prefix(settings, key_prefix):
    config = layer_config([REDIS_URL], key_prefix + "[x]*")
    use_layer(settings, config)
    fill_groups(config, processes=1, sends=1)
    assert [g["name"] for g in inspect_groups(pattern="job_events-*")["groups"]] == ["job_events-1"]
    limited = inspect_groups(limit=1)
    assert len(limited["groups"]) == 1 and limited["summary"]["groups"] == 2
    assert inspect_groups(pattern="nothing-*")["summary"]["groups"] == 0
    # The same prefix without the glob characters matches nothing of this layer's keys.
    config["prefix"] = key_prefix + "x"
    assert inspect_groups()["summary"]["groups"] == 0


def test_stale_members(layer_settings, redis_client):
    layers, joined = fill_groups(layer_settings, processes=2, sends=1)
    prefix = layer_settings["prefix"]
    # A member that joined two days ago with group_expiry one day: channels_redis prunes it.
    expired = joined["broadcast-group_send"][0]
    redis_client.zadd(f"{prefix}:group:broadcast-group_send", {expired: time.time() - 2 * 86400}, xx=True)
    # Process 1 dies between BZPOPMIN and the backup cleanup: the real channels_redis code path
    # leaves its $inflight key; its message was sent long ago.
    dying = joined["job_events-1"][3:5] + joined["broadcast-group_send"][1:]
    queue_key = prefix + layers[1].non_local_name(dying[0])
    redis_client.zadd(
        queue_key, {m: time.time() - 600 for m in redis_client.zrange(queue_key, 0, -1)}, xx=True
    )

    async def die_while_receiving():
        await layers[1]._brpop_with_clean(0, queue_key, timeout=1)
        await layers[1].close_pools()

    asyncio.run(die_while_receiving())
    doc = inspect_groups()
    reasons = {m["channel"]: m["stale"] for g in doc["groups"] for q in g["queues"] for m in q["members"]}
    assert reasons[expired] == "expired"
    assert [c for c, r in reasons.items() if r == "inflight_left_behind"] == dying
    assert sum(1 for r in reasons.values() if r is None) == 4
    assert doc["summary"]["stale_members"] == 4
    inflight = inspect_queues()["inflight"]
    assert [(i["key"], i["left_behind"]) for i in inflight] == [(queue_key + "$inflight", True)]


def test_expired_members_of_a_big_group_are_counted_once(settings, layer_settings, redis_client):
    """A group over two pages whose first 600 members (join order) expired, a third of them and
    of the others in a queue nobody drains: each stale member counts once, in the summary and in
    the group's rows, and still when the members read are capped mid-group."""
    prefix, now = layer_settings["prefix"], time.time()
    channels = [f"specific.p{n % 3}!c{n:04d}" for n in range(1203)]
    joined = {
        channel: now - 2 * 86400 - 1203 + n if n < 600 else now - 1203 + n
        for n, channel in enumerate(channels)
    }
    redis_client.zadd(f"{prefix}:group:big", joined)
    redis_client.zadd(f"{prefix}specific.p0!", {"old message": now - 600})  # never received
    stale = 600 + sum(1 for n in range(600, 1203) if n % 3 == 0)

    doc = inspect_groups()
    (group,) = doc["groups"]
    assert group["members"] == group["members_read"] == 1203
    assert doc["summary"]["stale_members"] == group["stale_members"] == stale
    rows = {m["channel"]: m["stale"] for q in group["queues"] for m in q["members"]}
    assert [rows[c] for c in channels] == [
        "expired" if n < 600 else "not_drained" if n % 3 == 0 else None for n in range(1203)
    ]

    settings.EVENTDEBUG = {"INSPECT_MAX_MEMBERS": 702}
    capped = inspect_groups()
    (group,) = capped["groups"]
    assert group["members"] == 1203 and group["members_read"] == 702
    assert (
        group["stale_members"]
        == capped["summary"]["stale_members"]
        == stale - sum(1 for n in range(702, 1203) if n % 3 == 0)
    )
    reference = RedisChannelLayer(prefix=prefix)
    assert all(
        q["key"] == prefix + reference.non_local_name(m["channel"])
        for q in group["queues"]
        for m in q["members"]
    )


def test_two_hosts_map_groups_and_queues_as_channels_redis(settings, key_prefix):
    with redis_server() as port:
        second = f"redis://127.0.0.1:{port}/0"
        config = layer_config([REDIS_URL, second], key_prefix)
        use_layer(settings, config)
        servers = [redis.Redis.from_url(REDIS_URL), redis.Redis.from_url(second)]

        ring = RedisChannelLayer(**config)
        names = [f"job_events-{n}" for n in range(100)]
        groups = [n for n in names if ring.consistent_hash(n) == 0][:4] + [
            n for n in names if ring.consistent_hash(n) == 1
        ][:4]

        async def run():
            # Three processes whose queues live on each shard.
            candidates = [RedisChannelLayer(**config) for _ in range(60)]
            layers = [
                layer
                for shard in (0, 1)
                for layer in [
                    c for c in candidates if c.consistent_hash(f"specific.{c.client_prefix}!") == shard
                ][:3]
            ]
            for number, layer in enumerate(layers):
                for group in groups:
                    await layer.group_add(group, await layer.new_channel())
                await layer.group_add(groups[number], await layer.new_channel())
            for group in groups:
                await layers[0].group_send(group, {"type": "job.event"})
            # A direct send() hashes the full channel name, group_send and receive the
            # non-local part: find a channel for which the two disagree.
            candidates = [await layers[1].new_channel() for _ in range(100)]
            non_local = layers[1].non_local_name(candidates[0])
            direct = next(
                c for c in candidates if layers[1].consistent_hash(c) != layers[1].consistent_hash(non_local)
            )
            await layers[1].send(direct, {"type": "direct"})
            for layer in layers:
                await layer.close_pools()
            return layers[0], direct

        reference, direct = asyncio.run(run())
        doc = inspect_groups()
        assert len(doc["groups"]) == 8 and [s["ok"] for s in doc["shards"]] == [True, True]
        assert {g["shard"] for g in doc["groups"]} == {0, 1}
        for group in doc["groups"]:
            assert group["shard"] == reference.consistent_hash(group["name"])
            assert servers[group["shard"]].exists(group["key"])
            assert not servers[1 - group["shard"]].exists(group["key"])
            for queue in group["queues"]:
                member = queue["members"][0]["channel"]
                assert queue["shard"] == reference.consistent_hash(reference.non_local_name(member))
                assert queue["depth_messages"] == servers[queue["shard"]].zcard(queue["key"]) > 0
        assert {q["shard"] for g in doc["groups"] for q in g["queues"]} == {0, 1}

        queues = inspect_queues()
        misplaced = [q for q in queues["queues"] if q["misplaced"]]
        assert [q["channel"] for q in misplaced] == [reference.non_local_name(direct)]
        assert misplaced[0]["shard"] == reference.consistent_hash(direct) != misplaced[0]["receiver_shard"]
        assert queues["summary"]["misplaced_queues"] == 1
        for server in servers:
            server.close()


def test_one_shard_down_the_other_is_reported(settings, key_prefix):
    config = layer_config([REDIS_URL, "redis://:hunter2@127.0.0.1:1/0"], key_prefix)
    use_layer(settings, config)
    ring = RedisChannelLayer(**config)
    on_first = [name for name in (f"job_events-{n}" for n in range(40)) if ring.consistent_hash(name) == 0]

    async def run():
        # Joining only touches the group's shard, so these joins work with shard 1 down. Layers
        # (random process prefixes) are added until members' queues sit on both shards.
        queue_shards = set()
        while len(queue_shards) < 2:
            layer = RedisChannelLayer(**config)
            for group in on_first[:3]:
                await layer.group_add(group, await layer.new_channel())
            queue_shards.add(layer.consistent_hash(f"specific.{layer.client_prefix}!"))
            await layer.close_pools()

    asyncio.run(run())
    doc = inspect_groups(timeout=2)
    assert [s["ok"] for s in doc["shards"]] == [True, False]
    assert doc["shards"][1]["host"] == "redis://:****@127.0.0.1:1/0" and doc["shards"][1]["error"]
    assert "hunter2" not in str(doc)
    assert sorted(g["name"] for g in doc["groups"]) == sorted(on_first[:3])
    queues = [q for g in doc["groups"] for q in g["queues"]]
    assert {q["shard"] for q in queues} == {0, 1}
    for queue in queues:
        assert queue["unreachable"] == (queue["shard"] == 1)
        assert queue["depth_messages"] == (None if queue["unreachable"] else 0)
