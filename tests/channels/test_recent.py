"""One recent reading of the layer is shared by dashboard tabs and GET channels/ requests asking
the same question, for INSPECT_CACHE_SECONDS, with its age shown."""

import time

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.cache import cache

from awx_eventdebug.channels.queues import DEFAULT_LIMIT, MAX_LIMIT
from awx_eventdebug.channels.recent import recent_groups
from tests.support.channel_layers import fill_groups, layer_config, use_layer
from tests.support.redis_servers import redis_server

URL = "/api/eventdebug/channels/"


@pytest.fixture
def layer(settings, key_prefix):
    cache.clear()
    config = layer_config(["redis://127.0.0.1:6379/0"], key_prefix)
    use_layer(settings, config)
    return config


def test_requests_within_the_time_share_one_reading(settings, layer):
    settings.EVENTDEBUG = {"INSPECT_CACHE_SECONDS": 30}
    first = recent_groups("*", 100)
    fill_groups(layer)  # the layer changes; the shared reading does not until it is too old
    time.sleep(0.2)
    second = recent_groups("*", 100)
    assert second["generated_at"] == first["generated_at"] and second["summary"]["groups"] == 0
    assert second["age_seconds"] >= 0.1
    # Another question is another reading.
    assert recent_groups("job_events-*", 100)["summary"]["groups"] == 1


def test_a_changed_layer_or_zero_seconds_reads_afresh(settings, layer, key_prefix):
    settings.EVENTDEBUG = {"INSPECT_CACHE_SECONDS": 30}
    recent_groups("*", 100)
    fill_groups(layer)
    settings.EVENTDEBUG = {"INSPECT_CACHE_SECONDS": 0}
    assert recent_groups("*", 100)["summary"]["groups"] == 2
    use_layer(settings, layer_config(["redis://127.0.0.1:6379/0"], key_prefix + "-other"))
    settings.EVENTDEBUG = {"INSPECT_CACHE_SECONDS": 30}
    assert recent_groups("*", 100)["summary"]["groups"] == 0


def test_the_dashboard_table_shows_the_age(settings, layer):
    from awx_eventdebug.dashboard.tables import queues_table

    assert "s ago" in queues_table()["status"]


def scans(client) -> int:
    """SCAN commands the server ran: each reading of its small layer is one."""
    return client.info("commandstats").get("cmdstat_scan", {}).get("calls", 0)


@pytest.mark.django_db
def test_varying_the_limit_does_not_force_readings(settings, client, key_prefix):
    """GET channels/?limit=1, ?limit=2, ...: limits up to the default share one reading, larger
    ones one more, on a Redis of the test's own whose commands are counted."""
    cache.clear()
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", "pw"))
    settings.EVENTDEBUG = {"INSPECT_CACHE_SECONDS": 300}  # no reading ages out during the test
    with redis_server() as port:
        config = layer_config([f"redis://127.0.0.1:{port}/0"], key_prefix)
        use_layer(settings, config)
        fill_groups(config)
        redis_client = redis.Redis(port=port)
        before = scans(redis_client)
        small = [client.get(URL, {"limit": limit}).json() for limit in (*range(1, DEFAULT_LIMIT + 1), 1)]
        after_small = scans(redis_client)
        large = [client.get(URL, {"limit": limit}).json() for limit in (MAX_LIMIT, DEFAULT_LIMIT + 1, 2, 7)]
        after_large = scans(redis_client)
        redis_client.close()
    assert (after_small - before, after_large - after_small) == (1, 1)
    # Each answer is the reading cut to its own limit.
    assert [(len(doc["groups"]), doc["limit"]) for doc in small[:3]] == [(1, 1), (2, 2), (2, 3)]
    assert [(len(doc["groups"]), doc["limit"]) for doc in large] == [(2, MAX_LIMIT), (2, 101), (2, 2), (2, 7)]
    assert {doc["summary"]["members"] for doc in small + large} == {12}
