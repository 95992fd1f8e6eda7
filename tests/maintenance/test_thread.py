"""The maintenance thread: never blocking its process, keeping the tables up slot after slot,
started by the app's ready() in AWX's long-running services only, by MAINTENANCE alone (CAPTURE
does not matter)."""

import json
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.apps import apps
from django.test import override_settings
from django.utils import timezone

from awx_eventdebug.maintenance import thread
from awx_eventdebug.maintenance.thread import THREAD_NAME, Maintainer
from awx_eventdebug.models import NodeSnapshot
from awx_eventdebug.path.sampler import PURGE_BATCH
from tests.maintenance.test_slot import EXTRA, snapshot
from tests.support.awx_callback import blackhole
from tests.support.redis_servers import redis_server
from tests.support.service_node import start_node, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SERVICE = ["/usr/bin/awx-manage", "run_dispatcher"]


def test_blackholed_redis_times_out_and_never_blocks_the_process(settings):
    timeout = 1.0
    with blackhole() as port:
        url = f"redis://127.0.0.1:{port}/0"
        settings.BROKER_URL = url
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}
        }
        settings.EVENTDEBUG = {"REDIS_TIMEOUT": timeout}
        # Slots shorter than a sample: the next ones pass, never a second slot at once.
        maintainer = Maintainer(0.3, node="node-hole")
        longest_gap = 0.0
        started = last_beat = time.monotonic()
        assert maintainer.start()
        try:
            while last_beat - started < 4.0:  # the process's own work
                time.sleep(0.01)
                beat = time.monotonic()
                longest_gap, last_beat = max(longest_gap, beat - last_beat), beat
        finally:
            maintainer.stop(timeout=5)
    stats = maintainer.stats()
    # A main thread that waited for Redis would miss a beat for the whole timeout; a loaded
    # machine only delays its 10 ms sleeps.
    assert longest_gap < timeout
    assert stats["max_in_flight"] == 1
    assert stats["samples"] >= 2 and stats["overruns"] >= 2
    assert timeout <= stats["last_seconds"] < timeout + 1.5
    latest = NodeSnapshot.objects.filter(node="node-hole").latest("taken_at")
    assert "no answer within the timeout" in latest.data["backlog"]["error"]
    assert "no answer within the timeout" in latest.data["layer"]["error"]
    assert latest.seconds < timeout + 1.5
    assert not any(t.name == THREAD_NAME for t in threading.enumerate())


def test_without_sampling_the_thread_still_purges_a_batch_per_slot():
    now = timezone.now()
    old = [snapshot(f"node-{i}", now - timedelta(days=2, minutes=i)) for i in range(PURGE_BATCH + EXTRA)]
    NodeSnapshot.objects.bulk_create([*old, snapshot("node-young", now)])
    maintainer = Maintainer(0.3, sample=False, node="node-m")
    assert maintainer.start()
    try:
        wait_for(lambda: NodeSnapshot.objects.count() == 1, 30, "the old snapshots purged")
    finally:
        maintainer.stop(timeout=10)
    stats = maintainer.stats()
    assert stats["upkeeps"] >= 2  # a batch, then the rest in a later slot
    assert (stats["samples"], stats["failures"], stats["last_error"]) == (0, 0, "")
    assert NodeSnapshot.objects.get().node == "node-young"
    assert not NodeSnapshot.objects.filter(node="node-m").exists()


def test_a_failing_task_is_one_warning_per_outage_and_the_purges_go_on(caplog, stand_in_rebuilt):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE main_jobevent")  # an AWX without it: filling the rollups fails
    now = timezone.now()
    NodeSnapshot.objects.bulk_create([snapshot(f"node-{i}", now - timedelta(days=2)) for i in range(3)])
    maintainer = Maintainer(0.3, sample=False, node="node-m")
    assert maintainer.start()
    try:
        wait_for(lambda: maintainer.stats()["failures"] >= 3, 30, "three failed upkeeps")
    finally:
        maintainer.stop(timeout=10)
    stats = maintainer.stats()
    assert stats["last_error"].startswith("lag_rollups_left: ") and "main_jobevent" in stats["last_error"]
    assert stats["last_upkeep"]["done"]["snapshots_purged"] == 0  # purged by the first upkeep
    assert not NodeSnapshot.objects.exists()
    warnings = [r.getMessage() for r in caplog.records if r.name == "awx_eventdebug.maintenance"]
    assert len(warnings) == 1 and "the maintenance of node-m failed: lag_rollups_left:" in warnings[0]


@pytest.mark.parametrize(
    "argv, service",
    [
        (["/usr/bin/uwsgi", "/etc/tower/uwsgi.ini"], True),
        (["/var/lib/awx/venv/awx/bin/daphne", "-b", "127.0.0.1", "awx.asgi:channel_layer"], True),
        (["/usr/bin/awx-manage", "run_callback_receiver"], True),
        (SERVICE, True),
        (["/usr/bin/awx-manage", "migrate", "--noinput"], False),
        (["/usr/bin/awx-manage", "collectstatic"], False),
        (["/usr/bin/awx-manage", "eventdebug", "check"], False),
        (["example_settings/manage.py", "shell"], False),
    ],
)
def test_only_long_running_services_start_the_thread(argv, service, monkeypatch):
    assert thread.is_service_process(argv) is service
    started = started_by_ready(monkeypatch, argv, {"MAINTENANCE": True})
    assert len(started) == int(service)


@pytest.mark.parametrize(
    "eventdebug, starts",
    [({"MAINTENANCE": True}, True), ({}, True), ({"MAINTENANCE": False}, False)],
    ids=["on", "default", "off"],
)
def test_ready_starts_the_thread_by_the_maintenance_setting(eventdebug, starts, monkeypatch):
    assert len(started_by_ready(monkeypatch, SERVICE, eventdebug)) == int(starts)


def started_by_ready(monkeypatch, argv, eventdebug) -> list[Maintainer]:
    """The maintainers the app's ready() starts in a process run as ``argv`` with CAPTURE off
    (recorded, not run: the tests' own process keeps no thread and no capture handler)."""
    monkeypatch.setattr(thread, "_MAINTAINER", None)
    monkeypatch.setattr(thread.sys, "argv", argv)
    started = []
    monkeypatch.setattr(Maintainer, "start", lambda self: started.append(self))
    with override_settings(EVENTDEBUG={**eventdebug, "CAPTURE": False}):
        apps.get_app_config("awx_eventdebug").ready()
    return started


def test_a_slot_of_its_own_when_sampling_is_off(monkeypatch):
    [maintainer] = started_by_ready(monkeypatch, SERVICE, {"SAMPLE_INTERVAL": 0})
    assert (maintainer.slot, maintainer.sample) == (thread.UNSAMPLED_SLOT, False)
    [maintainer] = started_by_ready(monkeypatch, SERVICE, {"SAMPLE_INTERVAL": 5})
    assert (maintainer.slot, maintainer.sample) == (5, True)


def node_threads(process) -> list[str]:
    line = process.stdout.readline()
    assert line.startswith("threads "), line + process.stderr.read()
    return json.loads(line.removeprefix("threads "))


@pytest.mark.parametrize("capture", ["0", "1"])
@pytest.mark.parametrize("maintenance", ["0", "1"])
def test_an_awx_service_runs_the_thread_whatever_capture_says(capture, maintenance):
    """A real process started as an AWX service: the thread runs by MAINTENANCE, not CAPTURE, and
    with CAPTURE off it still writes the node's snapshots."""
    with redis_server() as port:
        environment = {"NODE_CAPTURE": capture, "NODE_MAINTENANCE": maintenance}
        process = start_node("node-s", port, 1.0, stdout=subprocess.PIPE, **environment)
        try:
            running = THREAD_NAME in node_threads(process)
            assert running is (maintenance == "1")
            if running and capture == "0":
                wait_for(lambda: NodeSnapshot.objects.filter(node="node-s").exists(), 30, "a snapshot")
        finally:
            process.kill()
            process.wait(10)
    assert "Traceback" not in process.stderr.read()
