"""The overflow, queues and worst-jobs tables as the server renders them (readable without
JavaScript), from the same core functions as their endpoints, and each failing on its own."""

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.contrib.auth import get_user_model

from awx_eventdebug.channels.backends import BACKENDS, PUBSUB_LAYER
from awx_eventdebug.dashboard.tables import queues_table, worst_queues
from awx_eventdebug.overflow.upsert import Counts, add_counts
from example_settings.awxschema.models import JobEvent
from tests.conftest import REDIS_URL
from tests.health.test_report import recent_job
from tests.support.channel_layers import use_layer
from tests.support.redis_servers import closed_port
from tests.support.workloads import add_job

pytestmark = pytest.mark.django_db

PAGE = "/api/eventdebug/"
AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
# Five years before any window the page offers: an import of old logs (eventdebug ingest).
OLD = datetime(2021, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def admin_client(client, redis_layer_settings):
    client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.invalid", "pw"))
    return client


@pytest.fixture
def overflow_rows():
    """Two groups' overflow ten minutes ago, and one's of years ago (ingested), written by the
    capture's own upsert; the recent rows' window start."""
    start = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)

    def counts(at, drops, members):
        return Counts(at, at + timedelta(minutes=3), drops=drops, queues_over=drops, max_group_size=members)

    add_counts(
        {
            ("awx-1", "broadcast-group_send", start, "live"): counts(start, 120, 4),
            ("awx-2", "broadcast-group_send", start, "live"): counts(start, 30, 4),
            ("awx-1", "job_events-49", start, "ingest"): counts(start, 7, 1),
            ("awx-1", "broadcast-group_send", OLD, "ingest"): counts(OLD, 21, 4),
        }
    )
    return start


def rows_of(html, section):
    """The cells' text of each body row of a section's table."""
    part = html[html.index(f'<section id="{section}"') :]
    part = part[: part.index("</section>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", part, re.S)[1:]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]


def test_overflow_table_is_rendered_on_the_server_over_the_pages_window(admin_client, overflow_rows):
    html = admin_client.get(PAGE).content.decode()
    seen = [f"{overflow_rows + timedelta(minutes=m):%Y-%m-%d %H:%M:%S}" for m in (0, 3)]
    # The drops of five years ago are not the window's: not counted, not mixed in.
    assert rows_of(html, "overflow") == [
        ["broadcast-group_send", "150", "50", "150", "4", "2", *seen],
        ["job_events-49", "7", "2.33", "7", "1", "1", *seen],
    ]
    assert "2 groups dropped 157 messages in the last 15m; the 2 with the most drops:" in html
    # The script refreshes the same columns from the endpoint.
    assert '<script id="overflow-columns" type="application/json">' in html


def test_no_overflow_in_the_window_says_so(admin_client, overflow_rows, settings):
    # The recent rows' last record (their start + 3 minutes) is 7 minutes ago: out of a 5m window,
    # the page's default when it is HEALTH_WINDOW.
    settings.EVENTDEBUG = {"HEALTH_WINDOW": "5m"}
    html = admin_client.get(PAGE).content.decode()
    assert "No group dropped a message in the last 5m." in html
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
    assert [row[0] for row in rows_of(html, "overflow")] == ["job_events-1"]  # job_events-9's is old
    assert html.count('<tr class="marked">') == 2


def test_worst_jobs_are_worst_first_and_link_to_their_output_in_awx(admin_client, settings):
    mild = recent_job([0.2, 0.3])
    slow = recent_job([1.0, 9.0])
    update = recent_job([2.0, 3.0], kind="project_update")
    add_job("job", datetime.now(UTC) - timedelta(hours=3), [50.0])  # out of the 15m window
    html = admin_client.get(PAGE).content.decode()
    rows = rows_of(html, "worst-jobs")
    assert [row[1] for row in rows] == ["job", "project_update", "job"]
    assert [row[4] for row in rows] == ["8.920 s", "2.990 s", "0.299 s"]
    links = [f'<a href="/#/jobs/playbook/{slow}/output">{slow}</a>']
    links += [f'<a href="/#/jobs/project/{update}/output">{update}</a>']
    links += [f'<a href="/#/jobs/playbook/{mild}/output">{mild}</a>']
    assert [row[0] for row in rows] == links
    assert "The 3 jobs with the highest p99 lag in the last 15m, worst first:" in html

    settings.EVENTDEBUG = {"AWX_UI_URL": "https://awx.example.com/"}
    html = admin_client.get(PAGE).content.decode()
    assert rows_of(html, "worst-jobs")[0][0].startswith(
        f'<a href="https://awx.example.com/#/jobs/playbook/{slow}/output">'
    )


def test_a_worst_job_without_a_job_id_is_listed_without_a_link(admin_client):
    """Events whose job is gone (AWX's job_id is nullable) are grouped under no job: shown as –,
    with no link to an output page of job "None"."""
    gone = recent_job([20.0, 30.0])
    kept = recent_job([1.0, 2.0])
    JobEvent.objects.filter(job_id=gone).update(job_id=None)
    rows = rows_of(admin_client.get(PAGE).content.decode(), "worst-jobs")
    assert [row[0] for row in rows] == ["–", f'<a href="/#/jobs/playbook/{kept}/output">{kept}</a>']


def test_the_worst_jobs_refresh_reads_the_same_jobs_from_get_report(admin_client, settings):
    """layer_tables.js refreshes the table from GET report/'s lag.worst_jobs over the page's
    window, the links from the page's templates: the same jobs, as many, the same links."""
    settings.EVENTDEBUG = {"AWX_UI_URL": "https://awx.example.com/"}
    jobs = [recent_job([1.0 + n, 2.0 * n]) for n in range(7)] + [recent_job([3.0], kind="project_update")]
    html = admin_client.get(PAGE + "?window=1h").content.decode()
    report = admin_client.get(PAGE + "report/?since=1h", HTTP_ACCEPT="application/json").json()
    worst = report["lag"]["worst_jobs"]
    links = json.loads(re.search(r'id="worst-jobs-links"[^>]*>(.*?)</script>', html).group(1))
    assert links["project_update"] == "https://awx.example.com/#/jobs/project/{job}/output"
    hrefs = [links[job["kind"]].replace("{job}", str(job["job"])) for job in worst]
    assert [row[0] for row in rows_of(html, "worst-jobs")] == [
        f'<a href="{href}">{job["job"]}</a>' for href, job in zip(hrefs, worst, strict=True)
    ]
    assert 1 < len(worst) < len(jobs)  # the report's number of them, not every job
    columns = json.loads(re.search(r'id="worst-jobs-columns"[^>]*>(.*?)</script>', html).group(1))
    assert [c["field"] for c in columns] == [
        "job",
        "kind",
        "count",
        "mean_seconds",
        "p99_seconds",
        "max_seconds",
    ]


def test_no_jobs_in_the_window_says_so(admin_client):
    html = admin_client.get(PAGE).content.decode()
    assert "No job stored events in the last 15m." in html
    assert rows_of(html, "worst-jobs") == []
