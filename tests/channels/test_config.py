import re

import pytest
from channels_redis.core import RedisChannelLayer

from awx_eventdebug.channels.config import consistent_hash, decode_hosts, load_layer, mask_url, ping_hosts
from awx_eventdebug.errors import Misconfigured


def test_mask_url_hides_password_only():
    assert mask_url("redis://:s3cret@redis.example:6380/2") == "redis://:****@redis.example:6380/2"
    assert mask_url("rediss://awx:s3cret@h/0") == "rediss://awx:****@h/0"
    assert mask_url("unix:///var/run/redis/redis.sock") == "unix:///var/run/redis/redis.sock"


def test_decode_hosts_every_form():
    hosts = decode_hosts(
        [
            "unix:///var/run/redis/redis.sock",
            ("10.0.0.5", 6379),
            {"address": "redis://:pw@h:1/0"},
            {"host": "h2", "port": 7000, "password": "pw"},
            {"master_name": "awx", "sentinels": [("s1", 26379), ("s2", 26379)], "password": "pw"},
        ]
    )
    assert [h.label for h in hosts] == [
        "unix:///var/run/redis/redis.sock",
        "redis://10.0.0.5:6379",
        "redis://:****@h:1/0",
        "redis://h2:7000",
        "sentinel://s1:26379,s2:26379/awx",
    ]
    assert all("pw" not in h.label for h in hosts)
    assert decode_hosts(None)[0].label == "redis://localhost:6379"


def test_hosts_as_a_string_is_a_misconfiguration():
    with pytest.raises(Misconfigured):
        decode_hosts("redis://localhost:6379")


@pytest.mark.parametrize("ring", [1, 2, 3, 7])
def test_consistent_hash_matches_channels_redis(ring):
    layer = RedisChannelLayer(hosts=[f"redis://127.0.0.1:{6379 + i}" for i in range(ring)])
    for name in ["broadcast-group_send", "job_events-49", "specific.abc!", "asgi:group:x", "é"]:
        assert consistent_hash(name, ring) == layer.consistent_hash(name)


def test_load_layer_applies_channels_redis_defaults_and_capacity_rules(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": ["redis://127.0.0.1:6379/0"],
                "channel_capacity": {"http.request": 200, re.compile(r"^websocket.send\!.+"): 20},
            },
        }
    }
    layer = load_layer()
    reference = RedisChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    assert (layer.prefix, layer.capacity, layer.expiry, layer.group_expiry) == ("asgi", 100, 60, 86400)
    for channel in ["http.request", "websocket.send!abc", "specific.x!y", "other"]:
        assert layer.capacity_for(channel) == reference.get_capacity(channel)
    assert layer.queue_key("specific.abc!def") == "asgispecific.abc!"
    assert layer.group_key("job_events-1") == "asgi:group:job_events-1"


def test_unknown_alias(settings):
    with pytest.raises(Misconfigured, match="no channel layer 'nope'"):
        load_layer("nope")


def test_ping_real_redis_and_a_dead_port(redis_layer_settings, settings):
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"].append("redis://:secret@127.0.0.1:1/0")
    ok, dead = ping_hosts(load_layer())
    assert ok.ok and ok.error == ""
    assert not dead.ok and dead.host == "redis://:****@127.0.0.1:1/0" and dead.error


def test_client_uses_the_app_timeouts_over_the_hosts_own():
    # channels_redis hosts under redis-py 8 carry socket_timeout None; the app's client must not
    # inherit it (nor fail on the duplicate keyword).
    [by_url, by_host] = decode_hosts(
        [
            {"address": "redis://127.0.0.1:6379/0", "socket_timeout": None},
            {"host": "h", "socket_timeout": None},
        ]
    )
    for host in (by_url, by_host):
        pool = host.client(timeout=1.5).connection_pool
        assert pool.connection_kwargs["socket_timeout"] == 1.5
        assert pool.connection_kwargs["socket_connect_timeout"] == 1.5
