"""What a killed ``eventdebug listen`` leaves in a group: reported stale by ``groups``, and
removed by ``cleanup --apply``, exactly that and nothing else."""

import json
import time
from io import StringIO

import pytest
from django.core.management import call_command

GROUP = "job_events-7"
LEFTOVER = "eventdebug.deadbeef!0001"  # a listen killed with SIGKILL: its queue fills, undrained
RUNNING = "eventdebug.cafe!0002"  # a listen still running: it drains its queue
AWX_STUCK = "specific.awx1!0003"  # not ours, however stale: never removed


@pytest.fixture
def leftovers(redis_layer_settings, redis_client, key_prefix):
    now = time.time()
    group_key = f"{key_prefix}:group:{GROUP}"
    redis_client.zadd(group_key, {LEFTOVER: now - 600, RUNNING: now - 5, AWX_STUCK: now - 600})
    for channel in (LEFTOVER, AWX_STUCK):
        queue = f"{key_prefix}{channel.split('!')[0]}!"
        redis_client.zadd(queue, {f"message-{n}".encode(): now - 45 + n for n in range(3)})
    return group_key


def run(*args):
    out = StringIO()
    call_command("eventdebug", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def stale_members(doc):
    return {m["channel"]: m["stale"] for g in doc["groups"] for q in g["queues"] for m in q["members"]}


def test_groups_reports_an_undrained_member_as_stale(leftovers):
    doc = run("groups")
    assert stale_members(doc) == {LEFTOVER: "not_drained", RUNNING: None, AWX_STUCK: "not_drained"}
    assert doc["summary"]["stale_members"] == 2


def test_cleanup_is_a_dry_run_by_default_and_removes_exactly_listens_leftovers(
    leftovers, redis_client, key_prefix
):
    dry = run("cleanup")
    assert [(item["channel"], item["stale"], item["removed"]) for item in dry["leftovers"]] == [
        (LEFTOVER, "not_drained", False)
    ]
    assert redis_client.zscore(leftovers, LEFTOVER) is not None  # nothing written
    applied = run("cleanup", "--apply")
    assert [item["removed"] for item in applied["leftovers"]] == [True]
    members = {m.decode() for m in redis_client.zrange(leftovers, 0, -1)}
    assert members == {RUNNING, AWX_STUCK}
    assert not redis_client.exists(f"{key_prefix}eventdebug.deadbeef!")
    assert redis_client.exists(f"{key_prefix}specific.awx1!")
    assert run("cleanup")["leftovers"] == []


def test_the_human_output_says_what_to_do(leftovers):
    out = StringIO()
    call_command("eventdebug", "cleanup", stdout=out)
    assert LEFTOVER in out.getvalue() and "run with --apply to remove them" in out.getvalue()
