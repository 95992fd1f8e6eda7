"""The cause a hop over its threshold names, with its evidence and remedy, in every face; the
event lag blames the receiver only when the hops it covers do not clear it."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from awx_eventdebug.lag.nodes import AHEAD, BEHIND, IN_SYNC, SLOW_PATH, UNKNOWN
from awx_eventdebug.models import NodeSnapshot
from awx_eventdebug.path import causes
from awx_eventdebug.path.hop import NOT_APPLICABLE, OK, OVER, Judgment
from awx_eventdebug.path.hops.callback import Callback
from awx_eventdebug.path.hops.callback_queue import CallbackQueue
from awx_eventdebug.path.hops.receiver import Receiver
from awx_eventdebug.path.judge import judge_path, limits
from awx_eventdebug.path.sampler import take_sample
from tests.health.test_report import recent_job, run
from tests.path.conftest import node_named
from tests.support.awx_callback import backlog_events, dispatch
from tests.support.workloads import small_workload

LAG = Judgment(OVER, "event lag p99 32.400 s (job events)", 32.4, "event lag p99 of job events is 32.4 s")
EMPTY = Judgment(OK, "node-a: 0 queued", {"length": 0, "oldest_age": None, "out_per_second": None})


def backlog(out_per_second):
    figure = {"length": 9000, "oldest_age": 40.0, "out_per_second": out_per_second}
    return Judgment(OVER, "node-a: 9,000 queued, oldest 40.0 s", figure)


def test_an_empty_queue_places_the_lag_before_it():
    found = Receiver().diagnose(LAG, {"callback_queue": EMPTY})
    assert found.cause is causes.BEFORE_QUEUE
    assert found.evidence.startswith(
        "event lag p99 32.400 s (job events), while the callback queue keeps up (node-a: 0 queued)"
    )
    assert "so the time is spent before the queue" in found.evidence
    assert found.line.startswith("events reach the callback queue late: event lag p99 32.400 s")


def test_the_receivers_own_hops_blame_it_before_the_queue_is_cleared():
    slow = Judgment(OVER, "node-a: 40.0 ms per event inserted", 0.04)
    found = Receiver().diagnose(LAG, {"callback_queue": EMPTY, "event_insert": slow})
    assert found.cause is causes.SLOW_INSERTS and found.evidence.endswith(
        "while node-a: 40.0 ms per event inserted"
    )
    found = Receiver().diagnose(LAG, {"callback_queue": backlog(120.0)})
    assert found.cause is causes.RECEIVER_SHORT and found.line == ""


@pytest.mark.parametrize("queue", [None, Judgment(NOT_APPLICABLE, "no node sampled")])
def test_an_unread_queue_places_the_lag_nowhere(queue):
    found = Receiver().diagnose(LAG, {} if queue is None else {"callback_queue": queue})
    assert found.cause is causes.LAG_UNPLACED
    assert "the callback queue cannot clear the receiver (no node sampled it)" in found.evidence
    assert found.line == (
        "event lag p99 of job events is 32.4 s, in hops 1-4: no snapshot of the callback queue says which"
    )
    stale = Receiver().diagnose(LAG, {"callback_queue": Judgment("stale", "node-a: 0 queued")})
    assert "cannot clear the receiver (stale: node-a: 0 queued)" in stale.evidence


def test_a_backlog_whose_head_stands_still_is_a_stopped_receiver():
    assert CallbackQueue().diagnose(backlog(0.0), {}).cause is causes.RECEIVER_STOPPED
    fast = Judgment(OK, "node-a: 0.5 ms per event inserted", 0.0005)
    found = CallbackQueue().diagnose(backlog(120.0), {"event_insert": fast})
    assert found.cause is causes.RECEIVER_SHORT
    assert found.evidence == (
        "node-a: 9,000 queued, oldest 40.0 s, consumed at about 120/s, while node-a: 0.5 ms per event "
        "inserted: the database keeps up"
    )
    slow = Judgment(OVER, "node-a: 40.0 ms per event inserted", 0.04)
    assert CallbackQueue().diagnose(backlog(120.0), {"event_insert": slow}).cause is causes.SLOW_INSERTS


@pytest.fixture
def node(settings, redis_layer_settings):
    with node_named(settings, "node-c") as client:
        yield client


@pytest.mark.django_db
def test_lag_with_an_empty_queue_is_spent_before_it_in_every_face(node, admin_client):
    recent_job([0.5] * 9 + [40.0])
    take_sample(10)
    lenient = ("--since", "10m", "--max-p99", "5")

    code, out, _ = run("check", *lenient)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "FAILED: lag p99 of job events is 36.445 s, above the maximum 5 s (10 events)"
    assert lines[1] == "CAUSE (hop 4 callback receiver): Events reach the callback queue late"
    assert lines[2].startswith(
        "  evidence: event lag p99 36.445 s (job events), while the callback queue keeps up"
    )
    assert lines[3].startswith("  remedy: Find where the job ran") and "chrony" in lines[3]
    assert lines[4] == "  runbook: /api/eventdebug/runbook/#events-reach-the-callback-queue-late"

    check = json.loads(run("check", *lenient, "--json")[1])
    [found] = check["causes"]
    assert (found["hop"], found["name"], found["cause"]) == (4, "callback receiver", BEFORE_TITLE)
    assert found["remedy"] == causes.BEFORE_QUEUE.remedy

    code, out, _ = run("path", "--since", "10m")
    headline = (
        "events reach the callback queue late: event lag p99 36.445 s (job events), "
        "while the callback queue keeps up"
    )
    assert out.splitlines()[1] == headline
    assert "CAUSE (hop 4 callback receiver): Events reach the callback queue late" in out
    path = admin_client.get("/api/eventdebug/path/", {"since": "10m"}).json()
    assert path["headline"] == headline and path["cluster"][3]["cause"] == BEFORE_TITLE

    code, out, _ = run("report", "--since", "10m")
    assert f"  {headline}" in out and "    remedy: Find where the job ran" in out

    # The dashboard (HEALTH_WINDOW, CHECK_MAX_P99 10 s): the verdict's cause and the path's headline.
    page = admin_client.get("/api/eventdebug/").content.decode()
    assert f"<strong>{BEFORE_TITLE}</strong>" in page and headline in page
    assert "callback receiver: event lag" not in page
    # Its runbook link opens the app's runbook page at the cause's section.
    link = "/api/eventdebug/runbook/#events-reach-the-callback-queue-late"
    assert f'<a href="{link}">{link}</a>' in page
    runbook = admin_client.get(link.split("#")[0]).content.decode()
    assert 'id="events-reach-the-callback-queue-late"' in runbook


@pytest.mark.django_db
def test_a_backlog_is_the_headline_with_its_cause(node):
    dispatch(node, backlog_events(30, oldest_age=20.0))
    take_sample(10)
    check = json.loads(run("check", "--json")[1])
    [found] = check["causes"]
    assert (found["hop"], found["node"], found["cause"]) == (3, "node-c", causes.RECEIVER_SHORT.title)
    assert "JOB_EVENT_WORKERS (default 4 on AWX 24.6.1 and devel)" in found["remedy"]


BEFORE_TITLE = causes.BEFORE_QUEUE.title


def test_every_hop_of_the_receiver_names_a_lock_on_the_event_tables():
    from awx_eventdebug.path.hops.receiver_buffer import ReceiverBuffer

    locked = Judgment(OK, "1 inserts running now (1 Lock:relation)", {"running_inserts_lock_waits": 1})
    held = Judgment(OVER, "node-a: 5,000 events in memory", {"events_in_memory": 5000})
    for hop, judged in ((Receiver(), LAG), (CallbackQueue(), backlog(120.0)), (ReceiverBuffer(), held)):
        found = hop.diagnose(judged, {"callback_queue": EMPTY, "event_insert": locked})
        assert found.cause is causes.EVENT_TABLE_LOCKED, hop.key
        assert found.evidence.endswith("while 1 inserts running now (1 Lock:relation)")


def test_a_per_node_hops_cluster_row_names_the_cause_its_own_node_shows():
    """node-a's backlog is explained by node-a's inserts (fast), never by node-b's (slow), though
    node-b's are the cluster's worst."""
    now = timezone.now()

    def node(name, queued, seconds_per_event):
        backlog = {
            "error": "",
            "note": "",
            "length_events": queued,
            "oldest_age_seconds": 40.0 if queued else None,
        }
        backlog["out_per_second"] = 120.0
        insert = {"error": "", "present": True, "batch_errors": 0, "events_per_batch": 380.0}
        insert["seconds_per_event"] = seconds_per_event
        return NodeSnapshot(node=name, taken_at=now, interval=10, data={"backlog": backlog, "insert": insert})

    readings = {"lag": (None, "not read"), "drops": ({}, ""), "inserts": (None, "")}
    judged = judge_path(
        [node("node-a", 9000, 0.0005), node("node-b", 0, 0.04)], "", readings, limits(), now.timestamp()
    )
    by_hop = {row["hop"]: row for row in judged.cluster}
    queue = by_hop[3]
    assert (queue["node"], queue["cause"]) == ("node-a", causes.RECEIVER_SHORT.title)
    assert queue["evidence"] == (
        "node-a: 9,000 queued, oldest 40.0 s, consumed at about 120/s, while 0.5 ms per event inserted, "
        "380 per batch: the database keeps up"
    )
    [own] = [row for n in judged.nodes if n["node"] == "node-a" for row in n["hops"] if row["hop"] == 3]
    assert queue["evidence"] == f"node-a: {own['evidence']}"
    assert (by_hop[6]["node"], by_hop[6]["cause"]) == ("node-b", causes.SLOW_INSERTS.title)


def estimate(node, verdict, lowest, p50, skew=None):
    return {
        "node": node,
        "verdict": verdict,
        "min_lag_seconds": lowest,
        "p50_seconds": p50,
        "skew_seconds": skew,
    }


def test_the_lag_before_the_queue_is_placed_on_the_execution_node_that_stands_out():
    clocks = {
        "baseline_min_lag_seconds": 0.1,
        "nodes": [
            estimate("exec-1", IN_SYNC, 0.1, 0.6, 0.0),
            estimate("exec-2", BEHIND, 3.1, 3.6, -3.0),
            estimate("exec-3", SLOW_PATH, 10.4, 21.9),
            estimate("exec-4", AHEAD, -5.0, 0.2, 5.1),
        ],
    }
    inside = Callback().judge_inside("in the event lag of hop 4", clocks)
    assert inside.text == (
        "in the event lag of hop 4; execution nodes that stand out: exec-2 (clock behind by about 3.0 s), "
        "exec-3 (a slow path before the queue), exec-4 (clock ahead by about 5.1 s)"
    )
    found = Receiver().diagnose(LAG, {"callback_queue": EMPTY, "callback": inside})
    assert found.cause is causes.BEFORE_QUEUE
    assert found.evidence.endswith(
        "so the time is spent before the queue: execution node exec-3, whose median lag is 21.9 s while "
        "the nodes in sync have at most 0.6 s: its events wait 10.3 s or more before the queue; and "
        "execution node exec-2, whose clock is about 3.0 s behind the controller's (or whose events all "
        "wait that long before the queue)"
    )
    assert found.line.startswith("events reach the callback queue late from execution node exec-3: ")
    steady = {
        "baseline_min_lag_seconds": 0.1,
        "nodes": [estimate("exec-1", IN_SYNC, 0.1, 0.6, 0.0), estimate("exec-2", IN_SYNC, 0.2, 0.7, -0.1)],
    }
    found = Receiver().diagnose(
        LAG, {"callback_queue": EMPTY, "callback": Callback().judge_inside("", steady)}
    )
    assert found.evidence.endswith(
        "alike on every execution node (none stands out in `lag --by execution_node`): the "
        "controller's runner callback or receptor"
    )
    # Too few events on every node but one to tell: the lag is placed on no node.
    unmeasured = {
        "baseline_min_lag_seconds": 0.1,
        "nodes": [estimate("exec-1", UNKNOWN, None, None), estimate("exec-2", IN_SYNC, 0.1, 0.6, 0.0)],
    }
    found = Receiver().diagnose(
        LAG, {"callback_queue": EMPTY, "callback": Callback().judge_inside("", unmeasured)}
    )
    assert found.evidence.endswith("or an execution node's clock is behind the controller's")
    assert found.line.startswith("events reach the callback queue late: ")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "profile, named",
    [
        ("slow_node", "execution node exec-3, whose median lag is "),
        ("skewed_node", "execution node exec-2, whose clock is about 3.0 s behind the controller's"),
    ],
)
def test_the_workload_of_a_slow_or_skewed_node_names_it_in_the_cause(node, settings, profile, named):
    now = timezone.now()
    small_workload(
        kinds=("job",), jobs=8, events=200, profile=profile, since=now - timedelta(hours=1), until=now
    )
    take_sample(10)
    settings.EVENTDEBUG = {"CHECK_MAX_P99": 1}  # over it either way: exec-2 adds only 3 s
    check = json.loads(run("check", "--since", "1h", "--json")[1])
    [found] = check["causes"]
    assert (found["hop"], found["cause"]) == (4, BEFORE_TITLE)
    assert "so the time is spent before the queue: " + named in found["evidence"], found["evidence"]
    path = json.loads(run("path", "--since", "1h", "--json")[1])
    assert path["headline"].startswith(
        f"events reach the callback queue late from execution node {named.split()[2].rstrip(',')}: "
    )
