import re
from importlib.metadata import version

import pytest
import redis
from channels_redis.core import RedisChannelLayer

from awx_eventdebug.channels.config import consistent_hash, decode_hosts, load_layer
from awx_eventdebug.channels.groups import inspect_groups
from awx_eventdebug.channels.queues import inspect_queues
from awx_eventdebug.errors import Misconfigured
from awx_eventdebug.secrets import mask_secrets
from tests.support.channel_layers import fill_groups, layer_config, use_layer
from tests.support.redis_servers import redis_server, sentinel_for


def test_mask_url_hides_password_only():
    assert mask_secrets("redis://:s3cret@redis.example:6380/2") == "redis://:****@redis.example:6380/2"
    assert mask_secrets("rediss://awx:s3cret@h/0") == "rediss://awx:****@h/0"
    assert mask_secrets("unix:///var/run/redis/redis.sock") == "unix:///var/run/redis/redis.sock"


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


def test_unknown_alias_is_misconfigured(settings):
    with pytest.raises(Misconfigured):
        inspect_groups("nope")
    settings.CHANNEL_LAYERS = {}
    with pytest.raises(Misconfigured):
        inspect_queues()


@pytest.mark.skipif(
    version("channels-redis").startswith("3."),
    reason="channels_redis 3's aioredis 1.3 sentinel client fails on Python 3.11 "
    "(asyncio.wait of bare coroutines)",
)
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
