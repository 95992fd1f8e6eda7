from datetime import UTC, datetime, timedelta

import numpy
import pytest
from django.db import connection

from awx_eventdebug.errors import NotFound, Unavailable
from awx_eventdebug.lag.percentiles import percentile_key
from awx_eventdebug.lag.query import LagQuery
from awx_eventdebug.lag.report import lag_report
from awx_eventdebug.percentiles import parse_percentiles
from tests.support.workloads import BASE, add_job, small_workload

pytestmark = pytest.mark.django_db

PERCENTILES = parse_percentiles(["12.5", "50", "90", "95", "99", "99.9"])
WINDOW = {"since": BASE - timedelta(hours=1), "until": BASE + timedelta(hours=3)}
TOLERANCE = 1e-6


def events(table="main_jobevent", parent="job_id", has_event=True):
    """Every event row as (created, modified, event, job): the test data is small."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT created, modified, {'event' if has_event else 'NULL'}, {parent} FROM {table}")
        return [(aware(created), aware(modified), *rest) for created, modified, *rest in cursor.fetchall()]


def aware(moment):
    # SQLite's cursor gives naive UTC datetimes, PostgreSQL's aware ones.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def reference(rows, percentiles=PERCENTILES):
    """Statistics computed independently: numpy over lags from Python datetimes."""
    lags = [(modified - created).total_seconds() for created, modified, *_ in rows if created is not None]
    kept = numpy.array([lag for lag in lags if lag > 0], dtype=float)
    stats = {
        "count": len(kept),
        "missing_created_count": sum(1 for created, *_ in rows if created is None),
        "backfilled_count": sum(1 for created, modified, *_ in rows if created == modified),
        "negative_count": sum(1 for lag in lags if lag < 0),
    }
    if len(kept):
        values = numpy.percentile(kept, [float(p) for p in percentiles])
        stats.update(mean_seconds=kept.mean(), min_seconds=kept.min(), max_seconds=kept.max())
        stats["percentiles_seconds"] = {
            percentile_key(p): v for p, v in zip(percentiles, values, strict=True)
        }
    else:
        stats.update(mean_seconds=None, min_seconds=None, max_seconds=None)
        stats["percentiles_seconds"] = {percentile_key(p): None for p in percentiles}
    return stats


def assert_matches(actual, expected):
    for name in ("count", "missing_created_count", "backfilled_count", "negative_count"):
        assert actual[name] == expected[name], name
    for name in ("mean_seconds", "min_seconds", "max_seconds"):
        if expected[name] is None:
            assert actual[name] is None, name
        else:
            assert actual[name] == pytest.approx(expected[name], abs=TOLERANCE), name
    assert actual["percentiles_seconds"].keys() == expected["percentiles_seconds"].keys()
    for key, value in expected["percentiles_seconds"].items():
        if value is None:
            assert actual["percentiles_seconds"][key] is None
        else:
            assert actual["percentiles_seconds"][key] == pytest.approx(value, abs=TOLERANCE), key


def bucket(moment, unit):
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    if unit == "hour":
        moment = moment.replace(minute=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_totals_match_the_reference(workload):
    report = lag_report(LagQuery(percentiles=PERCENTILES, **WINDOW))
    rows = events()
    assert report["count"] > 600
    assert report["missing_created_count"] > 0 and report["negative_count"] > 0
    assert_matches(report, reference(rows))
    assert report["groups"] == [] and report["groups_truncated"] is False


@pytest.mark.parametrize(
    "by, key_of",
    [
        ("event", lambda row: row[2]),
        ("job", lambda row: row[3]),
        ("minute", lambda row: bucket(row[1], "minute")),
        ("hour", lambda row: bucket(row[1], "hour")),
    ],
)
def test_groups_match_the_reference_and_are_sorted(workload, by, key_of):
    report = lag_report(LagQuery(by=by, percentiles=PERCENTILES, **WINDOW))
    rows = events()
    expected = {}
    for row in rows:
        expected.setdefault(key_of(row), []).append(row)
    keys = [group["key"] for group in report["groups"]]
    assert keys == sorted(expected)
    for group in report["groups"]:
        assert_matches(group, reference(expected[group["key"]]))
    assert_matches(report, reference(rows))


def test_window_and_event_filters(workload):
    since, until = BASE + timedelta(minutes=20), BASE + timedelta(minutes=80)
    report = lag_report(LagQuery(since=since, until=until, event="runner_on_ok", percentiles=PERCENTILES))
    rows = [row for row in events() if since <= row[1] < until and row[2] == "runner_on_ok"]
    assert 0 < report["count"] < 700
    assert_matches(report, reference(rows))


def test_no_rows():
    report = lag_report(LagQuery(percentiles=PERCENTILES, by="minute", **WINDOW))
    assert_matches(report, reference([]))
    assert report["groups"] == []


@pytest.mark.parametrize(
    "lags",
    [[2.5], [0.75] * 7, [None, None], [-1.0, -0.5], [None, -3.0, 0.0, 0.000001, 4.25, 1e5]],
    ids=["one", "all-equal", "only-missing-created", "only-negative", "mixed"],
)
def test_edge_cases(lags):
    job = add_job("job", BASE, lags)
    report = lag_report(LagQuery(job=job, percentiles=PERCENTILES, by="event"))
    assert_matches(report, reference(events()))
    [group] = report["groups"]
    assert group["key"] == "runner_on_ok"
    assert_matches(group, reference(events()))


def test_fractions_just_below_a_whole_second_are_exact():
    # SQLite's date functions round to milliseconds: .9997 s must not count as the next second
    # (a 0.5 s lag would come out as -0.5 s, a negative lag).
    job = add_job("job", BASE.replace(microsecond=999_700), [0.5, 0.0001, 1.5, 0.0003])
    report = lag_report(LagQuery(percentiles=PERCENTILES, job=job))
    assert (report["count"], report["negative_count"]) == (4, 0)
    assert_matches(report, reference(events()))


def test_job_in_an_old_partition_and_unknown_job(workload):
    old = add_job("job", BASE - timedelta(days=40, minutes=7), [0.25 * i for i in range(1, 40)] + [None, -1])
    report = lag_report(LagQuery(job=old, percentiles=PERCENTILES))
    assert report["since"] is None and report["until"] is None
    assert_matches(report, reference([row for row in events() if row[3] == old]))
    with pytest.raises(NotFound, match="no job with id 99999"):
        lag_report(LagQuery(job=99999))


def test_every_kind_and_kinds_without_event_column():
    small_workload()
    for kind, table, parent in [
        ("project_update", "main_projectupdateevent", "project_update_id"),
        ("system_job", "main_systemjobevent", "system_job_id"),
    ]:
        report = lag_report(LagQuery(kind=kind, by="job", percentiles=PERCENTILES, **WINDOW))
        rows = events(table, parent, has_event=kind == "project_update")
        assert_matches(report, reference(rows))
        assert len(report["groups"]) == 2


def test_groups_are_cut_at_the_setting(settings, workload):
    settings.EVENTDEBUG = {"LAG_MAX_GROUPS": 4}
    report = lag_report(LagQuery(by="minute", **WINDOW))
    assert len(report["groups"]) == 4 and report["groups_truncated"] is True
    settings.EVENTDEBUG = {"LAG_MAX_GROUPS": 6}
    report = lag_report(LagQuery(by="job", **WINDOW))
    assert len(report["groups"]) == 6 and report["groups_truncated"] is False


def test_missing_table_is_unavailable_not_a_traceback():
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE main_systemjobevent")
    with pytest.raises(Unavailable, match="kind 'system_job'") as caught:
        lag_report(LagQuery(kind="system_job", **WINDOW))
    assert "eventdebug doctor" in caught.value.hint


def test_report_times_are_utc_with_z():
    report = lag_report(
        LagQuery(since=datetime(2026, 1, 1, tzinfo=UTC), until=datetime(2026, 1, 2, tzinfo=UTC))
    )
    assert (report["since"], report["until"]) == ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")


@pytest.mark.parametrize("by", ["none", "job", "minute", "hour"])
@pytest.mark.parametrize("hours", [4, 8])  # exact, then long enough for rollups
def test_worst_by_ranks_the_groups_and_a_query_without_groups_ignores_it(by, hours):
    small_workload(kinds=("job",), jobs=6, since=BASE, until=BASE + timedelta(hours=hours))
    window = {"since": BASE - timedelta(minutes=30), "until": BASE + timedelta(hours=hours)}
    # Groups ranked by a percentile are ranked on exact ones, over a long window too.
    plain = lag_report(LagQuery(by=by, percentiles=PERCENTILES, exact=by != "none", **window))
    worst = lag_report(LagQuery(by=by, percentiles=PERCENTILES, worst_by=PERCENTILES[4], **window))
    p99 = percentile_key(PERCENTILES[4])
    # Worst first; a stable sort keeps groups of equal percentile by key, as both databases do.
    ranked = sorted(plain["groups"], key=lambda group: group["percentiles_seconds"][p99] or 0.0, reverse=True)
    # The first query computed the minutes the rollups lacked; the second read them.
    assert {**worst, "rollups_behind_minutes": None} == {
        **plain,
        "groups": ranked,
        "rollups_behind_minutes": None,
    }
    assert (len(ranked) > 1) == (by != "none")
