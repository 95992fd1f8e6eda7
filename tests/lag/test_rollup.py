"""Lag from the per-minute rollups: percentiles within 1% of numpy's exact ones, minutes cut
exactly, late events within the grace counted, concurrent fillers counting once."""

import json
import multiprocessing
import random
from datetime import timedelta

import numpy
import pytest
from django.db import connection
from django.utils import timezone

from awx_eventdebug.lag import rollup
from awx_eventdebug.lag.query import LagQuery
from awx_eventdebug.lag.report import lag_report
from awx_eventdebug.models import LagRollup
from awx_eventdebug.timeutil import isoformat
from example_settings.awxschema.workload import insert_job
from tests.lag.test_api import URL, run_command
from tests.support import rollup_filler

pytestmark = pytest.mark.django_db

# Days ago, within RETENTION (30d), whatever day the tests run: older minutes are never stored.
BASE = rollup.floor_to(timezone.now() - timedelta(days=10), rollup.HOUR)
WINDOW = {"since": isoformat(BASE - timedelta(hours=1)), "until": isoformat(BASE + timedelta(hours=9))}
EVERY_PERCENTILE = (*range(1, 100), 99.9)


def insert_events(events, created=BASE - timedelta(hours=1)):
    """One job with these (created, modified) events."""
    return insert_job("job", created, [(c, m, "runner_on_ok") for c, m in events])


def query(since, until, **options):
    percentiles = tuple(numpy.array(EVERY_PERCENTILE).astype(str))
    from decimal import Decimal

    return LagQuery(since=since, until=until, percentiles=tuple(Decimal(p) for p in percentiles), **options)


def test_every_percentile_within_one_percent_of_numpy(settings):
    rng = random.Random(7)
    lags = [rng.lognormvariate(-0.5, 1.2) for _ in range(4000)] + [rng.uniform(20, 300) for _ in range(40)]
    events = []
    for n, lag in enumerate(lags):
        modified = BASE + timedelta(seconds=n * 9.1 + rng.random())  # ten hours of minutes
        events.append((modified - timedelta(seconds=round(lag, 6)), modified))
    insert_events(events)
    since, until = BASE - timedelta(minutes=7.5), BASE + timedelta(hours=11, seconds=13)
    report = lag_report(query(since, until))
    exact = lag_report(query(since, until, exact=True))
    assert (report["method"], exact["method"]) == ("rollup", "exact")
    assert report["percentile_error_ratio"] == 0.01
    stored = numpy.array([(m - c).total_seconds() for c, m in events])
    expected = numpy.percentile(stored, EVERY_PERCENTILE)
    got = numpy.array(list(report["percentiles_seconds"].values()))
    assert numpy.all(numpy.abs(got - expected) <= 0.01 * expected)
    for key in ("count", "min_seconds", "max_seconds", "missing_created_count", "negative_count"):
        assert report[key] == pytest.approx(exact[key], rel=1e-9)
    assert report["mean_seconds"] == pytest.approx(stored.mean(), rel=1e-9)
    assert LagRollup.objects.filter(span=3600).count() >= 10  # whole hours merged once


def test_by_hour_and_by_minute_agree_with_the_exact_groups():
    events = [
        (BASE + timedelta(minutes=m, seconds=s), BASE + timedelta(minutes=m, seconds=s + 0.5 + m % 3))
        for m in range(0, 600, 7)
        for s in (0, 30)
    ]
    insert_events(events)
    since, until = BASE, BASE + timedelta(hours=10)
    for by in ("hour", "minute"):
        report = lag_report(query(since, until, by=by))
        exact = lag_report(query(since, until, by=by, exact=True))
        assert report["method"] == "rollup"
        assert [g["key"] for g in report["groups"]] == [g["key"] for g in exact["groups"]]
        assert [g["count"] for g in report["groups"]] == [g["count"] for g in exact["groups"]]
        for mine, theirs in zip(report["groups"], exact["groups"], strict=True):
            for key, value in theirs["percentiles_seconds"].items():
                assert mine["percentiles_seconds"][key] == pytest.approx(value, rel=0.01)


def test_minute_boundaries_and_a_window_cut_inside_minutes():
    edge = BASE + timedelta(hours=3)
    tiny = timedelta(microseconds=1)
    events = [
        (edge - timedelta(seconds=2), edge - tiny),  # the last microsecond of a minute
        (edge - timedelta(seconds=2), edge),  # the first of the next
        (edge - timedelta(seconds=1), edge + timedelta(seconds=30)),
        (BASE + timedelta(seconds=5), BASE + timedelta(seconds=10)),  # before since: out
        (BASE + timedelta(hours=7, seconds=50), BASE + timedelta(hours=7, seconds=55)),  # after until
        (BASE + timedelta(hours=7, seconds=5), BASE + timedelta(hours=7, seconds=10)),  # before until
    ]
    insert_events(events)
    since, until = BASE + timedelta(seconds=15), BASE + timedelta(hours=7, seconds=45)
    minutes = lag_report(query(since, until, by="minute"))
    assert minutes["method"] == "rollup" and minutes["count"] == 4
    counts = {g["key"]: g["count"] for g in minutes["groups"]}
    keys = (edge - timedelta(minutes=1), edge, BASE + timedelta(hours=7))
    assert counts == dict(zip(map(isoformat, keys), (1, 2, 1), strict=True))
    exact = lag_report(query(since, until, by="minute", exact=True))
    assert counts == {g["key"]: g["count"] for g in exact["groups"]}
    stored = LagRollup.objects.get(kind="job", span=60, start=edge - timedelta(minutes=1))
    assert stored.count == 1 and stored.maximum == pytest.approx(2 - 1e-6)


def test_created_equal_modified_is_backfilled_and_counted_apart():
    at = BASE + timedelta(hours=1)
    insert_events([(at, at), (None, at), (at + timedelta(seconds=5), at), (at - timedelta(seconds=2), at)])
    report = lag_report(query(BASE, BASE + timedelta(hours=8)))
    assert (
        report["count"],
        report["backfilled_count"],
        report["missing_created_count"],
        report["negative_count"],
    ) == (
        1,
        1,
        1,
        1,
    )
    assert report["min_seconds"] == report["max_seconds"] == report["percentiles_seconds"]["p50"] == 2.0


def test_a_minute_waits_for_its_grace_and_late_events_are_counted(monkeypatch, settings):
    settings.EVENTDEBUG = {"LAG_ROLLUP_GRACE": "2m"}
    minute = BASE + timedelta(hours=2)
    now = minute + timedelta(seconds=100)  # ended 40 s ago: within the grace
    monkeypatch.setattr(timezone, "now", lambda: now)
    insert_events([(minute, minute + timedelta(seconds=50))])
    first = lag_report(query(BASE - timedelta(hours=5), now))
    assert first["count"] == 1
    assert not LagRollup.objects.filter(start=minute).exists()  # not final: computed, not stored
    # Stored later with modified in that minute (a batch committed late), still within the grace.
    insert_events([(minute, minute + timedelta(seconds=40))])
    now = minute + timedelta(seconds=181)
    second = lag_report(query(BASE - timedelta(hours=5), now))
    assert second["count"] == 2
    assert LagRollup.objects.get(kind="job", span=60, start=minute).count == 2


def test_rollups_outlive_the_events_until_the_retention():
    insert_events([(BASE + timedelta(minutes=5), BASE + timedelta(minutes=5, seconds=3))])
    window = (BASE, BASE + timedelta(hours=9))
    assert lag_report(query(*window))["count"] == 1
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM main_jobevent")  # AWX's cleanup_jobs
    assert lag_report(query(*window))["count"] == 1
    assert lag_report(query(*window, exact=True))["count"] == 0
    stored = LagRollup.objects.count()
    oldest = list(LagRollup.objects.order_by("start").values_list("start", flat=True)[:2])
    assert stored > 2
    # A batch at a time, oldest first (the maintenance thread runs one per slot).
    assert rollup.purge_rollups(timedelta(days=1), batch_size=2) == 2
    assert not LagRollup.objects.filter(start__lte=max(oldest)).exists()
    assert rollup.purge_rollups(timedelta(days=1)) == stored - 2
    assert not LagRollup.objects.filter(start__lt=timezone.now() - timedelta(days=1)).exists()
    assert rollup.purge_rollups(timedelta(days=1)) == 0


def test_minutes_older_than_the_retention_are_answered_never_stored(admin, settings):
    """The maintenance thread would purge them at once: a query computes them on each read."""
    insert_events([(BASE + timedelta(minutes=m), BASE + timedelta(minutes=m, seconds=2)) for m in range(480)])
    kept_for = timezone.now() - (BASE + timedelta(hours=3, minutes=30, seconds=30))
    settings.EVENTDEBUG = {"RETENTION": f"{int(kept_for.total_seconds())}s"}
    window = (BASE, BASE + timedelta(hours=8))
    horizon_before = timezone.now() - kept_for
    for _ in range(2):  # the same answer when the young minutes are stored already
        report = lag_report(query(*window, by="hour"))
        assert (report["method"], report["count"]) == ("rollup", 480)
        assert [g["count"] for g in report["groups"]] == [60] * 8
    horizon_after = timezone.now() - kept_for
    # The young minutes are stored, each once; none of those older than the horizon.
    minutes = sorted(LagRollup.objects.filter(span=60).values_list("start", flat=True))
    assert horizon_before <= minutes[0] <= rollup.ceil_to(horizon_after, rollup.MINUTE)
    assert minutes == [minutes[0] + timedelta(minutes=n) for n in range(len(minutes))]
    assert minutes[-1] == window[1] - timedelta(minutes=1)
    hours = LagRollup.objects.filter(span=3600).values_list("start", flat=True)
    assert sorted(hours) == [BASE + timedelta(hours=h) for h in range(4, 8)]
    # What cannot be filled in time is never kept either: the 503 says so.
    settings.EVENTDEBUG = {"RETENTION": "1d", "STATEMENT_TIMEOUT": 0.001}
    response = admin.get(URL, WINDOW)
    assert_out_of_time(response, "older than RETENTION are computed on every query")


def test_short_windows_jobs_and_events_stay_exact():
    job = insert_events([(BASE, BASE + timedelta(seconds=1))])
    long_window = (BASE - timedelta(hours=1), BASE + timedelta(hours=8))
    assert lag_report(query(BASE, BASE + timedelta(hours=6)))["method"] == "exact"
    assert lag_report(query(*long_window, job=job))["method"] == "exact"
    assert lag_report(query(*long_window, event="runner_on_ok"))["method"] == "exact"
    assert lag_report(query(*long_window, by="event"))["method"] == "exact"


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only(reason="two processes on one database")
def test_two_fillers_at_once_store_each_minute_once():
    rng = random.Random(3)
    events = []
    for n in range(3000):
        modified = BASE + timedelta(seconds=n * 4.8)  # four hours
        events.append((modified - timedelta(seconds=rng.uniform(0.1, 3)), modified))
    insert_events(events)
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "EVENTDEBUG_DATABASE": "postgres",
        "PGDATABASE": connection.settings_dict["NAME"],
    }
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    window = (BASE, BASE + timedelta(hours=4))
    fillers = [context.Process(target=rollup_filler.fill, args=(env, start, *window)) for _ in range(2)]
    for process in fillers:
        process.start()
    start.set()
    for process in fillers:
        process.join(120)
    assert [p.exitcode for p in fillers] == [0, 0]
    minutes = LagRollup.objects.filter(kind="job", span=60)
    assert minutes.count() == 240
    assert sum(minutes.values_list("count", flat=True)) == 3000
    assert sum(LagRollup.objects.filter(kind="job", span=3600).values_list("count", flat=True)) == 3000


def test_api_and_command_say_which_method_answered(admin):
    insert_events([(BASE, BASE + timedelta(seconds=1))])
    assert admin.get(URL, WINDOW).json()["method"] == "rollup"
    assert admin.get(URL, {**WINDOW, "exact": "true"}).json()["method"] == "exact"
    assert admin.get(URL, {**WINDOW, "exact": "maybe"}).status_code == 400
    args = ("--since", WINDOW["since"], "--until", WINDOW["until"])
    assert json.loads(run_command(*args, "--json"))["method"] == "rollup"
    assert json.loads(run_command(*args, "--exact", "--json"))["method"] == "exact"
    assert "from the per-minute rollups, within 1%" in run_command(*args)


def test_a_fill_longer_than_the_timeout_is_a_503_and_goes_on_when_asked_again(admin, settings):
    insert_events([(BASE, BASE + timedelta(seconds=1))])
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 0.001}
    response = admin.get(URL, WINDOW)
    assert_out_of_time(response, "lag rollups of this window are being filled")
    settings.EVENTDEBUG = {}
    assert admin.get(URL, WINDOW).json()["count"] == 1


def test_rollups_read_the_legacy_table_as_exact_lag_does():
    from example_settings.awxschema.schema import record_partitioning
    from tests.support.workloads import add_job

    partitioned = BASE + timedelta(days=1)
    add_job("job", BASE, [1.0, 2.0, 0.0], legacy=True)
    add_job("job", partitioned + timedelta(hours=1), [5.0])
    with connection.cursor() as cursor:
        record_partitioning(cursor, partitioned)
    window = (BASE - timedelta(hours=1), partitioned + timedelta(hours=9))
    report, exact = lag_report(query(*window)), lag_report(query(*window, exact=True))
    assert report["method"] == "rollup"
    assert report["tables"] == exact["tables"] == ["main_jobevent", "_unpartitioned_main_jobevent"]
    assert (
        (report["count"], report["backfilled_count"]) == (exact["count"], exact["backfilled_count"]) == (3, 1)
    )


def assert_out_of_time(response, fill_says: str):
    """A 503: the fill ran past its deadline (and says ``fill_says``), or, at a 1 ms timeout on a
    loaded machine, one of its statements was cancelled first and names the timeout."""
    assert response.status_code == 503
    body = response.json()
    if "statement timeout" not in body["detail"]:
        assert fill_says in body["detail"] + body.get("hint", "")


def test_the_lowest_lag_from_rollups_is_the_minimum_until_a_negative_lag_hides_it():
    at, later = BASE + timedelta(hours=1), BASE + timedelta(hours=8)
    insert_events([(at - timedelta(seconds=3), at), (at - timedelta(seconds=1.5), at)])
    insert_events([(later + timedelta(seconds=4), later)])
    report = lag_report(query(BASE, BASE + timedelta(hours=7)))
    assert report["method"] == "rollup"
    assert (report["min_lag_seconds"], report["negative_share"]) == (1.5, 0.0)
    # A rollup keeps only the count of negative lags: the lowest is unknown, never made up.
    window = (BASE, BASE + timedelta(hours=9))
    report = lag_report(query(*window))
    assert (report["min_lag_seconds"], report["negative_share"]) == (None, pytest.approx(1 / 3))
    assert lag_report(query(*window, exact=True))["min_lag_seconds"] == pytest.approx(-4.0)


def test_minutes_without_events_cost_a_row_per_run_then_none_once_their_hour_is_whole():
    minute = rollup.MINUTE
    insert_events([(BASE + minute * m, BASE + minute * m + timedelta(seconds=1)) for m in (5, 50)])

    def stored():
        return sorted(LagRollup.objects.filter(kind="job").values_list("span", "start"))

    rollup.fill_rollups(["job"], since=BASE, until=BASE + minute * 30)  # part of an hour
    assert stored() == [(60, BASE + minute * 5), (300, BASE), (1440, BASE + minute * 6)]
    rollup.fill_rollups(["job"], since=BASE, until=BASE + timedelta(hours=3))
    hours = [(3600, BASE + timedelta(hours=h)) for h in range(3)]
    assert stored() == sorted([(60, BASE + minute * 5), (60, BASE + minute * 50), *hours])
    # Every final minute is known, whole hours or not, by minute or not: nothing is computed again.
    for since, until in ((BASE, BASE + timedelta(hours=3)), (BASE + minute * 30, BASE + minute * 150)):
        for every_minute in (False, True):
            assert rollup.Cover.read("job", since, until, every_minute).missing == []
        health = lag_report(query(since, until, rollup=True))
        assert (health["method"], health["rollups_behind_minutes"]) == ("rollup", 0)
        assert health["count"] == lag_report(query(since, until, exact=True))["count"]
        by_minute = lag_report(query(since, until, by="minute", rollup=True))
        exact = lag_report(query(since, until, by="minute", exact=True))
        assert [(g["key"], g["count"]) for g in by_minute["groups"]] == [
            (g["key"], g["count"]) for g in exact["groups"]
        ]
