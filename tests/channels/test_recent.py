"""One recent reading of the layer is shared by dashboard tabs and GET channels/ requests asking
the same question, for INSPECT_CACHE_SECONDS, with its age shown."""

import time

import pytest
from django.core.cache import cache

from awx_eventdebug.channels.recent import recent_groups
from tests.support.channel_layers import fill_groups, layer_config, use_layer


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
    assert second["age"] >= 0.1
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
