"""A real overflow in AWX's callback receiver: a job's websocket group holds a browser (daphne)
and a member whose queue is full. channels_redis drops each of the job's messages for the full
member only; the app's capture in the receiver counts those drops, which must be exactly the
messages the browser received. `groups` and `queues` see the full member meanwhile.

Runs last (file order): the drops it causes would fail test_health's healthy `check`."""

import time
from types import SimpleNamespace

import awx_jobs
import pytest
from awx_box import PREFIX, UiSession, causes_named, eventdebug, eventdebug_json, get
from awx_layer import add_stuck_member, remove_stuck_member
from django.db.models import Sum

from awx_eventdebug.models import ChannelOverflow


def captured_drops(group: str) -> int:
    return ChannelOverflow.objects.filter(group=group).aggregate(drops=Sum("drops"))["drops"] or 0


@pytest.fixture(scope="module")
def overflow(users):
    job = awx_jobs.new_job()
    group = f"job_events-{job.id}"
    browser = UiSession(*users["admin"])
    stuck = None
    try:
        assert browser.connect()["accept"] is True
        assert group in browser.subscribe({"job_events": [job.id]})["groups_current"]
        stuck = add_stuck_member(group)
        groups, queues = eventdebug_json("groups"), eventdebug_json("queues")
        job = awx_jobs.run(job, items=200)
        awx_jobs.wait_for_events(job)
        received = [m for m in browser.messages(quiet=3, limit=60) if m.get("group_name") == "job_events"]
        # The receiver's capture writes every CAPTURE_FLUSH_INTERVAL (5 s).
        deadline = time.monotonic() + 30
        while captured_drops(group) < len(received) and time.monotonic() < deadline:
            time.sleep(1)
        yield SimpleNamespace(
            job=job, group=group, stuck=stuck, groups=groups, queues=queues, received=received
        )
    finally:
        browser.close()
        if stuck is not None:
            remove_stuck_member(group, stuck)


def test_drops_captured_are_the_messages_the_browser_received(overflow):
    assert len(overflow.received) > 0
    summary = eventdebug_json("overflow", "--summary", "--group", overflow.group)
    assert summary["totals"]["drops"] == len(overflow.received)
    [row] = summary["groups"]
    assert (row["group"], row["drops"], row["max_group_members"]) == (
        overflow.group,
        len(overflow.received),
        2,
    )


def test_overflow_api_answers_what_the_command_prints(overflow, users):
    command = eventdebug_json("overflow", "--group", overflow.group)
    answer = get(f"{PREFIX}overflow/?group={overflow.group}", users["auditor"])
    assert answer.status_code == 200
    assert answer.json() == command
    assert sum(row["drops"] for row in command["results"]) == len(overflow.received)


def test_groups_shows_the_full_member(overflow):
    [group] = [g for g in overflow.groups["groups"] if g["name"] == overflow.group]
    assert group["members"] == 2
    full = [queue for queue in group["queues"] if queue["fill_percent"] == 100.0]
    assert [[member["channel"] for member in queue["members"]] for queue in full] == [[overflow.stuck]]


def test_queues_shows_the_full_queue(overflow):
    prefix = overflow.groups["layer"]["prefix"]
    key = prefix + overflow.stuck[: overflow.stuck.index("!") + 1]
    [queue] = [queue for queue in overflow.queues["queues"] if queue["key"] == key]
    capacity = overflow.groups["layer"]["capacity_messages"]
    assert queue["depth_messages"] == queue["capacity_messages"] == capacity
    assert queue["fill_percent"] == 100.0
    assert overflow.queues["summary"]["full_queues"] == 1


def test_check_fails_naming_the_group(overflow):
    done = eventdebug("check")
    assert done.returncode == 1, done.stdout + done.stderr
    assert overflow.group in done.stdout + done.stderr


def test_check_and_path_name_the_overflow_with_its_remedy(overflow):
    found = causes_named()["The channel layer drops websocket messages"]
    assert found["hop"] == 7 and overflow.group in found["evidence"], found
    assert "MAX_WEBSOCKET_EVENT_RATE" in found["remedy"] and "capacity" in found["remedy"]
    [row] = [row for row in eventdebug_json("path")["cluster"] if row["key"] == "group_send"]
    assert (row["verdict"], row["cause"]) == ("over", found["cause"]), row
