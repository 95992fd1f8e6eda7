"""GET metrics/: Prometheus text read back with prometheus_client's own parser."""

import asyncio
from datetime import timedelta

import pytest
from channels_redis.core import RedisChannelLayer
from django.contrib.auth.models import User
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from awx_eventdebug.health.prometheus import escape_label
from awx_eventdebug.overflow.handler import OverflowCaptureHandler
from awx_eventdebug.overflow.record import OVERFLOW_FORMAT
from awx_eventdebug.overflow.upsert import Counts, add_counts
from tests.conftest import REDIS_URL
from tests.health.test_report import dead_redis, recent_job
from tests.support.capture_helpers import make_record

pytestmark = pytest.mark.django_db

URL = "/api/eventdebug/metrics/"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# What Prometheus 2.x and 3.x send.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
AWKWARD_GROUP = 'job_events-"9"\\x\nnext'


def scrape(client, accept=PROMETHEUS_ACCEPT):
    response = client.get(URL, HTTP_ACCEPT=accept)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == CONTENT_TYPE
    text = response.content.decode()
    return text, {family.name: family for family in text_string_to_metric_families(text)}


def samples(family, **labels):
    return [s for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items())]


def value(family, name=None, **labels):
    [sample] = [s for s in samples(family, **labels) if name is None or s.name == name]
    return sample.value


@pytest.fixture
def overflow_rows():
    now = timezone.now()
    add_counts(
        {
            ("awx-1", AWKWARD_GROUP, now - timedelta(minutes=2), "live"): Counts(now, now, 7, 7, 2),
            ("awx-2", AWKWARD_GROUP, now - timedelta(minutes=2), "live"): Counts(now, now, 2, 2, 2),
            ("awx-1", "broadcast-group_send", now - timedelta(minutes=3), "live"): Counts(now, now, 4, 4, 3),
            # Outside the 15 minute window: not exported.
            ("awx-1", "job_events-1", now - timedelta(hours=2), "live"): Counts(
                now - timedelta(hours=2), now - timedelta(hours=2), 50, 50, 3
            ),
        }
    )


def test_every_family_parses_with_the_expected_samples(
    admin_client, redis_layer_settings, overflow_rows, settings
):
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] = 10
    recent_job([1.0, 2.0, 3.0, 4.0])

    async def fill():
        layer = RedisChannelLayer(hosts=[REDIS_URL], prefix=redis_layer_settings["CONFIG"]["prefix"])
        channel = await layer.new_channel()
        for _ in range(6):
            await layer.send(channel, {"type": "job.event"})
        await layer.close_pools()
        return channel

    channel = asyncio.run(fill())
    text, families = scrape(admin_client)
    assert "# TYPE awx_eventdebug_event_lag_seconds summary" in text

    lag = families["awx_eventdebug_event_lag_seconds"]
    assert lag.type == "summary"
    assert value(lag, kind="job", quantile="0.5") == pytest.approx(2.5)
    assert value(lag, kind="job", quantile="0.99") == pytest.approx(3.97)
    assert value(lag, "awx_eventdebug_event_lag_seconds_count", kind="job") == 4
    assert value(lag, "awx_eventdebug_event_lag_seconds_sum", kind="job") == pytest.approx(10.0)
    assert value(lag, "awx_eventdebug_event_lag_seconds_count", kind="system_job") == 0
    assert {s.labels["quantile"] for s in samples(lag, kind="job") if "quantile" in s.labels} == {
        "0.5",
        "0.9",
        "0.95",
        "0.99",
    }

    drops = families["awx_eventdebug_overflow_group_drops"]
    assert [(s.labels["group"], s.labels["node"], s.value) for s in drops.samples] == [
        (AWKWARD_GROUP, "awx-1", 7),
        ("broadcast-group_send", "awx-1", 4),
        (AWKWARD_GROUP, "awx-2", 2),
    ]
    assert value(families["awx_eventdebug_overflow_drops"]) == 13

    queue = {"channel": channel.split("!")[0] + "!", "shard": "0"}
    assert value(families["awx_eventdebug_queue_depth"], **queue) == 6
    assert value(families["awx_eventdebug_queue_fill_percent"], **queue) == 60.0
    assert value(families["awx_eventdebug_queue_capacity"], **queue) == 10
    assert 0 <= value(families["awx_eventdebug_queue_oldest_message_age_seconds"], **queue) < 60
    assert value(families["awx_eventdebug_queues"]) == 1
    assert value(families["awx_eventdebug_window_seconds"]) == 900
    assert all(s.value == 1 for s in families["awx_eventdebug_up"].samples)


def test_top_n_bounds_the_series(admin_client, redis_layer_settings, overflow_rows, settings):
    settings.EVENTDEBUG = {"METRICS_TOP_GROUPS": 1}
    _, families = scrape(admin_client)
    assert [s.labels["node"] for s in families["awx_eventdebug_overflow_group_drops"].samples] == ["awx-1"]
    assert value(families["awx_eventdebug_overflow_drops"]) == 13


@pytest.mark.django_db(transaction=True)  # the handler writes its row from its own thread on close
def test_capture_counters_are_counters(admin_client, redis_layer_settings):

    handler = OverflowCaptureHandler(node='node "a"', flush_interval=3600)
    try:
        handler.emit(make_record(OVERFLOW_FORMAT, (1, 3, "job_events-1")))
        handler.emit(make_record("something else", ()))
        _, families = scrape(admin_client)
    finally:
        handler.close()
    parsed = families["awx_eventdebug_capture_parsed"]
    assert parsed.type == "counter"
    assert value(parsed, "awx_eventdebug_capture_parsed_total", node='node "a"') == 1
    assert value(families["awx_eventdebug_capture_ignored"], node='node "a"') == 1


def test_redis_down_is_up_0_and_the_rest_is_served(admin_client, settings):
    dead_redis(settings)
    recent_job([1.0])
    text, families = scrape(admin_client)
    up = families["awx_eventdebug_up"]
    assert value(up, section="channel_layer") == 0
    assert value(up, section="lag") == 1
    assert "awx_eventdebug_queue_depth" not in families
    assert value(
        families["awx_eventdebug_event_lag_seconds"], "awx_eventdebug_event_lag_seconds_count", kind="job"
    )
    assert "# channel_layer unavailable: redis redis://127.0.0.1:1/0 unreachable" in text


@pytest.mark.parametrize(
    "accept", ["text/plain;version=0.0.4", "application/openmetrics-text", "application/json", ""]
)
def test_no_accept_header_gets_a_406(admin_client, redis_layer_settings, accept):
    scrape(admin_client, accept)


def test_permissions_and_anonymous_opt_in(settings, redis_layer_settings):
    anonymous = APIClient()
    response = anonymous.get(URL, HTTP_ACCEPT=PROMETHEUS_ACCEPT)
    assert response.status_code == 401
    assert response["Content-Type"] == CONTENT_TYPE
    assert response.content.decode().startswith("# Authentication credentials were not provided.")
    plain = APIClient()
    plain.force_authenticate(User.objects.create_user("plain", password="pw"))
    assert plain.get(URL).status_code == 403
    auditor_user = User.objects.create_user("auditor", password="pw")
    auditor_user.is_system_auditor = True
    auditor = APIClient()
    auditor.force_authenticate(auditor_user)
    assert auditor.get(URL).status_code == 200
    assert auditor.post(URL).status_code == 403

    settings.EVENTDEBUG = {"METRICS_ALLOW_ANONYMOUS": True}
    scrape(anonymous)
    # The opt-in opens metrics only.
    assert anonymous.get("/api/eventdebug/report/").status_code == 401


@pytest.mark.parametrize(
    "raw, escaped",
    [("plain", "plain"), ('a"b', 'a\\"b'), ("a\\b", "a\\\\b"), ("a\nb", "a\\nb"), ('\\"\n', '\\\\\\"\\n')],
)
def test_label_escaping(raw, escaped):
    assert escape_label(raw) == escaped
