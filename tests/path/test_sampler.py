"""take_sample and purge_snapshots against real Redis servers and the test database (the thread
that calls them: tests/maintenance/)."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from awx_eventdebug.models import NodeSnapshot
from awx_eventdebug.path.sampler import SKIPPED, WRITTEN, lock_key, purge_snapshots, take_sample
from tests.support.awx_callback import CALLBACK_QUEUE, STATS_KEY, backlog_events, dispatch
from tests.support.redis_servers import redis_server

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sample_reads_the_head_of_the_callback_queue(node_redis):
    dispatch(node_redis, backlog_events(50, oldest_age=20.0))
    result = take_sample(10)
    assert result["status"] == WRITTEN
    backlog = result["snapshot"]["backlog"]
    assert backlog["length_events"] == 50
    assert 19 < backlog["oldest_age_seconds"] < 40
    assert backlog["error"] == ""
    row = NodeSnapshot.objects.get()
    assert (row.node, row.interval) == ("node-t", 10)
    assert row.slot_start.timestamp() % 10 == 0


def test_one_sample_per_interval_and_rates_from_the_previous_one(node_redis):
    dispatch(node_redis, backlog_events(100, oldest_age=20.0))
    assert take_sample(1)["status"] == WRITTEN
    # The same slot again: skipped, whichever process asks.
    again = take_sample(3600)
    assert again["status"] == SKIPPED and "in this interval" in again["reason"]
    time.sleep(1.0)
    node_redis.lpop(CALLBACK_QUEUE, 40)
    backlog = take_sample(1)["snapshot"]["backlog"]
    assert backlog["length_events"] == 60
    assert backlog["net_per_second"] < 0 and backlog["growing"] is False
    assert backlog["drain_seconds"] > 0
    assert backlog["out_per_second"] > 0


def test_absent_list_is_an_idle_receiver_not_an_error(node_redis):
    backlog = take_sample(10)["snapshot"]["backlog"]
    assert (backlog["length_events"], backlog["oldest_age_seconds"], backlog["error"]) == (0, None, "")
    assert "does not exist" in backlog["note"]


def test_a_head_over_the_size_bound_is_not_parsed(node_redis):
    node_redis.rpush(CALLBACK_QUEUE, b"x" * (1024 * 1024 + 1))
    backlog = take_sample(10)["snapshot"]["backlog"]
    assert backlog["length_events"] == 1 and backlog["oldest_age_seconds"] is None
    assert "over the 1048576 byte bound: not parsed" in backlog["note"]


def test_wrong_type_and_garbled_relay_key_are_error_lines(node_redis):
    node_redis.set(CALLBACK_QUEUE, "not a list")
    node_redis.set(STATS_KEY, "this is { not prometheus text")
    snapshot = take_sample(10)["snapshot"]
    assert snapshot["backlog"]["error"].startswith("callback_tasks on redis redis://127.0.0.1:")
    assert "WRONGTYPE" in snapshot["backlog"]["error"]
    assert snapshot["relay"]["error"].startswith(
        "the broadcast_websocket_stats key is not wsrelay's Prometheus text"
    )


def test_password_in_broker_url_is_used_and_masked(settings):
    import redis

    with redis_server("--requirepass", "s3cret") as port:
        settings.BROKER_URL = f"redis://:s3cret@127.0.0.1:{port}/0"
        settings.EVENTDEBUG = {"SAMPLE_INTERVAL": 0}
        dispatch(redis.Redis(port=port, password="s3cret"), backlog_events(3, oldest_age=1.0))
        snapshot = take_sample(10, node="node-p")["snapshot"]
    assert snapshot["backlog"]["length_events"] == 3
    assert "s3cret" not in snapshot["broker"] and "****" in snapshot["broker"]


def test_unix_socket_broker_url(settings, tmp_path):
    import redis

    path = tmp_path / "redis.sock"
    with redis_server("--unixsocket", str(path), "--unixsocketperm", "700"):
        settings.BROKER_URL = f"unix://{path}"
        dispatch(redis.Redis(unix_socket_path=str(path)), backlog_events(2, oldest_age=1.0))
        snapshot = take_sample(10, node="node-u")["snapshot"]
    assert snapshot["backlog"]["length_events"] == 2 and snapshot["broker"] == f"unix://{path}"


def test_old_snapshots_of_every_node_are_purged_and_a_node_gone_for_good_leaves_the_path():
    from awx_eventdebug.path.judge import latest_snapshots

    now = datetime.now(UTC)
    for node, taken in (("node-x", now - timedelta(days=3)), ("node-y", now - timedelta(days=3))):
        NodeSnapshot.objects.create(
            node=node, slot_start=taken, taken_at=taken, interval=10, seconds=0, data={}
        )
    NodeSnapshot.objects.create(node="node-z", slot_start=now, taken_at=now, interval=10, seconds=0, data={})
    # Past SAMPLE_RETENTION (1 day by default) a node that stopped sampling is no longer shown stale.
    assert [row.node for row in latest_snapshots()] == ["node-z"]
    assert purge_snapshots(timedelta(days=1)) == 2
    assert list(NodeSnapshot.objects.values_list("node", flat=True)) == ["node-z"]


@pytest.mark.postgres_only(reason="advisory locks")
def test_another_process_holding_the_node_lock_means_skip(node_redis):
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_key("node-t")])
        result = take_sample(10)
        assert result["status"] == SKIPPED and "another process of node-t" in result["reason"]
        with other.cursor() as cursor:  # closing alone frees it only once the server's backend exits
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key("node-t")])
    finally:
        other.close()
    assert take_sample(10)["status"] == WRITTEN
