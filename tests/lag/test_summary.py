"""The lag the health figures read (lag/summary.py): final minutes from the rollups, the open ones
from the events, every percentile within 1% of the exact statement; rollups that lag behind are
computed from the events within the statement timeout, or the figure says why it is missing."""

import json
import math
import random
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from awx_eventdebug.awx.tables import KINDS
from awx_eventdebug.health.report import health_window
from awx_eventdebug.health.snapshot import HealthSnapshot
from awx_eventdebug.lag import recent, summary
from awx_eventdebug.lag.nodes import node_clocks
from awx_eventdebug.lag.query import LagQuery
from awx_eventdebug.lag.report import HEALTH_FILL_MINUTES, lag_report
from awx_eventdebug.lag.rollup import fill_rollups
from awx_eventdebug.lag.sketch import RELATIVE_ERROR
from awx_eventdebug.lag.summary import P99_KEY, lag_percentiles, lag_summary, worst_of_kind, worst_of_kinds
from awx_eventdebug.models import LagRollup
from awx_eventdebug.timeutil import isoformat
from example_settings.awxschema.workload import insert_job

pytestmark = pytest.mark.django_db

CONFIGURED = (1, 10, 25, 50, 75, 90, 95, 99, 99.9)
PERCENTILES = tuple(Decimal(str(p)) for p in CONFIGURED)


def events_until_now(kind, minutes, count, seed):
    """One job of ``kind`` with ``count`` events stored over the last ``minutes`` minutes, the
    last ones in the open minutes (not final yet), with lognormal lags and a slow tail."""
    rng = random.Random(seed)
    now = timezone.now()
    events = []
    for n in range(count):
        modified = (
            now - timedelta(minutes=minutes) + timedelta(seconds=(n + rng.random()) * minutes * 60 / count)
        )
        lag = rng.lognormvariate(0, 1.3) if n % 50 else rng.uniform(30, 120)
        events.append((modified - timedelta(seconds=round(lag, 6)), modified, "runner_on_ok"))
    insert_job(kind, now - timedelta(minutes=minutes + 5), events)


def exact(kind, window):
    return lag_report(
        LagQuery(kind=kind, since=window.since, until=window.until, percentiles=PERCENTILES, exact=True)
    )


def test_health_lag_is_within_one_percent_of_exact_and_says_how_it_was_read(settings):
    settings.EVENTDEBUG = {"LAG_PERCENTILES": CONFIGURED, "HEALTH_WINDOW": "15m"}
    assert lag_percentiles() == PERCENTILES
    events_until_now("job", 14, 3000, seed=1)
    events_until_now("project_update", 14, 400, seed=2)
    window = health_window(timezone.now())
    first = lag_summary(window, 0)
    for kind in ("job", "project_update"):
        figures, expected = first["kinds"][kind], exact(kind, window)
        assert (figures["method"], figures["percentile_error_ratio"]) == ("rollup", RELATIVE_ERROR)
        assert figures["rollups_behind_minutes"] >= 10  # nothing filled them: computed for this read
        for key in (
            "count",
            "min_seconds",
            "max_seconds",
            "missing_created_count",
            "backfilled_count",
            "negative_count",
        ):
            assert figures[key] == expected[key]
        assert figures["mean_seconds"] == pytest.approx(expected["mean_seconds"], rel=1e-9)
        for key, value in expected["percentiles_seconds"].items():
            assert figures["percentiles_seconds"][key] == pytest.approx(value, rel=RELATIVE_ERROR), key
    assert first["kinds"]["system_job"]["count"] == 0
    # The first read stored the final minutes: the next one reads them (a minute or two may have
    # become final in between) and answers as it did.
    second = lag_summary(window, 0)
    assert second["kinds"]["job"]["rollups_behind_minutes"] <= 2
    assert second["kinds"]["job"]["percentiles_seconds"] == first["kinds"]["job"]["percentiles_seconds"]
    # The check is judged on the same figure.
    check = HealthSnapshot(window).check()
    assert check["figures"]["lag_p99_seconds"] == max(
        first["kinds"][kind]["percentiles_seconds"][P99_KEY] for kind in ("job", "project_update")
    )


def test_worst_jobs_stay_exact_beside_the_rolled_up_kinds():
    events_until_now("job", 10, 300, seed=3)
    window = health_window(timezone.now())
    summary = lag_summary(window, 5)
    [job] = summary["worst_jobs"]
    by_job = lag_report(
        LagQuery(since=window.since, until=window.until, by="job", percentiles=lag_percentiles(), exact=True)
    )
    assert job["percentiles_seconds"] == by_job["groups"][0]["percentiles_seconds"]
    assert summary["kinds"]["job"]["method"] == "rollup" and job["count"] == summary["kinds"]["job"]["count"]


def test_rollups_far_behind_fall_back_to_the_exact_statement_and_say_so(settings):
    """A fresh install or a stopped maintenance thread: more than HEALTH_FILL_MINUTES final
    minutes missing, the window is read exactly, under the statement timeout (a kind whose
    statement fails is unread, with why: tests/health/test_report.py), and the figures say how far
    behind the rollups were."""
    events_until_now("job", 6 * 60, 600, seed=4)
    settings.EVENTDEBUG = {"HEALTH_WINDOW": "6h"}
    window = health_window(timezone.now())
    figures = lag_summary(window, 0)["kinds"]["job"]
    assert (figures["method"], figures["percentile_error_ratio"]) == ("exact", 0.0)
    assert figures["rollups_behind_minutes"] >= 6 * 60 - 5
    expected = exact("job", window)
    assert (
        (figures["count"], figures["max_seconds"])
        == (expected["count"], expected["max_seconds"])
        == (600, expected["max_seconds"])
    )
    assert LagRollup.objects.count() == 0  # left to the maintenance thread

    # Filled (as the maintenance thread fills), all but the minutes that became final since.
    settings.EVENTDEBUG = {"HEALTH_WINDOW": "6h"}
    fill_rollups(since=window.since, until=window.until)
    figures = lag_summary(window, 0)["kinds"]["job"]
    assert figures["method"] == "rollup" and figures["rollups_behind_minutes"] <= HEALTH_FILL_MINUTES
    assert figures["count"] == 600


def test_every_kind_is_read_in_one_statement_over_the_rollups_and_one_over_the_events():
    """A reading's statements do not multiply with the kinds (nor, so, with AWX's volume)."""
    for seed, kind in enumerate(KINDS):
        events_until_now(kind, 10, 50, seed=seed)
    window = health_window(timezone.now())
    fill_rollups(since=window.since, until=window.until)
    with CaptureQueriesContext(connection) as statements:
        summary = lag_summary(window, 0)
    assert all(summary["kinds"][kind]["count"] == 50 for kind in KINDS)
    sql = [statement["sql"] for statement in statements]
    assert sum("awx_eventdebug_lagrollup" in text for text in sql) == 1
    assert sum("FROM main_" in text for text in sql) == 1
    # Which tables hold each kind's events (AWX's legacy tables): one statement, asked once.
    assert sum("django_migrations" in text for text in sql) == 1


@pytest.mark.postgres_only(reason="the worst jobs of every kind are one statement on PostgreSQL")
def test_the_worst_jobs_of_every_kind_are_one_statement_with_each_kinds_own_figures():
    for seed, kind in enumerate(KINDS):
        for job in range(3):
            events_until_now(kind, 10, 40, seed=seed * 10 + job)
    # Events whose job is gone (AWX's job_id is nullable): grouped apart, under no job.
    stored = timezone.now() - timedelta(minutes=1)
    late = (stored - timedelta(minutes=5), stored, "runner_on_ok")  # stored 5 minutes after created
    gone = insert_job("job", timezone.now() - timedelta(minutes=20), [late] * 3)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE main_jobevent SET job_id = NULL WHERE job_id = %s", [gone])
    window = health_window(timezone.now())
    fill_rollups(since=window.since, until=window.until)
    with CaptureQueriesContext(connection) as statements:
        worst = lag_summary(window, 4)["worst_jobs"]
    assert worst[0]["job"] is None and worst[0]["count"] == 3
    on_events = [statement["sql"] for statement in statements if "FROM main_" in statement["sql"]]
    assert len(on_events) == 2  # the open minutes of every kind, then the worst jobs of every kind
    # What each kind read on its own gives (SQLite's way): the same jobs, figures and order.
    each = []
    for kind in KINDS:
        each += [
            {"kind": kind, "job": g.pop("key"), **g}
            for g in worst_of_kind(kind, window, lag_percentiles())["groups"]
        ]
    each.sort(key=lambda job: job["percentiles_seconds"][P99_KEY], reverse=True)
    assert alike(worst, each[:4])  # the same sums, added in another order
    assert len({job["kind"] for job in each[:4]}) > 1


@pytest.mark.postgres_only(reason="the worst jobs of every kind are one statement on PostgreSQL")
def test_a_failed_worst_jobs_statement_says_why_and_leaves_the_figures_judged(settings):
    for seed, kind in enumerate(KINDS):
        events_until_now(kind, 10, 2000, seed=seed)
    window = health_window(timezone.now())
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 0.001}
    jobs, error = worst_of_kinds(list(KINDS), window, lag_percentiles(), 5)
    assert jobs == []
    assert "statement timeout" in error and "STATEMENT_TIMEOUT" in error


def alike(one, other) -> bool:
    """Equal, floats within a relative 1e-9 of each other."""
    if isinstance(one, float) and isinstance(other, float):
        return math.isclose(one, other, rel_tol=1e-9)
    if isinstance(one, dict) and isinstance(other, dict):
        return one.keys() == other.keys() and all(alike(one[key], other[key]) for key in one)
    if isinstance(one, list) and isinstance(other, list):
        return len(one) == len(other) and all(map(alike, one, other))
    return one == other


def test_worst_jobs_and_clocks_are_read_over_the_latest_events_of_the_window(monkeypatch):
    """A slow job among older events is left out once RECENT_EVENTS later ones are there: the
    figures per job and per node cost the same however many events the window holds."""
    now = timezone.now()

    def job(minutes_ago, lag_seconds, count):
        stored = [now - timedelta(minutes=minutes_ago) + timedelta(seconds=n) for n in range(count)]
        events = [
            (modified - timedelta(seconds=lag_seconds), modified, "runner_on_ok") for modified in stored
        ]
        return insert_job("job", now - timedelta(minutes=minutes_ago + 1), events), stored[0]

    slow, _ = job(8, 60, 20)
    fast, fast_since = job(3, 0.5, 30)
    window = health_window(timezone.now())
    assert [j["job"] for j in lag_summary(window, 5)["worst_jobs"]] == [slow, fast]
    monkeypatch.setattr(recent, "RECENT_EVENTS", 30)
    assert [j["job"] for j in lag_summary(window, 5)["worst_jobs"]] == [fast]
    assert node_clocks(window)["events_since"] == isoformat(fast_since)


def test_worst_jobs_that_cannot_be_read_are_said_apart_from_the_judged_figures(monkeypatch, admin_client):
    events_until_now("job", 10, 50, seed=1)
    why = "the statement timeout (1 ms) ended it"
    monkeypatch.setattr(summary, "worst_of_kinds", lambda *args: ([], why))
    out = StringIO()
    call_command("eventdebug", "report", "--json", stdout=out)
    lag = json.loads(out.getvalue())["lag"]
    assert (lag["worst_jobs"], lag["worst_jobs_error"], lag["errors"]) == ([], why, {})
    out = StringIO()
    call_command("eventdebug", "report", stdout=out)
    assert f"worst jobs: {why}" in out.getvalue()
    # The check judges the figures it read; the dashboard's table says why it is empty.
    page = admin_client.get("/api/eventdebug/", HTTP_ACCEPT="text/html").content.decode()
    assert f"Worst jobs unavailable: {why}" in page
    assert "UNKNOWN" not in page and "Some figures could not be checked" not in page


def test_jobs_of_equal_lag_come_by_kind_name_then_id_on_either_database():
    """PostgreSQL's one statement and SQLite's kind-by-kind path rank ties alike."""
    stored = timezone.now() - timedelta(minutes=2)
    same = [(stored - timedelta(seconds=3), stored, "runner_on_ok")] * 2
    ids = {kind: insert_job(kind, stored - timedelta(minutes=5), same) for kind in ("system_job", "job")}
    ids["ad_hoc_command"] = insert_job("ad_hoc_command", stored - timedelta(minutes=5), same)
    worst = lag_summary(health_window(timezone.now()), 5)["worst_jobs"]
    assert [(job["kind"], job["job"]) for job in worst] == [
        (kind, ids[kind]) for kind in ("ad_hoc_command", "job", "system_job")
    ]
