"""eventdebug path and sample, GET path/, and the path in check, report and metrics."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from awx_eventdebug.models import NodeSnapshot
from awx_eventdebug.path.sampler import take_sample
from tests.health.test_report import run
from tests.path.conftest import node_named
from tests.support.awx_callback import STATS_KEY, backlog_events, dispatch, wsrelay_stats

pytestmark = pytest.mark.django_db


def seconds_in(pattern: str, text: str) -> float:
    """The figure ``pattern``'s one group reads in ``text``. Ages grow between the moment a test
    sets them and the moment a command reads them (a second or more on a loaded machine): tests
    bound them from below and above, never compare them exactly."""
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return float(found.group(1))


@pytest.fixture
def node(settings, redis_layer_settings):
    with node_named(settings, "node-t") as client:
        yield client


def test_path_names_the_backlog_and_shows_the_relay(node):
    dispatch(node, backlog_events(120, oldest_age=48.0))
    node.set(STATS_KEY, wsrelay_stats("node-t", {"node-u": (True, 12), "node-v": (False, 0)}))
    take_sample(10)
    code, out, _ = run("path")
    assert code == 0
    headline = r"callback receiver on node-t is (\d+) s behind: 120 events queued, oldest \d+ s"
    behind = seconds_in(headline, out)
    assert 48 <= behind < 60
    assert 48 <= seconds_in(r"3    callback queue     node-t: 120 queued, oldest (\d+)", out) < 60
    assert "node_v  disconnected" in out and "node_u  connected" in out  # not in AWX's instance table
    assert "1 of 2 connections down" in out


def test_path_json_is_the_api_document(node, admin_client):
    take_sample(10)
    api = admin_client.get("/api/eventdebug/path/").json()
    command = json.loads(run("path", "--json")[1])
    for doc in (api, command):
        doc.pop("generated_at")
        doc.pop("window")
        for entry in doc["nodes"]:
            entry.pop("age_seconds")
    assert api == command
    assert [h["hop"] for h in api["cluster"]] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert api["headline"] == "every hop within its threshold on 1 of 1 nodes"


def test_bad_since_is_a_400_and_exit_2(admin_client):
    response = admin_client.get("/api/eventdebug/path/", {"since": "yesterday-ish"})
    assert response.status_code == 400 and list(response.json()) == ["since"]
    code, _, message = run("path", "--since", "yesterday-ish")
    assert code == 2 and message.startswith("--since: ") and "\n" not in message


def test_sample_needs_an_interval_when_the_sampler_is_off(node, settings):
    settings.EVENTDEBUG = {"SAMPLE_INTERVAL": 0}
    code, _, message = run("sample")
    assert code == 2 and message.startswith("--interval: required when")
    code, out, _ = run("sample", "--interval", "60")
    assert code == 0 and out.startswith("snapshot of node-t written")
    assert "skipped: node-t was sampled at" in run("sample", "--interval", "60")[1]


def test_check_fails_on_backlog_and_relay_and_is_unknown_for_a_stale_node(node):
    dispatch(node, backlog_events(30, oldest_age=20.0))
    node.set(STATS_KEY, wsrelay_stats("node-t", {"node-u": (False, 0)}))
    take_sample(10)
    code, out, _ = run("check", "--max-p99", "1000", "--max-fill", "100", "--max-drops", "1000")
    assert code == 1
    assert (
        20 <= seconds_in(r"FAILED: callback receiver on node-t is (\d+) s behind: 30 events queued", out) < 32
    )
    assert "above the maximum 10,000 events or 10 s" in out
    assert (
        "FAILED: wsrelay on node-t has 1 connection down: to node_u (disconnected), "
        "above the maximum 0 connections" in out
    )
    code, out, _ = run("check", "--max-backlog-age", "60", "--max-relay-down", "1")
    assert code == 0
    assert (
        20 <= seconds_in(r"callback backlog \(worst node\) 30 events, oldest queued event ([\d.]+)", out) < 32
    )

    NodeSnapshot.objects.update(taken_at=timezone.now() - timedelta(seconds=31))
    code, out, _ = run("check", "--max-backlog-age", "60", "--max-relay-down", "1")
    assert code == 2
    assert 31 <= seconds_in(r"UNKNOWN: node-t: last snapshot (\d+) s ago \(stale\)", out) < 45
    assert 31 <= seconds_in(r"stale: node-t \(last snapshot (\d+) s ago\)", run("path")[1]) < 45


def test_check_thresholds_are_validated(admin_client):
    response = admin_client.get("/api/eventdebug/check/", {"max_backlog": "-1", "max_relay_down": "x"})
    assert response.status_code == 400 and set(response.json()) == {"max_backlog", "max_relay_down"}
    code, _, message = run("check", "--max-backlog-age", "soon")
    assert code == 2 and message.startswith("--max-backlog-age: ")


def test_report_and_metrics_carry_the_path(node, admin_client):
    dispatch(node, backlog_events(5, oldest_age=2.0))
    take_sample(10)
    assert "Critical path (eventdebug path for every node)" in run("report")[1]
    text = admin_client.get("/api/eventdebug/metrics/").content.decode()
    assert 'awx_eventdebug_callback_queue_length{node="node-t"} 5' in text
    assert "awx_eventdebug_node_snapshot_age_seconds" in text


def test_dashboard_shows_the_path(node, admin_client):
    dispatch(node, backlog_events(10001, oldest_age=1.0))  # over CHECK_MAX_BACKLOG, however young
    take_sample(10)
    page = admin_client.get("/api/eventdebug/").content.decode()
    assert '<section id="path" class="card">' in page
    assert "callback receiver on node-t is " in page and "behind: 10,001 events queued" in page
