"""The listener end to end on the stand-in schema and a real Redis: its counter gaps classified
against the stored events, and its group membership surviving a daphne start."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from awx_eventdebug.channels.config import load_layer
from awx_eventdebug.columns import SOURCE_LIVE
from awx_eventdebug.listen.listener import STOP_DURATION, Listener
from awx_eventdebug.listen.membership import GROUP_GONE, MEMBER_REMOVED
from awx_eventdebug.models import ChannelOverflow
from tests.conftest import REDIS_URL
from tests.support.awx_sender import start_sender
from tests.support.workloads import add_job_with_quiet_events


def layer_settings(settings, key_prefix, **config):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": key_prefix, "capacity": 10000, **config},
        }
    }
    return load_layer("default")


@pytest.mark.django_db(transaction=True)
def test_only_events_stored_and_due_but_not_received_are_lost(settings, key_prefix, stand_in_rebuilt):
    layer = layer_settings(settings, key_prefix)
    # One event a second, so none is over AWX's rate: 50 has no output, 51 is due, and 120 the
    # receiver has not stored.
    job = add_job_with_quiet_events(datetime.now(UTC) - timedelta(minutes=10), 200, quiet=(50,))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM main_jobevent WHERE job_id = %s AND counter = 120", [job])
    # What the overflow capture records when channels_redis drops a message for the job's group.
    now = datetime.now(UTC)
    ChannelOverflow.objects.create(
        node="awx-1",
        group=f"job_events-{job}",
        window_start=now,
        first_seen=now,
        last_seen=now + timedelta(minutes=1),
        drops=1,
        queues_over=1,
        max_group_size=2,
        source=SOURCE_LIVE,
    )
    sent = [c for c in range(1, 201) if c not in (50, 51, 120)]
    processes = []

    def update(report):
        if report["received_messages"] >= len(sent):
            listener.stop(STOP_DURATION)

    listener = Listener(
        layer,
        [f"job_events-{job}"],
        duration=60,
        interval=0.1,
        on_joined=lambda _: processes.append(start_sender(key_prefix, job, sent, rate=2000)),
        on_update=update,
    )
    summary = listener.run()
    processes[0].join(10)
    counters = summary["counters"]
    assert (counters["missing"], counters["gaps"]) == (3, 2)
    assert counters["cause_counters"] == {
        "no_output": 1,
        "live_updates_off": 0,
        "rate_limited": 0,
        "not_stored": 1,
        "lost": 1,
        "unchecked": 0,
    }
    assert counters["lost_counters"] == 1 and counters["check_errors"] == {} and counters["checked"]
    assert counters["overflow_drops"] == 1


def test_a_daphne_start_deleting_asgi_keys_is_noticed_and_the_group_joined_again(
    settings, key_prefix, redis_client
):
    # group_expiry 2: the membership is checked every second (group_expiry / 2).
    layer = layer_settings(settings, key_prefix, group_expiry=2)
    group = "job_events-77"
    seen = {"deleted": False, "members_after": None}
    processes = []

    def update(report):
        if not seen["deleted"]:
            # What AWX's routing.py does at every daphne start: delete every key of the layer.
            keys = list(redis_client.scan_iter(match=f"{key_prefix}*", count=500))
            redis_client.delete(*keys)
            seen["deleted"] = True
        elif report["membership"]["lost_count"] and not processes:
            seen["members_after"] = redis_client.zrange(layer.group_key(group), 0, -1)
            processes.append(start_sender(key_prefix, 77, range(1, 51), rate=500))
        elif report["received_messages"] >= 50:
            listener.stop(STOP_DURATION)

    listener = Listener(layer, [group], duration=60, interval=0.2, on_update=update)
    started = time.monotonic()
    summary = listener.run()
    processes[0].join(10)
    assert time.monotonic() - started < 60
    [lost] = summary["membership"]["events"]
    assert (lost["group"], lost["why"], summary["membership"]["lost_count"]) == (group, GROUP_GONE, 1)
    assert [member.decode() for member in seen["members_after"]] == [summary["channel"]]
    assert summary["received_messages"] == 50 and summary["counters"]["missing"] == 0


def test_a_member_removed_from_a_group_that_stays_is_noticed_too(settings, key_prefix, redis_client):
    layer = layer_settings(settings, key_prefix, group_expiry=2)
    group = "job_events-78"
    redis_client.zadd(layer.group_key(group), {"specific.browser!1": time.time() + 3600})

    def update(report):
        if report["membership"]["lost_count"]:
            listener.stop(STOP_DURATION)
        else:
            redis_client.zrem(layer.group_key(group), report["channel"])

    listener = Listener(layer, [group], duration=30, interval=0.2, on_update=update)
    summary = listener.run()
    assert [event["why"] for event in summary["membership"]["events"]] == [MEMBER_REMOVED]
