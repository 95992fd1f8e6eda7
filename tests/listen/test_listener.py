import asyncio
import math
import time
from datetime import UTC, datetime

import pytest
from channels_redis.core import RedisChannelLayer

from awx_eventdebug.awx.messages import group_names
from awx_eventdebug.channels.config import load_layer
from awx_eventdebug.errors import Misconfigured, Unavailable
from awx_eventdebug.listen.listener import STOP_DURATION, Listener, ListenState, redis_layer
from example_settings.awxschema.emit import event_payload, layer_message
from tests.conftest import REDIS_URL
from tests.support.awx_sender import start_sender
from tests.support.redis_servers import redis_server_process

T0 = datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)


@pytest.fixture
def listen_layer(settings, key_prefix):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": key_prefix, "capacity": 10000},
        }
    }
    return load_layer("default")


def not_checked(missing):
    """The causes of ``missing`` counters before any check against the database."""
    causes = dict.fromkeys(("no_output", "live_updates_off", "rate_limited", "not_stored", "lost"), 0)
    return {
        "cause_counters": {**causes, "unchecked": missing},
        "lost_counters": 0,
        "checked": None,
        "check_errors": {},
        "overflow_drops": None,
        "awx": {"max_websocket_events_per_second": 30, "ui_live_updates_enabled": True},
    }


def test_state_lag_is_receive_time_minus_created_exactly():
    state = ListenState(["job_events-42"])
    received = T0.timestamp() + 1.5
    for counter, offset in [(1, 0.0), (2, 0.5), (4, 1.0)]:
        created = datetime.fromtimestamp(T0.timestamp() - offset, UTC)
        state.handle(layer_message(event_payload("job", 42, counter, created)), received)
    state.handle(layer_message({"group_name": "jobs", "status": "running"}), received)  # no created
    state.handle({"type": "websocket.send"}, received)
    state.handle(None, received)
    report = state.update(received)
    assert report["lag"] == {
        "last_seconds": 2.5,
        "avg_seconds": 2.0,
        "stdev_seconds": math.sqrt(0.5 / 3),
        "max_seconds": 2.5,
        "count": 3,
    }
    assert report["counters"] == {
        "missing": 1,
        "gaps": 1,
        "late": 0,
        "duplicates": 0,
        "highest": 4,
        "jobs": 1,
        **not_checked(1),
    }
    skipped = {"not_awx": 1, "undecodable": 1, "no_created": 1, "untracked_counter": 0}
    assert report["skipped_messages"] == skipped
    assert (report["received_messages"], report["events"], report["needs_relay_messages"]) == (6, 3, 4)


def test_counters_are_tracked_per_job_on_a_broadcast_group():
    state = ListenState(["broadcast-group_send"])
    for job, counter in [(1, 1), (2, 1), (1, 2), (2, 3)]:
        state.handle(layer_message(event_payload("job", job, counter, T0)), T0.timestamp())
    assert state.counter_figures() == {
        "missing": 1,
        "gaps": 1,
        "late": 0,
        "duplicates": 0,
        "highest": None,
        "jobs": 2,
        **not_checked(1),
    }


def members(client, layer, group):
    return [m.decode() for m in client.zrange(layer.group_key(group), 0, -1)]


def test_listens_to_another_process_and_leaves_the_group(listen_layer, redis_client, key_prefix):
    counters = [c for c in range(1, 201) if c not in (50, 51, 120)]
    seen = {}

    def joined(info):
        seen["members"] = members(redis_client, listen_layer, "job_events-42")
        seen["sender"] = start_sender(key_prefix, 42, counters, lag=0.5, rate=1000)

    def update(report):
        if report["received_messages"] >= len(counters):
            listener.stop(STOP_DURATION)

    listener = Listener(
        listen_layer, group_names(42, "job"), duration=60, interval=0.1, on_joined=joined, on_update=update
    )
    started = time.monotonic()
    summary = listener.run()
    seen["sender"].join(10)
    # Stopped by the update hook once every event arrived, not by the duration.
    assert time.monotonic() - started < 60
    channel = summary["channel"]
    assert channel.startswith("eventdebug.") and seen["members"] == [channel]
    assert (summary["received_messages"], summary["events"]) == (len(counters), len(counters))
    figures = {
        name: summary["counters"][name] for name in ("missing", "gaps", "late", "duplicates", "highest")
    }
    assert figures == {"missing": 3, "gaps": 2, "late": 0, "duplicates": 0, "highest": 200}
    # No database for this test: the gaps' causes could not be checked, so none is called lost.
    assert (summary["counters"]["cause_counters"]["unchecked"], summary["counters"]["lost_counters"]) == (
        3,
        0,
    )
    assert "job_events-42" in summary["counters"]["check_errors"]
    # created was stamped 0.5 s before each send; the rest is the time on the way (same host),
    # which a loaded machine can stretch to seconds: only the lower bound is exact.
    assert 0.5 <= summary["overall"]["avg_seconds"] <= summary["lag"]["max_seconds"] < 30
    assert summary["lag"]["count"] == len(counters)
    assert summary["peaks"]["max"]["max_seconds"] == summary["overall"]["max_seconds"]
    assert summary["stopped"] == "duration" and summary["not_left"] == []
    # Left the group, and nothing of ours stays in Redis: no queue, no $inflight backup.
    assert members(redis_client, listen_layer, "job_events-42") == []
    assert list(redis_client.scan_iter(match=f"{key_prefix}*", count=1000)) == []


def test_duration_stops_an_idle_listener(listen_layer, redis_client):
    updates = []
    started = time.monotonic()
    summary = Listener(
        listen_layer, ["job_events-9"], duration=0.6, interval=0.2, on_update=updates.append
    ).run()
    # Never before the duration; the upper bound only catches a listener that ignores it (a
    # loaded CI machine can delay the last BZPOPMIN round by seconds).
    assert 0.6 <= time.monotonic() - started < 30
    assert summary["stopped"] == "duration" and summary["events"] == 0 and summary["lag"] is None
    # However late the loop wakes, the update due at the deadline is sent.
    assert len(updates) >= 1 and updates[0]["queue"]["capacity_messages"] == 10000
    assert summary["queue"]["depth_messages"] == 0
    assert members(redis_client, listen_layer, "job_events-9") == []


def test_the_update_due_at_the_deadline_is_sent_and_the_summary_has_the_depth(listen_layer):
    # duration == interval: the first update and the deadline fall due at the same instant.
    updates = []
    summary = Listener(
        listen_layer, ["job_events-10"], duration=0.3, interval=0.3, on_update=updates.append
    ).run()
    assert [update["type"] for update in updates] == ["update"]
    assert summary["stopped"] == "duration" and summary["queue"]["depth_messages"] == 0


def test_relay_subscription_as_a_browser_does_and_unsubscribed_on_exit(listen_layer):
    # Stand in for a web node's RelayConsumer: a member of broadcast-group_send.
    async def relay_consumer_channel():
        layer = RedisChannelLayer(**listen_layer_config(listen_layer))
        channel = await layer.new_channel()
        await layer.group_add("broadcast-group_send", channel)
        return layer, channel

    relay_layer, relay_channel = asyncio.run(relay_consumer_channel())
    summary = Listener(listen_layer, ["job_events-6"], duration=0.3, relay=True).run()

    async def received():
        messages = [await relay_layer.receive(relay_channel) for _ in range(2)]
        await relay_layer.group_discard("broadcast-group_send", relay_channel)
        await relay_layer.close_pools()
        return messages

    subscribe, unsubscribe = asyncio.run(received())
    channel = summary["channel"]
    assert subscribe == {"type": "consumer.subscribe", "groups": ["job_events-6"], "origin_channel": channel}
    assert unsubscribe == {
        "type": "consumer.unsubscribe",
        "groups": ["job_events-6"],
        "origin_channel": channel,
    }
    assert summary["relay"] == {"group": "broadcast-group_send", "unsubscribed": True}


def listen_layer_config(layer):
    return {"hosts": [REDIS_URL], "prefix": layer.prefix, "capacity": layer.capacity}


def test_a_long_run_rejoins_before_group_expiry(settings, key_prefix, redis_client):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": key_prefix, "group_expiry": 2},
        }
    }
    layer = load_layer("default")
    scores = []

    def record_score(info):
        scores.append(redis_client.zscore(layer.group_key("job_events-8"), info["channel"]))

    Listener(
        layer, ["job_events-8"], duration=3.5, interval=0.25, on_joined=record_score, on_update=record_score
    ).run()
    # Joined at the start, then again every group_expiry / 2 (1 s): never forgotten by group_send.
    assert all(time_joined is not None for time_joined in scores)
    assert scores[-1] >= scores[0] + 0.9


def test_sharded_layer_queue_and_group_on_their_own_hosts(settings, key_prefix):
    # Two Redis hosts: the group key and the probe's queue key each live on the host
    # channels_redis hashes them to, which is where group_send puts the messages.
    with redis_server_process() as (port, _server):
        hosts = [REDIS_URL, f"redis://127.0.0.1:{port}/0"]
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": hosts, "prefix": key_prefix, "capacity": 10000},
            }
        }
        layer = load_layer("default")
        clients = [host.client() for host in layer.hosts]
        group_key = layer.group_key("job_events-3")
        seen = {}

        def joined(info):
            seen["members"] = [client.zcard(group_key) for client in clients]
            seen["sender"] = start_sender(key_prefix, 3, range(1, 51), hosts=hosts)

        def update(report):
            if report["received_messages"] >= 50:
                listener.stop(STOP_DURATION)

        listener = Listener(
            layer, ["job_events-3"], duration=30, interval=0.1, on_joined=joined, on_update=update
        )
        summary = listener.run()
        seen["sender"].join(10)
        assert summary["events"] == 50 and summary["counters"]["missing"] == 0
        assert seen["members"] == [int(index == layer.group_shard("job_events-3")) for index in range(2)]
        assert all(client.zcard(group_key) == 0 for client in clients)
        assert all(client.exists(summary["queue"]["key"]) == 0 for client in clients)


def test_non_redis_layer_and_unknown_alias_are_misconfigured(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with pytest.raises(Misconfigured, match="needs channels_redis.core.RedisChannelLayer"):
        redis_layer("default")
    with pytest.raises(Misconfigured, match="no channel layer 'nope'"):
        redis_layer("nope")


def test_unreachable_redis_is_unavailable_fast(settings):
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": 0.5}
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://:secret@127.0.0.1:1/0"]},
        }
    }
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"redis redis://:\*\*\*\*@127.0.0.1:1/0 unreachable") as error:
        redis_layer(None)
    assert "secret" not in str(error.value)
    # Port 1 refuses at once: the bound only catches retries or a wait for a timeout much longer
    # than REDIS_TIMEOUT, with room for a loaded machine.
    assert time.monotonic() - started < 10


def test_redis_error_mid_run_stops_with_the_error(listen_layer, redis_client, key_prefix):
    # The probe's own queue key is made unusable from outside: its next ZPOPMIN fails (WRONGTYPE)
    # as any Redis error would, and the probe must still leave its group.
    def joined(info):
        redis_client.delete(info["queue"]["key"])
        redis_client.set(info["queue"]["key"], "not a sorted set")

    summary = Listener(listen_layer, ["job_events-5"], duration=5, interval=0.1, on_joined=joined).run()
    assert summary["stopped"] == "error"
    assert "WRONGTYPE" in summary["error"]
    assert members(redis_client, listen_layer, "job_events-5") == []
    assert redis_client.exists(f"{key_prefix}:group:job_events-5") == 0
