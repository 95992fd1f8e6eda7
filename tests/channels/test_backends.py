"""The table of channel-layer backends, and that every caller reads it: a backend added to the
table is loaded, inspected, listened to and checked without another change."""

import pytest

from awx_eventdebug.channels.backends import (
    BACKENDS,
    INMEMORY_LAYER,
    OTHER,
    PUBSUB_LAYER,
    REDIS_LAYER,
    backend_support,
)
from awx_eventdebug.channels.config import load_layer
from awx_eventdebug.channels.groups import inspect_groups
from awx_eventdebug.channels.queues import inspect_queues
from awx_eventdebug.checks import W052_REDIS_SOCKET_TIMEOUT, receive_timeout_findings
from awx_eventdebug.errors import Misconfigured
from awx_eventdebug.listen.listener import redis_layer
from tests.conftest import REDIS_URL
from tests.support.channel_layers import SUBCLASSED_LAYER, fill_groups, layer_config, use_layer

REDIS_8 = (8, 0, 0)
CHANNELS_REDIS_4_3 = (4, 3, 0)


@pytest.mark.parametrize(
    "backend, kind, hosts",
    [
        (REDIS_LAYER, "redis", 1),
        (PUBSUB_LAYER, "pubsub", 1),
        (INMEMORY_LAYER, "inmemory", 0),
        # A layer class the table does not know (one that does not import, or no BACKEND, is
        # refused: tests/faults/test_layer_config.py).
        (SUBCLASSED_LAYER, "other", 0),
    ],
)
def test_each_backend_is_loaded_as_the_table_says(settings, backend, kind, hosts):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend, "CONFIG": {"hosts": [REDIS_URL]}}}
    layer = load_layer()
    assert layer.describe()["kind"] == kind
    assert len(layer.hosts) == hosts  # only Redis hosts are decoded, pinged and read


def test_only_a_layer_with_groups_in_redis_has_no_note():
    assert [path for path, support in BACKENDS.items() if not support.note] == [REDIS_LAYER]
    assert backend_support("myproject.layers.KafkaChannelLayer") is OTHER
    assert "not a channels_redis layer" in OTHER.note


@pytest.mark.parametrize("backend", [INMEMORY_LAYER, SUBCLASSED_LAYER])
def test_a_layer_that_cannot_be_read_says_why(settings, backend):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend}}
    note = backend_support(backend).note
    groups = inspect_groups()
    assert groups["note"] == note and groups["groups"] == [] and groups["summary"]["groups"] == 0
    queues = inspect_queues()
    assert queues["note"] == note and queues["queues"] == [] and queues["summary"]["queues"] == 0
    with pytest.raises(Misconfigured, match="listen needs channels_redis.core.RedisChannelLayer"):
        redis_layer("default")


def test_a_backend_added_to_the_table_is_read_by_every_caller(settings, key_prefix, monkeypatch):
    config = layer_config([REDIS_URL], key_prefix)
    fill_groups(config, processes=1, sends=1)
    use_layer(settings, config, backend=SUBCLASSED_LAYER)
    monkeypatch.setitem(BACKENDS, SUBCLASSED_LAYER, BACKENDS[REDIS_LAYER])

    assert inspect_groups()["summary"]["groups"] == 2
    assert inspect_queues()["summary"]["queues"] == 2
    assert redis_layer("default").backend == SUBCLASSED_LAYER
    layer = settings.CHANNEL_LAYERS["default"]
    found = receive_timeout_findings(layer, REDIS_8, CHANNELS_REDIS_4_3)
    assert [finding.id for finding in found] == [W052_REDIS_SOCKET_TIMEOUT]


@pytest.mark.parametrize(
    "backend, warned", [(REDIS_LAYER, True), (PUBSUB_LAYER, False), (INMEMORY_LAYER, False)]
)
def test_receive_timeout_warning_only_for_a_blocking_receive(backend, warned):
    layer = {"BACKEND": backend, "CONFIG": {"hosts": [REDIS_URL]}}
    assert bool(receive_timeout_findings(layer, REDIS_8, CHANNELS_REDIS_4_3)) == warned
    # An explicit socket_timeout on every host, or a redis-py before 8, needs no warning.
    layer["CONFIG"]["hosts"] = [{"address": REDIS_URL, "socket_timeout": None}]
    assert receive_timeout_findings(layer, REDIS_8, CHANNELS_REDIS_4_3) == []
    assert receive_timeout_findings({"BACKEND": backend}, (7, 4, 0), CHANNELS_REDIS_4_3) == []
    # channels_redis 3 (AWX 24.6.1) reaches Redis through aioredis, whatever redis-py is installed.
    layer["CONFIG"]["hosts"] = [REDIS_URL]
    assert receive_timeout_findings(layer, REDIS_8, (3, 4, 1)) == []
