import asyncio
import json
import time
from datetime import datetime
from io import StringIO

import pytest
from channels.layers import get_channel_layer
from django.core.management import CommandError, call_command


async def join(layer, group: str) -> str:
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return channel


async def receive(layer, group: str, channel: str, count: int) -> list[dict]:
    """``count`` messages, then leave the group and close the pools of this event loop."""
    messages = [await layer.receive(channel) for _ in range(count)]
    await layer.group_discard(group, channel)
    await layer.close_pools()
    return messages


def test_emit_awx_events_sends_awx_messages_to_the_job_group(redis_layer_settings):
    layer = get_channel_layer()
    channel = asyncio.run(join(layer, "job_events-9"))
    out = StringIO()
    call_command("emit_awx_events", "--job", "9", "--count", "5", "--skip", "2", "--lag", "3", stdout=out)
    assert "sent 4 events to job_events-9" in out.getvalue()

    messages = asyncio.run(receive(layer, "job_events-9", channel, 4))
    assert {(m["type"], m["needs_relay"]) for m in messages} == {("internal.message", True)}
    payloads = [json.loads(m["text"]) for m in messages]
    assert [p["counter"] for p in payloads] == [1, 3, 4, 5]
    for payload in payloads:
        assert (payload["job"], payload["group_name"]) == (9, "job_events")
        assert payload["url"] == f"/api/v2/job_events/{payload['counter']}"
    assert all(p["created"] == p["modified"] and p["created"].endswith("+00:00") for p in payloads)
    ages = [time.time() - datetime.fromisoformat(p["created"]).timestamp() for p in payloads]
    # created --lag 3 seconds before sending; the time since then only grows on a loaded machine.
    assert all(3 <= age < 30 for age in ages)


def test_emit_awx_events_drops_counters_and_spreads_lag_for_the_dashboard(redis_layer_settings):
    layer = get_channel_layer()
    channel = asyncio.run(join(layer, "job_events-5"))
    out = StringIO()
    options = ("--count", "30", "--rate", "1000", "--drop", "0.2", "--seed", "4", "--lag", "2")
    call_command("emit_awx_events", "--job", "5", *options, "--lag-spread", "0.5", stdout=out)
    sent = int(out.getvalue().split()[1])
    assert 0 < sent < 30

    payloads = [json.loads(m["text"]) for m in asyncio.run(receive(layer, "job_events-5", channel, sent))]
    counters = [p["counter"] for p in payloads]
    assert counters == sorted(counters) and len(set(counters)) == sent and max(counters) <= 30
    ages = [time.time() - datetime.fromisoformat(p["created"]).timestamp() for p in payloads]
    assert all(0 < age < 30 for age in ages)
    assert max(ages) - min(ages) > 0.1  # spread around the median, not all exactly --lag


@pytest.mark.parametrize(
    "options, message",
    [
        (("--skip", "a,b"), "--skip"),
        (("--drop", "1"), "--drop"),
        (("--rate", "0"), "--rate"),
        (("--lag-spread", "-1"), "--lag-spread"),
    ],
)
def test_emit_awx_events_rejects_nonsense_options(redis_layer_settings, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("emit_awx_events", "--job", "9", *options)
