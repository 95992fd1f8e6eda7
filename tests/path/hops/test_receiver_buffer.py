"""The callback receiver's buffer from AWX's own metrics in the node's Redis
(path/hops/receiver_buffer.py), written as AWX's callback receiver writes them."""

import json
import time

import pytest

from awx_eventdebug.path.sampler import take_sample
from tests.health.test_report import run
from tests.path.conftest import node_named

pytestmark = pytest.mark.django_db


def save_metrics(client, popped=0, in_memory=0, inserted=0, insert_seconds=0.0, batches=0, errors=0):
    """Add to the node's awx_metrics hash as a receiver worker's pipe_execute() does: HINCRBY for its
    counters, HINCRBYFLOAT for its seconds, HSET for the average it sets
    (awx/main/analytics/subsystem_metrics.py)."""
    pipe = client.pipeline()
    pipe.hincrby("awx_metrics", "callback_receiver_events_popped_redis", popped)
    pipe.hincrby("awx_metrics", "callback_receiver_events_in_memory", in_memory)
    pipe.hincrby("awx_metrics", "callback_receiver_events_insert_db", inserted)
    pipe.hincrbyfloat("awx_metrics", "callback_receiver_events_insert_db_seconds", insert_seconds)
    pipe.hincrby("awx_metrics", "callback_receiver_batch_events_insert_db_sum", inserted)
    pipe.hincrby("awx_metrics", "callback_receiver_batch_events_insert_db_inf", batches)
    pipe.hincrby("awx_metrics", "callback_receiver_batch_events_errors", errors)
    pipe.hset("awx_metrics", "callback_receiver_event_processing_avg_seconds", 0.8)
    pipe.execute()


@pytest.fixture
def node(settings, redis_layer_settings):
    with node_named(settings, "node-b") as client:
        yield client


def test_a_node_without_awxs_metrics_is_not_applicable(node):
    buffer = take_sample(10)["snapshot"]["receiver_buffer"]
    assert (
        buffer["present"] is False and "no awx_metrics hash: no AWX callback receiver saved" in buffer["note"]
    )
    path = json.loads(run("path", "--json")[1])
    [row] = [h for h in path["nodes"][0]["hops"] if h["key"] == "receiver_buffer"]
    assert (row["hop"], row["verdict"]) == (5, "n/a")


def two_samples(node, before: dict, after: dict) -> dict:
    """The node's buffer figures from a sample after ``before`` was saved and another, at least a
    second later, after ``after`` was added."""
    save_metrics(node, **before)
    take_sample(1)
    time.sleep(1.0)
    save_metrics(node, **after)
    return take_sample(1)["snapshot"]["receiver_buffer"]


def hop_5(path: dict) -> dict:
    [row] = [h for h in path["nodes"][0]["hops"] if h["key"] == "receiver_buffer"]
    return row


def test_events_held_in_memory_and_growing_fail_the_check_with_their_cause(node, admin_client):
    buffer = two_samples(node, {"popped": 4000, "in_memory": 4000}, {"popped": 5000, "in_memory": 1000})
    assert (buffer["events_in_memory"], buffer["grown_events"]) == (5000, 1000)
    code, out, _ = run("check", "--json")
    check = json.loads(out)
    assert code == 1 and check["figures"]["events_in_memory"] == 5000
    assert (
        "callback receiver on node-b holds 5,000 events in memory, above the maximum 4,000 events and growing"
        in check["failures"]
    )
    [found] = check["causes"]
    assert (found["hop"], found["name"], found["cause"]) == (
        5,
        "receiver buffer",
        "Too few callback receiver workers",
    )
    assert run("check", "--max-events-in-memory", "5000")[0] == 0
    metrics = admin_client.get("/api/eventdebug/metrics/").content.decode()
    assert 'awx_eventdebug_receiver_events_in_memory{node="node-b"} 5000.0' in metrics


def test_a_count_that_stays_high_without_growing_is_lost_events_not_over(node):
    """AWX never resets callback_receiver_events_in_memory: events a killed worker held stay in it."""
    buffer = two_samples(
        node, {"popped": 9000, "in_memory": 5000, "inserted": 4000}, {"popped": 500, "inserted": 500}
    )
    assert (buffer["events_in_memory"], buffer["grown_events"]) == (5000, 0)
    code, out, _ = run("path", "--json")
    row = hop_5(json.loads(out))
    assert row["verdict"] == "ok" and row["text"].startswith(
        "5,000 events in memory (+0 since the previous snapshot), above the maximum 4,000 events "
        "but not growing: likely events a stopped worker lost (AWX never resets this counter); popped "
    )
    assert run("check")[0] == 0


def test_a_count_above_the_maximum_in_one_sample_is_unknown_until_a_second(node):
    save_metrics(node, popped=5000, in_memory=5000)
    buffer = take_sample(10)["snapshot"]["receiver_buffer"]
    assert (buffer["events_in_memory"], buffer["grown_events"]) == (5000, None)
    code, out, _ = run("check")
    assert (
        code == 2
        and (
            "UNKNOWN: hop 5 on node-b: 5,000 events in memory, above the maximum 4,000 events: "
            "whether it grows takes a second snapshot;"
        )
        in out
    )


def test_rates_from_two_samples_and_a_worker_that_pops_more_than_it_stores(node):
    buffer = two_samples(
        node,
        {"popped": 1000, "in_memory": 0, "inserted": 1000, "batches": 2},
        {"popped": 6000, "in_memory": 5000, "inserted": 1000, "insert_seconds": 0.5, "batches": 2},
    )
    # 6000 popped and 1000 inserted over 1 to 3 s (the samples' slots are a second or more apart).
    assert 2000 <= buffer["popped_per_second"] <= 6000 and 333 <= buffer["inserted_per_second"] <= 1000
    row = hop_5(json.loads(run("path", "--json")[1]))
    assert row["text"].endswith("; the last batch's average lag 0.800 s")  # AWX's HSET of it
    check = json.loads(run("check", "--json")[1])
    [found] = [c for c in check["causes"] if c["hop"] == 5]
    assert found["cause"] == "Too few callback receiver workers"
    assert found["evidence"].endswith("the workers pop more than they store")


def test_a_key_of_another_type_is_unknown_naming_it(node):
    node.set("awx_metrics", "not a hash")
    buffer = take_sample(10)["snapshot"]["receiver_buffer"]
    assert (
        buffer["error"].startswith("awx_metrics on redis redis://127.0.0.1:")
        and "WRONGTYPE" in buffer["error"]
    )
    code, out, _ = run("check")
    assert code == 2 and "UNKNOWN: hop 5 on node-b: awx_metrics on redis" in out
