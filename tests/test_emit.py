import asyncio
import json
import time
from datetime import datetime
from io import StringIO

import pytest
from channels.layers import get_channel_layer
from django.core.management import CommandError, call_command


def test_emit_awx_events_sends_awx_messages_to_the_job_group(redis_layer_settings):
    layer = get_channel_layer()

    async def join():
        channel = await layer.new_channel()
        await layer.group_add("job_events-9", channel)
        return channel

    channel = asyncio.run(join())
    out = StringIO()
    call_command("emit_awx_events", "--job", "9", "--count", "5", "--skip", "2", "--lag", "3", stdout=out)
    assert "sent 4 events to job_events-9" in out.getvalue()

    async def receive():
        messages = [await layer.receive(channel) for _ in range(4)]
        await layer.group_discard("job_events-9", channel)
        await layer.close_pools()
        return messages

    messages = asyncio.run(receive())
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


def test_emit_awx_events_rejects_a_bad_skip_list(redis_layer_settings):
    with pytest.raises(CommandError, match="--skip"):
        call_command("emit_awx_events", "--job", "9", "--skip", "a,b")
