"""Issue 21 on a real AWX: each cause induced on AWX's own callback path, and `check` and `path`
name it (the cause, its evidence, its remedy); the healthy run names none.

- a stopped callback receiver (SIGSTOP to its process group): a backlog whose head stands still;
- an execution node's clock behind the controller's (events carrying a `created` a minute early):
  lag while the callback queue keeps up, placed before the queue;
- an execution node whose events wait 10 to 30 s before the queue while another's do not: placed
  before the queue, the node named;
- a job faster than AWX's MAX_WEBSOCKET_EVENT_RATE, whose live output AWX thins;
- a lock held on the event table (SHARE, as a CREATE INDEX takes it): the receiver's insert waits,
  named with the session that holds it.
"""

from __future__ import annotations

import io
import os
import signal
import time

import awx_jobs
import pytest
from awx.main.models import Job
from awx_box import causes_named, check, eventdebug_json
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils.timezone import now

pytestmark = pytest.mark.usefixtures("awx_objects")

STOPPED = "The callback receiver does not consume the queue"
BEFORE_QUEUE = "Events reach the callback queue late"


@pytest.fixture(autouse=True, scope="module")
def snapshots_forgotten():
    """The snapshots taken while these tests induced their causes (this process's 1 s slots and
    the node's own sampler's) are deleted after them, and the node's sampler takes two more: the
    next tests judge the node by figures none of these causes is in (the later snapshot's rates
    are counted from the earlier)."""
    from awx_eventdebug.conf import get_config
    from awx_eventdebug.models import NodeSnapshot

    started = now()
    yield
    cleared = now()
    NodeSnapshot.objects.filter(taken_at__gte=started).delete()
    deadline = time.monotonic() + 4 * get_config()["SAMPLE_INTERVAL"]
    while NodeSnapshot.objects.filter(taken_at__gt=cleared).count() < 2 and time.monotonic() < deadline:
        time.sleep(1)


def sample() -> None:
    """A snapshot of this node now, taken in this AWX process (slots of 1 s): two of them a couple
    of seconds apart give the backlog's rates."""
    from awx_eventdebug.path.sampler import take_sample

    # Another process of the node (AWX's services run the maintenance thread) may have taken this
    # second's slot: the next one is this test's.
    for _ in range(10):
        taken = take_sample(1)
        if taken["status"] == "written":
            return
        time.sleep(0.3)
    raise AssertionError(taken)


def forget(job: Job) -> None:
    """The job's events deleted: the lag they add would fail the later tests' healthy checks."""
    job.event_class.objects.filter(job_id=job.id).delete()


def test_the_healthy_run_names_no_cause(jobs):
    sample()
    healthy = check()
    assert (healthy["status"], healthy["causes"]) == ("ok", []), healthy
    assert eventdebug_json("path")["headline"].startswith("every hop within its threshold")


def test_a_stopped_receiver_is_named_with_its_remedy():
    receiver = int(os.environ["AWX_TIER_RECEIVER_PID"])
    job = awx_jobs.running_job()
    os.killpg(receiver, signal.SIGSTOP)
    try:
        job = awx_jobs.dispatch(job, 200)
        sample()
        time.sleep(1.5)  # the next slot: the backlog's head has not moved since
        sample()
        found = causes_named("--max-backlog-age", "1")
        path = eventdebug_json("path")
    finally:
        os.killpg(receiver, signal.SIGCONT)
    awx_jobs.wait_for_events(job)
    forget(job)
    assert STOPPED in found, found
    assert "its head did not move since the previous sample" in found[STOPPED]["evidence"]
    assert "run_callback_receiver" in found[STOPPED]["remedy"]
    assert found[STOPPED]["hop"] == 3
    queue = path["cluster"][2]
    # A pop already waiting in Redis when the receiver stopped takes the first events all the same.
    assert queue["key"] == "callback_queue" and queue["figures"]["backlog_events"] >= 150, queue


def test_a_clock_behind_the_controllers_is_placed_before_the_queue():
    job = awx_jobs.dispatch(awx_jobs.running_job(), 300, created_ago=60.0)
    try:
        awx_jobs.wait_for_events(job)
        sample()
        found = causes_named("--since", "5m")
        path = eventdebug_json("path", "--since", "5m")
        # In this process: a new awx-manage takes longer to start than the 1 s slot's snapshot
        # stays fresh.
        text = io.StringIO()
        with pytest.raises(CommandError):
            call_command("eventdebug", "check", "--since", "5m", stdout=text)
    finally:
        forget(job)
    assert BEFORE_QUEUE in found, found
    assert "while the callback queue keeps up" in found[BEFORE_QUEUE]["evidence"]
    assert "chrony" in found[BEFORE_QUEUE]["remedy"]
    headline = path["headline"]
    assert headline.startswith("events reach the callback queue late: event lag p99"), headline
    assert f"CAUSE (hop 4 callback receiver): {BEFORE_QUEUE}" in text.getvalue()


def test_a_job_faster_than_awx_websocket_rate_is_named():
    job = awx_jobs.dispatch(awx_jobs.running_job(), 300)
    try:
        awx_jobs.wait_for_events(job)
        rate = check("--since", "5m")["websocket_rate"]
        path = eventdebug_json("path", "--since", "5m")["websocket_rate"]
    finally:
        forget(job)
    [named] = [found for found in rate["jobs"] if found["job"] == job.id]
    assert named["emitted_events"] == 300 and named["rate_per_second"] > 30, rate
    assert rate["awx"]["max_websocket_events_per_second"] == 30
    assert any(finding.startswith(f"job {job.id} (job): 300 events") for finding in rate["findings"])
    assert job.id in [found["job"] for found in path["jobs"]]


def test_a_slow_path_before_the_queue_names_the_execution_node():
    slow = awx_jobs.dispatch(awx_jobs.running_job("exec-slow"), 100, lambda counter: 10.0 + counter % 20)
    steady = awx_jobs.dispatch(awx_jobs.running_job("exec-steady"), 100, 0.2)
    try:
        for job in (slow, steady):
            awx_jobs.wait_for_events(job)
        sample()
        found = check("--since", "5m")
    finally:
        forget(slow)
        forget(steady)
    causes = {cause["cause"]: cause for cause in found["causes"]}
    assert BEFORE_QUEUE in causes, found["causes"]
    # The cause places the lag on the node the estimate singles out.
    assert (
        "before the queue: execution node exec-slow, whose median lag is" in causes[BEFORE_QUEUE]["evidence"]
    )
    nodes = {node["node"]: node for node in found["clock_skew"]["nodes"]}
    assert (nodes["exec-slow"]["verdict"], nodes["exec-steady"]["verdict"]) == ("slow_path", "in_sync"), nodes
    assert any(f.startswith("execution node exec-slow: events wait") for f in found["clock_skew"]["findings"])


LOCKED = "A lock on the event tables holds the receiver's inserts"


def test_a_lock_on_the_event_table_is_named_with_the_session_holding_it():
    from awx_eventdebug.path.hops.event_insert import running_inserts

    job = awx_jobs.running_job()
    holder = connections.create_connection("default")  # a session of its own, as a DBA's
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE main_jobevent IN SHARE MODE")
            cursor.execute("SELECT pg_backend_pid()")
            [holder_pid] = cursor.fetchone()
        job = awx_jobs.dispatch(job, 50)
        deadline = time.monotonic() + 60
        while not running_inserts()["lock_waits"] and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1.5)  # the insert has waited more than the 1 s asked below
        found = causes_named("--since", "5m", "--max-insert-wait", "1")
    finally:
        with holder.cursor() as cursor:
            cursor.execute("ROLLBACK")
        holder.close()
    awx_jobs.wait_for_events(job)
    forget(job)
    assert LOCKED in found, found
    assert found[LOCKED]["hop"] == 6 and f"pid {holder_pid}" in found[LOCKED]["evidence"], found[LOCKED]
    assert "pg_blocking_pids" in found[LOCKED]["remedy"]
