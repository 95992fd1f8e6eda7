import asyncio
import re
import time

import pytest
import redis
from channels_redis.core import RedisChannelLayer

from awx_eventdebug.channels.config import REDIS_LAYER
from awx_eventdebug.channels.groups import inspect_groups
from awx_eventdebug.channels.queues import escape_glob, inspect_queues
from awx_eventdebug.errors import Misconfigured, Unavailable
from tests.conftest import REDIS_URL
from tests.support.redis_servers import redis_server, sentinel_for

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


@pytest.fixture
def layer_settings(settings, key_prefix):
    config = layer_config([REDIS_URL], key_prefix)
    use_layer(settings, config)
    return config


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
        assert 86390 < group["ttl"] <= 86400
        members = [m["channel"] for q in group["queues"] for m in q["members"]]
        assert sorted(members) == sorted(channels)
        for queue in group["queues"]:
            first = queue["members"][0]["channel"]
            assert queue["key"] == reference.prefix + reference.non_local_name(first)
            assert all(
                reference.prefix + reference.non_local_name(m["channel"]) == queue["key"]
                for m in queue["members"]
            )
            assert queue["capacity"] == reference.get_capacity(first)
            assert queue["depth"] == redis_client.zcard(queue["key"])
            assert queue["shard"] == reference.consistent_hash(reference.non_local_name(first)) == 0
            assert queue["fill"] == round(100 * queue["depth"] / queue["capacity"], 1)
            assert all(m["stale"] is None for m in queue["members"])
        fills = [q["fill"] for q in group["queues"]]
        assert fills == sorted(fills, reverse=True)

    depths = {q["key"]: q["depth"] for q in groups["job_events-1"]["queues"]}
    receiver_queue = f"{reference.prefix}{reference.non_local_name(joined['job_events-1'][0])}"
    assert depths.pop(receiver_queue) == CAPACITY - 1
    assert sorted(depths.values()) == [SMALL_CAPACITY] * 3 + [CAPACITY] * 2
    assert doc["summary"] == {
        "groups": 2,
        "members": 12,
        "stale_members": 0,
        "queues": 6,
        "queues_over_80": 5,
        "queues_full": 5,
        "max_oldest_age": doc["summary"]["max_oldest_age"],
    }
    assert 0 <= doc["summary"]["max_oldest_age"] < 30


def test_queues_lists_every_queue_with_its_capacity(layer_settings, redis_client):
    layers, joined = fill_groups(layer_settings)
    doc = inspect_queues()
    queues = {q["key"]: q for q in doc["queues"]}
    assert len(queues) == 6
    for queue in queues.values():
        assert queue["kind"] == "process"
        assert queue["capacity"] == (SMALL_CAPACITY if queue["channel"].startswith("small.") else CAPACITY)
        assert queue["depth"] == redis_client.zcard(queue["key"])
        assert queue["misplaced"] is False
    assert doc["summary"]["messages"] == sum(redis_client.zcard(k) for k in queues)
    assert doc["inflight"] == []
    assert [q["depth"] for q in inspect_queues(min_depth=CAPACITY)["queues"]] == [CAPACITY, CAPACITY]


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
    assert escape_glob("a[b]*?\\") == "a\\[b\\]\\*\\?\\\\"


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
                assert queue["depth"] == servers[queue["shard"]].zcard(queue["key"]) > 0
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
        assert queue["depth"] == (None if queue["unreachable"] else 0)


@pytest.mark.parametrize(
    "host, expected",
    [
        ("redis://:hunter2@127.0.0.1:1/0", "redis redis://:****@127.0.0.1:1/0 unreachable"),
        (
            "unix:///tmp/edtest-missing-dir/redis.sock",
            "unix:///tmp/edtest-missing-dir/redis.sock unreachable",
        ),
    ],
)
def test_redis_down_is_unavailable_naming_the_host(settings, key_prefix, host, expected):
    use_layer(settings, layer_config([host], key_prefix))
    started = time.monotonic()
    with pytest.raises(Unavailable, match=re.escape(expected)) as raised:
        inspect_groups(timeout=0.5)
    # Both refuse at once; the bound only catches a wait for a timeout, with a loaded machine's room.
    assert time.monotonic() - started < 10
    assert "hunter2" not in str(raised.value)
    assert "\n" not in str(raised.value)
    with pytest.raises(Unavailable):
        inspect_queues(timeout=0.5)


def test_wrong_password_says_authentication_failed(settings, key_prefix):
    with redis_server("--requirepass", "right-one") as port:
        use_layer(settings, layer_config([f"redis://:wrong-one@127.0.0.1:{port}/0"], key_prefix))
        with pytest.raises(Unavailable, match="authentication failed") as raised:
            inspect_groups()
        assert "wrong-one" not in str(raised.value)
        use_layer(settings, layer_config([f"redis://127.0.0.1:{port}/0"], key_prefix))
        with pytest.raises(Unavailable, match="authentication"):
            inspect_groups()
        use_layer(settings, layer_config([f"redis://:right-one@127.0.0.1:{port}/0"], key_prefix))
        assert inspect_groups()["shards"][0]["ok"] is True


def test_budget_and_caps_truncate_and_say_so(layer_settings, settings):
    fill_groups(layer_settings, processes=3, sends=1)
    settings.EVENTDEBUG = {"INSPECT_MAX_MEMBERS": 4}
    doc = inspect_groups()
    assert sum(g["members_read"] for g in doc["groups"]) == 4
    assert doc["summary"]["members"] == 12
    assert doc["truncated"] == ["members read up to INSPECT_MAX_MEMBERS = 4"]

    settings.EVENTDEBUG = {"INSPECT_MAX_KEYS": 1}
    doc = inspect_groups()
    assert doc["summary"]["groups"] == 1
    assert "stopped at INSPECT_MAX_KEYS = 1 keys" in doc["truncated"]

    settings.EVENTDEBUG = {"INSPECT_TIME_BUDGET": 1e-9}
    doc = inspect_groups()
    assert doc["summary"]["groups"] == 0
    assert doc["truncated"] == ["stopped after the time budget (INSPECT_TIME_BUDGET = 1e-09 s)"]


def test_pubsub_layer_reports_subscribers(settings, key_prefix):
    config = {"hosts": [REDIS_URL], "prefix": key_prefix}
    use_layer(settings, config, backend="channels_redis.pubsub.RedisPubSubChannelLayer")
    from channels_redis.pubsub import RedisPubSubChannelLayer

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


def test_in_memory_layer_cannot_be_seen(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    doc = inspect_groups()
    assert "cannot be seen from another process" in doc["note"]
    assert doc["groups"] == [] and doc["summary"]["groups"] == 0


def test_unknown_alias_is_misconfigured(settings):
    with pytest.raises(Misconfigured):
        inspect_groups("nope")
    settings.CHANNEL_LAYERS = {}
    with pytest.raises(Misconfigured):
        inspect_queues()


def populate(
    client, prefix, groups=2000, members=5, processes=400, big_group=3000, big_queue=20000, other=90000
):
    """AWX-like layer state written directly (fast): groups of ``members`` over ``processes``
    process queues, one broadcast group of ``big_group`` members, one queue of ``big_queue``
    messages, and ``other`` keys that are not the layer's."""
    now = time.time()
    pipe = client.pipeline(transaction=False)
    for group in range(groups):
        channels = {
            f"specific.p{(group * members + m) % processes}!c{group}-{m}": now for m in range(members)
        }
        pipe.zadd(f"{prefix}:group:job_events-{group}", channels)
    pipe.zadd(f"{prefix}:group:broadcast-group_send", {f"specific.p{m}!b{m}": now for m in range(big_group)})
    for process in range(processes):
        pipe.zadd(f"{prefix}specific.p{process}!", {f"message-{n}": now for n in range(3)})
    pipe.execute()
    for start in range(0, big_queue, 5000):
        client.zadd(f"{prefix}specific.p0!", {f"bulk-{n}": now for n in range(start, start + 5000)})
    for start in range(0, other, 10000):
        for n in range(start, start + 10000):
            pipe.set(f"unrelated:{n}", "x")
        pipe.execute()


READ_ONLY = {
    "scan",
    "zcard",
    "zcount",
    "zrange",
    "zrangebyscore",
    "zmscore",
    "ttl",
    "client",
    "hello",
    "ping",
    "select",
    "auth",
}


def test_inspecting_100k_keys_leaves_no_slow_command_and_writes_nothing(settings, key_prefix):
    # A server of this test's own, logging every command, so the shared one keeps its settings.
    with redis_server("--slowlog-log-slower-than", "0", "--slowlog-max-len", "100000") as port:
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        populate(client, key_prefix)
        keys = client.dbsize()
        assert keys > 92000
        use_layer(settings, layer_config([url], key_prefix, capacity=100000))
        # SLOWLOG times include moments the server was not scheduled (2 cores shared by many
        # processes); a command slow by nature (KEYS over 100k keys) is slow on every attempt.
        slowest_per_attempt = []
        for _attempt in range(3):
            client.slowlog_reset()
            groups = inspect_groups(limit=5)
            queues = inspect_queues(limit=5)
            log = client.slowlog_get(100000)
            log = [entry for entry in log if not entry["command"].lower().startswith(b"slowlog")]
            commands = {entry["command"].split()[0].decode().lower() for entry in log}
            assert commands <= READ_ONLY, commands - READ_ONLY
            assert {"scan", "zrange", "zcount", "ttl", "zmscore"} <= commands
            slowest = max(log, key=lambda entry: entry["duration"])
            slowest_per_attempt.append((slowest["duration"], slowest["command"][:60]))
            if slowest["duration"] < 10000:
                break
        assert min(slowest_per_attempt)[0] < 10000, f"slowest commands (microseconds): {slowest_per_attempt}"
        assert client.dbsize() == keys
        assert groups["summary"]["groups"] == 2001 and groups["summary"]["members"] == 13000
        assert groups["truncated"] == []
        broadcast = next(g for g in groups["groups"] if g["name"] == "broadcast-group_send")
        assert broadcast["members_read"] == 3000
        assert queues["summary"]["queues"] == 400 and queues["queues"][0]["depth"] == 20003
        client.close()


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
    assert (backup["key"], backup["depth"], backup["queue_depth"]) == (queue_key + "$inflight", 1, 0)
    assert backup["left_behind"] is False and backup["oldest_age"] < 30
    assert doc["summary"]["inflight_keys"] == 1 and doc["summary"]["inflight_left_behind"] == 0


def test_sentinel_hosts(settings, key_prefix):
    with redis_server() as port, sentinel_for(port, "edtest") as sentinel_port:
        sentinel = {"master_name": "edtest", "sentinels": [("127.0.0.1", sentinel_port)]}
        config = layer_config([sentinel], key_prefix)
        use_layer(settings, config)
        fill_groups(config, processes=1, sends=2)
        doc = inspect_groups()
        assert doc["shards"][0] == {
            "index": 0,
            "host": f"sentinel://127.0.0.1:{sentinel_port}/edtest",
            "ok": True,
            "error": "",
        }
        assert doc["summary"]["groups"] == 2 and doc["summary"]["members"] == 4
        assert redis.Redis(port=port).zcard(doc["groups"][0]["queues"][0]["key"]) == 2


def test_every_tcp_and_unix_socket_host_form(settings, key_prefix, tmp_path):
    socket_path = tmp_path / "redis.sock"
    with redis_server("--unixsocket", str(socket_path), "--unixsocketperm", "700") as port:
        forms = [
            f"redis://127.0.0.1:{port}/0",
            ("127.0.0.1", port),
            {"host": "127.0.0.1", "port": port},
            {"address": f"redis://127.0.0.1:{port}/0"},
            f"unix://{socket_path}",
        ]
        fill_groups(layer_config([forms[0]], key_prefix), processes=1, sends=1)
        for form in forms:
            use_layer(settings, layer_config([form], key_prefix))
            doc = inspect_groups()
            assert doc["shards"][0]["ok"] is True, form
            assert doc["summary"]["groups"] == 2 and doc["summary"]["members"] == 4, form
