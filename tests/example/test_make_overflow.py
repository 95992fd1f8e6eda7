import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from awx_eventdebug.overflow import install as capture
from tests.support.capture_helpers import drops_by_group
from tests.support.channel_layers import use_layer
from tests.support.workloads import add_job


@pytest.fixture
def installed(settings):
    settings.EVENTDEBUG = {"CAPTURE_FLUSH_INTERVAL": 3600}
    capture.install()
    yield
    capture.uninstall()


def eventdebug_json(*args):
    out = StringIO()
    call_command("eventdebug", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_a_slow_consumer_fills_its_queue_on_the_default_layer_and_the_drops_are_captured(
    installed, redis_layer_settings, redis_client, stand_in_rebuilt
):
    job = add_job("job", datetime.now(UTC) - timedelta(minutes=5), [0.5])
    capacity = redis_layer_settings["CONFIG"]["capacity"]
    out = StringIO()
    # 70 of the 100 messages the slow one starts behind, written at once; 30 sent live.
    call_command("make_overflow", "--drops", "7", "--live-fill", "30", "--keep", "10m", stdout=out)
    group = f"job_events-{job}"
    # Each message sent while the slow member's queue was full: "1 of 2 channels over capacity".
    assert drops_by_group() == {group: 7}
    assert f"{group}: a slow consumer reading 1 message in 10 filled its queue" in out.getvalue()
    assert f"to {capacity:,} messages (the layer's capacity); channels_redis then dropped 7" in out.getvalue()

    # Left on the layer the dashboard and the commands read: the group with its two members, the
    # slow one's queue full, the healthy one's empty, expiring after --keep.
    groups = eventdebug_json("groups")
    [shown] = [g for g in groups["groups"] if g["name"] == group]
    assert shown["members"] == 2
    full, empty = shown["queues"]
    assert (full["depth_messages"], full["fill_percent"], empty["depth_messages"]) == (capacity, 100.0, 0)
    queue = full
    assert 0 < redis_client.ttl(queue["key"]) <= 600
    queues = eventdebug_json("queues")
    assert [q["key"] for q in queues["queues"] if q["fill_percent"] == 100.0] == [queue["key"]]


@pytest.mark.django_db
def test_refuses_without_the_capture_or_with_bad_options(installed):
    with pytest.raises(CommandError, match="--drops must be at least 1"):
        call_command("make_overflow", "--drops", "0")
    with pytest.raises(CommandError, match="--live-fill must be at least 1"):
        call_command("make_overflow", "--live-fill", "0")
    with pytest.raises(CommandError, match="--keep: .* is not a duration"):
        call_command("make_overflow", "--keep", "soon")
    capture.uninstall()
    with pytest.raises(CommandError, match="capture is off"):
        call_command("make_overflow")


@pytest.mark.django_db
def test_redis_down_is_one_line_not_a_traceback(installed, settings):
    from tests.support.redis_servers import closed_port

    with closed_port() as port:
        use_layer(settings, {"hosts": [f"redis://127.0.0.1:{port}/0"]})
        with pytest.raises(
            CommandError, match=f"no demo overflow: Redis redis://127.0.0.1:{port}/0 unreachable"
        ):
            call_command("make_overflow", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_run_again_it_starts_afresh(installed, redis_layer_settings, stand_in_rebuilt):
    """The members the first run left (its slow one's queue still full) leave the group first:
    the second run's drops are its own 3, not every message it sends."""
    for _ in range(2):
        call_command("make_overflow", "--drops", "3", "--live-fill", "30", "--keep", "10m", stdout=StringIO())
    assert drops_by_group() == {"job_events-1": 6}
    [shown] = [g for g in eventdebug_json("groups")["groups"] if g["name"] == "job_events-1"]
    assert shown["members"] == 2
