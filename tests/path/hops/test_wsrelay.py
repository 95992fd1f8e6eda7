"""wsrelay's stats key, written as AWX writes it, and the node's role from AWX's instance table."""

import pytest
from django.db import connection

from awx_eventdebug.path.hops.wsrelay import parse_stats, relay_figures
from awx_eventdebug.path.sampler import take_sample
from tests.support.awx_callback import STATS_KEY, wsrelay_stats
from tests.support.redis_servers import redis_server


def test_awx_stats_text_is_read_per_remote_node():
    text = wsrelay_stats("awx-1", {"awx-2.example.com": (True, 42), "awx-3": (False, 7)})
    doc = relay_figures(text.encode(), ["awx-2.example.com", "awx-3"], "hybrid")
    assert doc["error"] == "" and doc["down_connections"] == 1
    remotes = {r["host"]: r for r in doc["remotes"]}
    assert remotes["awx-2.example.com"]["state"] == "connected"
    assert remotes["awx-2.example.com"]["since"] is not None
    assert remotes["awx-2.example.com"]["messages_total"] == 42
    assert remotes["awx-2.example.com"]["messages_current_connection"] == 42
    assert remotes["awx-2.example.com"]["messages_per_minute"] == 42
    assert remotes["awx-3"] | {} == {
        "host": "awx-3",
        "state": "disconnected",
        "since": None,
        "messages_total": 7,
        "messages_current_connection": 7,
        "messages_per_minute": 7,
    }


def test_remote_unknown_to_the_instance_table_keeps_its_metric_name():
    assert list(parse_stats(wsrelay_stats("a", {"web-9": (True, 1)}))) == ["web_9"]


GARBLED = (b"garbled {{{ text", b"\xff\xfe not utf-8", b'awx_x_connection{awx_x_connection="connected" 1')


@pytest.mark.parametrize("raw", GARBLED)
def test_a_garbled_key_is_an_error_line(raw):
    doc = relay_figures(raw, [], "hybrid")
    assert doc["error"].startswith("the broadcast_websocket_stats key is not wsrelay's Prometheus text (")
    assert "\n" not in doc["error"] and doc["remotes"] == []


def test_absent_key_says_which_role_the_node_has():
    assert "not running on this node (role hybrid)" in relay_figures(None, [], "hybrid")["note"]
    assert (
        relay_figures(None, [], "execution")["note"]
        == "no wsrelay on this node: its role is execution (no web service)"
    )
    assert relay_figures(None, [], None)["note"].endswith("wsrelay is not running on this node")


@pytest.fixture
def instance_table(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE main_instance "
            "(id integer PRIMARY KEY, hostname varchar(250), node_type varchar(16))"
        )
        cursor.executemany(
            "INSERT INTO main_instance VALUES (%s, %s, %s)",
            [(1, "awx-1", "hybrid"), (2, "awx-2", "control"), (3, "exec-1", "execution")],
        )


def test_sample_reads_the_relay_key_and_names_remotes_from_the_instance_table(settings, instance_table):
    import redis

    with redis_server() as port:
        settings.CLUSTER_HOST_ID = "awx-1"
        settings.BROKER_URL = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis(port=port)
        client.set(STATS_KEY, wsrelay_stats("awx-1", {"awx-2": (False, 3)}))
        snapshot = take_sample(10)["snapshot"]
    assert snapshot["role"] == "hybrid"
    relay = snapshot["relay"]
    assert [(r["host"], r["state"]) for r in relay["remotes"]] == [("awx-2", "disconnected")]
    assert relay["down_connections"] == 1


def test_execution_node_without_relay_is_not_applicable(settings, instance_table):
    with redis_server() as port:
        settings.CLUSTER_HOST_ID = "exec-1"
        settings.BROKER_URL = f"redis://127.0.0.1:{port}/0"
        snapshot = take_sample(10)["snapshot"]
    assert snapshot["relay"]["note"] == "no wsrelay on this node: its role is execution (no web service)"
