import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import CommandError, call_command


def test_sends_awx_shaped_messages_to_the_job_group(redis_layer_settings):
    layer = get_channel_layer()

    async def join():
        channel = await layer.new_channel()
        await layer.group_add("job_events-5", channel)
        return channel

    async def drain(channel, count):
        return [await layer.receive(channel) for _ in range(count)]

    channel = async_to_sync(join)()
    out = StringIO()
    arguments = [
        "--job",
        "5",
        "--events",
        "30",
        "--rate",
        "1000",
        "--drop",
        "0.2",
        "--seed",
        "4",
        "--lag",
        "2",
    ]
    call_command("emit_job_events", *arguments, stdout=out)
    sent = int(out.getvalue().split()[1])
    assert 0 < sent < 30
    messages = async_to_sync(drain)(channel, sent)
    events = [json.loads(m["text"]) for m in messages]
    assert all(m["type"] == "internal.message" for m in messages)
    assert {(e["group_name"], e["job"]) for e in events} == {("job_events", 5)}
    counters = [e["counter"] for e in events]
    assert counters == sorted(counters) and len(set(counters)) == sent and max(counters) <= 30
    lags = [(datetime.now(UTC) - datetime.fromisoformat(e["created"])).total_seconds() for e in events]
    assert all(0 < lag < 30 for lag in lags)


def test_refuses_nonsense_options(redis_layer_settings):
    with pytest.raises(CommandError, match="--drop"):
        call_command("emit_job_events", "--job", "5", "--drop", "1")
    with pytest.raises(CommandError, match="--rate"):
        call_command("emit_job_events", "--job", "5", "--rate", "0")
