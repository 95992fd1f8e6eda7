import json
import random
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from awx_eventdebug.overflow.upsert import Counts, add_counts

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
LIST = "/api/eventdebug/overflow/"
SUMMARY = "/api/eventdebug/overflow/summary/"


@pytest.fixture
def rows():
    """Five groups on two nodes over three minutes; live and ingested."""
    data = {}

    def put(node, group, minute, drops, source="live", size=4):
        start = T0 + timedelta(minutes=minute)
        at = start + timedelta(seconds=30)
        data[(node, group, start, source)] = Counts(start, at, drops, drops * 2, size)

    put("awx-1", "broadcast-group_send", 0, 10, size=3)
    put("awx-1", "broadcast-group_send", 1, 20, size=5)
    put("awx-2", "broadcast-group_send", 1, 5)
    put("awx-1", "job_events-1", 0, 7)
    put("awx-1", "job_events-12", 2, 3)
    put("awx-2", "job_events-2", 2, 1, source="ingest")
    put("awx-2", "project_update_events-3", 2, 2)
    add_counts(data)


def get(client, url, **params):
    response = client.get(url, params)
    return response.status_code, response.json()


def test_permissions(client, rows):
    assert client.get(LIST).status_code == 401
    User.objects.create_user("plain", password="pw")
    client.login(username="plain", password="pw")
    assert client.get(SUMMARY).status_code == 403


def test_pages_newest_window_first(admin_client, rows):
    status, page = get(admin_client, LIST, page_size=3)
    assert status == 200
    assert (page["count"], page["previous"], len(page["results"])) == (7, None, 3)
    assert page["next"] == "/api/eventdebug/overflow/?page=2&page_size=3"  # as AWX's lists link pages
    starts = [r["window_start"] for r in page["results"]]
    assert starts == sorted(starts, reverse=True) and starts[0] == "2026-11-27T10:02:00Z"
    _, last = get(admin_client, LIST, page_size=3, page=3)
    assert len(last["results"]) == 1 and last["next"] is None
    assert last["previous"] == "/api/eventdebug/overflow/?page=2&page_size=3"
    _, beyond = get(admin_client, LIST, page_size=3, page=9)
    assert beyond["results"] == [] and beyond["count"] == 7


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"group": "job_events-1"}, {("awx-1", "job_events-1")}),
        (
            {"group": "job_events-*"},
            {("awx-1", "job_events-1"), ("awx-1", "job_events-12"), ("awx-2", "job_events-2")},
        ),
        ({"group": "job_events-?"}, {("awx-1", "job_events-1"), ("awx-2", "job_events-2")}),
        (
            {"group": "*_events-*", "node": "awx-2"},
            {("awx-2", "job_events-2"), ("awx-2", "project_update_events-3")},
        ),
        ({"source": "ingest"}, {("awx-2", "job_events-2")}),
        (
            {"group": "broadcast-group_send", "until": "2026-11-27T10:01:00Z"},
            {("awx-1", "broadcast-group_send")},
        ),
        (
            {"since": "2026-11-27T10:02:00Z", "group": "job*"},
            {("awx-1", "job_events-12"), ("awx-2", "job_events-2")},
        ),
        ({"group": "job_events-1."}, set()),  # regex characters are literal
    ],
)
def test_filters(admin_client, rows, params, expected):
    status, page = get(admin_client, LIST, **params)
    assert status == 200
    assert {(r["node"], r["group"]) for r in page["results"]} == expected


def test_summary_per_group_with_timeline(admin_client, rows):
    status, summary = get(admin_client, SUMMARY, timeline="minute", group="broadcast-*")
    assert status == 200
    [group] = summary["groups"]
    assert group["group"] == "broadcast-group_send"
    assert (group["drops"], group["full_queues"], group["max_group_members"], group["nodes"]) == (
        35,
        70,
        5,
        2,
    )
    assert (group["first_seen"], group["last_seen"]) == ("2026-11-27T10:00:00Z", "2026-11-27T10:01:30Z")
    assert group["drops_per_minute"] == round(35 / 1.5, 3)
    assert group["timeline"] == [
        {"at": "2026-11-27T10:00:00Z", "drops": 10},
        {"at": "2026-11-27T10:01:00Z", "drops": 25},
    ]
    assert summary["totals"] == {"drops": 35, "full_queues": 70, "rows": 3}
    _, hourly = get(admin_client, SUMMARY, timeline="hour", limit=2)
    assert [g["group"] for g in hourly["groups"]] == ["broadcast-group_send", "job_events-1"]
    assert hourly["groups_total"] == 5
    assert hourly["groups"][0]["timeline"] == [{"at": "2026-11-27T10:00:00Z", "drops": 35}]


def test_fuzzed_queries_are_never_a_500(admin_client, rows):
    chaos = random.Random(4)
    alphabet = "abc*?[]%_\\.-:+Z0123456789 é\u202e\x00\t'\";"
    names = ["group", "node", "source", "since", "until", "page", "page_size", "timeline", "limit"]
    for _ in range(150):
        params = {
            chaos.choice(names): "".join(chaos.choice(alphabet) for _ in range(chaos.randint(0, 40)))
            for _ in range(chaos.randint(1, 4))
        }
        for url in (LIST, SUMMARY):
            response = admin_client.get(url, params)
            assert response.status_code in (200, 400), (params, response.content[:300])


def run(*args):
    out = StringIO()
    call_command("eventdebug", "overflow", *args, stdout=out)
    return out.getvalue()


def test_command_json_is_the_api_document(admin_client, rows):
    _, api_page = get(admin_client, LIST, group="job_events-*", page_size=2)
    command = json.loads(run("--json", "--group", "job_events-*", "--page-size", "2"))
    # The same links, the API's with its path, the command's relative to it.
    assert api_page.pop("next") == "/api/eventdebug/overflow/" + command.pop("next")
    assert command == api_page
    _, api_summary = get(admin_client, SUMMARY, since="2026-11-27T10:01:00Z", timeline="hour")
    command = json.loads(run("--json", "--summary", "--since", "2026-11-27T10:01:00Z", "--timeline", "hour"))
    assert command == api_summary


def test_command_tables_are_aligned(rows):
    lines = run("--group", "broadcast-*").splitlines()
    assert lines[0].split()[:3] == ["window", "start", "node"]
    assert lines[-1] == "3 rows"
    assert run("--page-size", "2").splitlines()[-1] == "7 rows; next page: --page 2"
    assert len({line.index("live") for line in lines[1:-1]}) == 1
    summary = run("--summary", "--timeline", "minute", "--limit", "1").splitlines()
    assert summary[1].split()[:2] == ["broadcast-group_send", "35"]
    assert "1 of 5 groups; 48 drops in 7 rows" in summary


def drop_app_table():
    """As on an AWX where the app was installed but `migrate` was not run (rolled back with the
    test's transaction)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE awx_eventdebug_channeloverflow")


@pytest.mark.parametrize("url", ["/api/eventdebug/overflow/", "/api/eventdebug/overflow/summary/"])
def test_missing_app_tables_are_a_503_saying_to_migrate(admin_client, url):
    drop_app_table()
    response = admin_client.get(url)
    assert response.status_code == 503
    assert "tables are missing" in response.json()["detail"]
    assert "migrate awx_eventdebug" in response.json()["hint"]


@pytest.mark.parametrize("args", [("overflow",), ("purge", "--dry-run")])
def test_missing_app_tables_are_a_command_error_saying_to_migrate(args):
    drop_app_table()
    with pytest.raises(CommandError, match="migrate awx_eventdebug") as raised:
        call_command("eventdebug", *args, stdout=StringIO())
    assert raised.value.returncode == 2
