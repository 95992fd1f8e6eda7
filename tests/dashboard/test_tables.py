"""The overflow and queues tables as the server renders them (readable without JavaScript), from
the same core functions as their endpoints, and each failing on its own."""

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.contrib.auth import get_user_model

from awx_eventdebug.channels.backends import BACKENDS, PUBSUB_LAYER
from awx_eventdebug.dashboard.tables import queues_table, worst_queues
from awx_eventdebug.overflow.upsert import Counts, add_counts
from tests.conftest import REDIS_URL
from tests.support.channel_layers import use_layer
from tests.support.redis_servers import closed_port

pytestmark = pytest.mark.django_db

PAGE = "/api/eventdebug/"
AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture
def admin_client(client, redis_layer_settings):
    client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.invalid", "pw"))
    return client


@pytest.fixture
def overflow_rows():
    """Two groups' overflow, written by the capture's own upsert."""

    def counts(drops, members):
        return Counts(AT, AT + timedelta(minutes=3), drops=drops, queues_over=drops, max_group_size=members)

    add_counts(
        {
            ("awx-1", "broadcast-group_send", AT, "live"): counts(120, 4),
            ("awx-2", "broadcast-group_send", AT, "live"): counts(30, 4),
            ("awx-1", "job_events-49", AT, "ingest"): counts(7, 1),
        }
    )


def rows_of(html, section):
    """The cells' text of each body row of a section's table."""
    part = html[html.index(f'<section id="{section}"') :]
    part = part[: part.index("</section>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", part, re.S)[1:]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]


def test_overflow_table_is_rendered_on_the_server(admin_client, overflow_rows):
    html = admin_client.get(PAGE).content.decode()
    seen = ["2026-11-27 10:00:00", "2026-11-27 10:03:00"]
    assert rows_of(html, "overflow") == [
        ["", "broadcast-group_send", "150", "50", "150", "4", "2", *seen],
        ["", "job_events-49", "7", "2.33", "7", "1", "1", *seen],
    ]
    assert "2 groups dropped 157 messages; the 2 with the most drops:" in html
    # The script refreshes the same columns from the endpoint.
    assert '<script id="overflow-columns" type="application/json">' in html


def test_no_overflow_says_so(admin_client):
    html = admin_client.get(PAGE).content.decode()
    assert "No group dropped a message." in html
    assert rows_of(html, "overflow") == []


def test_queues_table_is_rendered_on_the_server(admin_client, key_prefix):
    layer = RedisChannelLayer(hosts=[REDIS_URL], prefix=key_prefix, capacity=100)
    channels = []

    async def fill():
        channels.append(await layer.new_channel())
        await layer.group_add("job_events-5", channels[0])
        await layer.group_add("broadcast-group_send", await layer.new_channel())
        for _ in range(3):
            await layer.group_send("job_events-5", {"type": "x"})
        await layer.close_pools()

    asyncio.run(fill())
    html = admin_client.get(PAGE).content.decode()
    key = key_prefix + channels[0][: channels[0].index("!") + 1]
    [row] = rows_of(html, "queues")  # one process queue, under both groups
    assert row[:2] == ["", key]  # 3 % full: not marked
    assert sorted(row[2].split(", ")) == ["broadcast-group_send", "job_events-5"]
    assert row[3:7] == ["3", "0", "100", "3.0 %"]
    assert "2 groups · 2 members · 1 queues · 0 over 80 % · 0 full" in html


def test_redis_down_empties_only_the_queues_table(admin_client, overflow_rows, settings):
    with closed_port() as port:
        redis_down_page(admin_client, settings, port)


def redis_down_page(admin_client, settings, port):
    use_layer(settings, {"hosts": [f"redis://127.0.0.1:{port}/0"]})
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": 0.5}
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Channel layer unavailable: redis redis://127.0.0.1:{port}/0 unreachable" in html
    assert rows_of(html, "queues") == []
    assert len(rows_of(html, "overflow")) == 2
    assert 'id="lag-chart"' in html and 'id="gauge-form"' in html


def test_worst_queues_are_distinct_worst_first_and_name_their_groups():
    def queue(key, fill, oldest, depth):
        return {
            "key": key,
            "fill_percent": fill,
            "oldest_age_seconds": oldest,
            "depth_messages": depth,
            "members": [{}],
        }

    channels = {
        "groups": [
            {"name": "a", "queues": [queue("q1", 10.0, 1.0, 10), queue("q2", 50.0, 0.5, 50)]},
            {"name": "b", "queues": [queue("q1", 10.0, 1.0, 10), queue("q3", 10.0, 2.0, 10)]},
            {"name": "c", "queues": [queue("q4", None, None, None)]},  # on an unreachable shard
        ]
    }
    shown = worst_queues(channels, limit=3)
    assert [(q["key"], q["groups"]) for q in shown] == [("q2", ["a"]), ("q3", ["b"]), ("q1", ["a", "b"])]
    assert "members" not in shown[0]


def test_a_pubsub_layer_shows_its_note_and_no_queue_rows(settings, key_prefix):
    config = {"hosts": [REDIS_URL], "prefix": key_prefix}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": PUBSUB_LAYER, "CONFIG": config}}

    async def subscribed():
        layer = RedisPubSubChannelLayer(**config)
        await layer.group_add("job_events-7", await layer.new_channel())
        shown = await asyncio.to_thread(queues_table)
        await layer.flush()
        return shown

    shown = asyncio.run(subscribed())
    assert shown["status"] == BACKENDS[PUBSUB_LAYER].note
    assert shown["rows"] == [] and shown["error"] == ""


def test_full_queues_and_recent_drops_are_marked_in_words(admin_client, key_prefix, settings):
    settings.EVENTDEBUG = {"CHECK_MAX_FILL": 50}
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] = 10

    async def fill():  # three processes: three process queues
        for group, messages in (("job_events-1", 10), ("job_events-2", 6), ("job_events-3", 2)):
            layer = RedisChannelLayer(hosts=[REDIS_URL], prefix=key_prefix, capacity=10)
            await layer.group_add(group, await layer.new_channel())
            for _ in range(messages):
                await layer.group_send(group, {"type": "x"})
            await layer.close_pools()

    asyncio.run(fill())
    now = datetime.now(UTC)
    add_counts({("awx-1", "job_events-1", now, "live"): Counts(now, now, 3, 3, 1)})
    add_counts({("awx-1", "job_events-9", AT, "live"): Counts(AT, AT, 5, 5, 1)})
    html = admin_client.get(PAGE).content.decode()
    assert [(row[0], row[6]) for row in rows_of(html, "queues")] == [
        ("full", "100.0 %"),
        ("over 50 %", "60.0 %"),
        ("", "20.0 %"),
    ]
    assert [(row[0], row[1]) for row in rows_of(html, "overflow")] == [
        ("", "job_events-9"),
        ("drops in last 15m", "job_events-1"),
    ]
    assert html.count('<tr class="marked">') == 3
