"""The jobs whose live output AWX thinned by its own rate limit (awx/sending.py), and where check,
path and report show them."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from awx_eventdebug.awx import sending
from awx_eventdebug.awx.sending import MAX_JOBS, websocket_rate
from awx_eventdebug.window import Window
from tests.support.workloads import add_job

pytestmark = pytest.mark.django_db


def job(events: int, seconds: float, ended_ago: timedelta = timedelta(minutes=1), kind: str = "job") -> int:
    """A job of ``events`` events, each stored 0.5 s after it was created, that ran ``seconds``
    and ended ``ended_ago``."""
    created = timezone.now() - ended_ago - timedelta(seconds=seconds)
    return add_job(kind, created, [0.5] * events, duration=seconds)


def last(minutes: int) -> Window:
    now = timezone.now()
    return Window(now - timedelta(minutes=minutes), now)


def test_only_the_jobs_faster_than_the_limit_are_named_fastest_first():
    fast, faster = job(300, 3.0), job(600, 2.0, kind="project_update")
    job(60, 60.0)  # 1 event/s
    job(90, 3.0)  # exactly the limit: AWX sends every event
    rate = websocket_rate(last(15))
    assert rate["awx"] == {"max_websocket_events_per_second": 30, "ui_live_updates_enabled": True}
    assert [(j["job"], j["kind"], j["rate_per_second"], j["live_share"]) for j in rate["jobs"]] == [
        (faster, "project_update", 300.0, 0.1),
        (fast, "job", 100.0, 0.3),
    ]
    assert not rate["jobs_truncated"]
    assert rate["findings"][1] == (
        f"job {fast} (job): 300 events in 3 s, 100 events/s on average against "
        "MAX_WEBSOCKET_EVENT_RATE 30/s: AWX sent the UI at most 30% of its events live, the rest "
        "show when its output page loads again"
    )


def test_a_job_that_ended_outside_the_window_is_not_named():
    job(300, 3.0, ended_ago=timedelta(minutes=20))
    assert websocket_rate(last(15))["jobs"] == []


def test_only_the_latest_jobs_of_the_window_are_read(monkeypatch):
    """A fast job that ended before RECENT_JOBS later ones is left out: the reading costs the
    same however many jobs the window holds."""
    monkeypatch.setattr(sending, "RECENT_JOBS", 2)
    earlier = job(300, 3.0, ended_ago=timedelta(minutes=3))
    later = [job(60, 60.0, ended_ago=timedelta(minutes=2)), job(600, 2.0, ended_ago=timedelta(minutes=1))]
    assert [j["job"] for j in websocket_rate(last(15))["jobs"]] == [later[1]]
    monkeypatch.setattr(sending, "RECENT_JOBS", 3)
    assert [j["job"] for j in websocket_rate(last(15))["jobs"]] == [later[1], earlier]


def test_more_jobs_than_shown_are_said_to_be_more():
    for _ in range(MAX_JOBS + 1):
        job(300, 3.0)
    rate = websocket_rate(last(15))
    assert len(rate["jobs"]) == MAX_JOBS and rate["jobs_truncated"]
    more = f"more jobs than these {MAX_JOBS} were faster than MAX_WEBSOCKET_EVENT_RATE"
    assert rate["findings"][-1] == more


def test_awx_settings_decide(settings):
    job(300, 3.0)
    settings.MAX_WEBSOCKET_EVENT_RATE = 0  # AWX: no limit
    assert websocket_rate(last(15))["findings"] == []
    settings.MAX_WEBSOCKET_EVENT_RATE = 200
    assert websocket_rate(last(15))["jobs"] == []
    settings.UI_LIVE_UPDATES_ENABLED = False
    assert websocket_rate(last(15))["findings"][0].startswith(
        "UI_LIVE_UPDATES_ENABLED is False: AWX sends the UI no job event live"
    )


def output(subcommand: str, *args: str) -> str:
    out = StringIO()
    try:
        call_command("eventdebug", subcommand, "--since", "15m", *args, stdout=out)
    except CommandError:
        pass  # a check that failed or could not judge still wrote its document
    return out.getvalue()


def test_check_path_and_report_show_them(redis_layer_settings):
    fast = job(300, 3.0)
    named = f"job {fast} (job): 300 events in 3 s"
    assert f"UI: {named}" in output("check")
    assert named in output("path") and named in output("report")
    for subcommand in ("check", "path", "report"):
        document = json.loads(output(subcommand, "--json"))
        assert [j["job"] for j in document["websocket_rate"]["jobs"]] == [fast], subcommand
