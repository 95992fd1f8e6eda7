"""The rollup path answers as the exact path: the same buckets, counts and truncation flag, every
percentile within the stated error, for every rollup grouping x window length x window position
(aligned or not, ending now or in the past, across or past RETENTION's horizon, starting on an
event), with LAG_MAX_GROUPS cutting the groups or not."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from awx_eventdebug.lag.query import LagQuery
from awx_eventdebug.lag.report import ROLLUP_GROUPINGS, lag_report
from awx_eventdebug.lag.rollup import HOUR, MINUTE, floor_to
from tests.support.workloads import add_job, small_workload

pytestmark = pytest.mark.django_db

PERCENTILES = tuple(Decimal(p) for p in ("1", "50", "90", "99", "99.9"))
# Just longer than LAG_EXACT_WINDOW (6h), a day (the dashboard's chart), days, LAG_MAX_WINDOW.
LENGTHS = (timedelta(hours=6, seconds=61), timedelta(hours=24), timedelta(days=4), timedelta(days=31))
FIGURES = ("count", "missing_created_count", "backfilled_count", "negative_count")


def bursts(now: datetime) -> datetime:
    """Jobs in the last hours (some minutes not final yet), days ago, weeks ago and past the
    30-day RETENTION, plus events of each class kept apart; returns the modified of the first
    event of the recent burst."""
    stretches = [
        (now - timedelta(hours=5), now + timedelta(minutes=4), 12),
        (now - timedelta(days=3, hours=2), now - timedelta(days=2, hours=20), 6),
        (now - timedelta(days=25), now - timedelta(days=21), 6),
        (now - timedelta(days=50), now - timedelta(days=33), 6),
    ]
    for seed, (since, until, jobs) in enumerate(stretches, 1):
        small_workload(
            kinds=("job",), jobs=jobs, events=40, since=since, until=until, seed=seed, job_duration=400.0
        )
    recent = floor_to(now - timedelta(hours=4), MINUTE)
    # Backfilled (lag 0), no created, clock skew and one exactly on a minute's first microsecond.
    add_job("job", recent - timedelta(seconds=1), [0.0, None, -2.0, 1.0, 2.5])
    return recent


def positions(now: datetime, first_event: datetime, length: timedelta) -> dict[str, tuple]:
    """(since, until) of a window of ``length`` at each position."""
    minute, hour = floor_to(now, MINUTE), floor_to(now, HOUR)
    ends = {
        "ending now": now,
        "ending at a minute now": minute,
        "hour-aligned, hours ago": hour - timedelta(hours=3),
        "mid-minute, days ago": minute - timedelta(days=2, hours=21, seconds=17.25),
        "across RETENTION's horizon": minute - timedelta(days=30) + timedelta(hours=5, seconds=9),
        "past RETENTION": hour - timedelta(days=34),
    }
    windows = {name: (end - length, end) for name, end in ends.items()}
    windows["starting on an event"] = (first_event, first_event + length)
    return windows


def differences(rollup: dict, exact: dict) -> list[str]:
    """How ``rollup`` does not answer as ``exact`` within its stated percentile error."""
    if (rollup["method"], exact["method"]) != ("rollup", "exact"):
        return [f"methods {rollup['method']}, {exact['method']}"]
    found = [
        f"{key} {rollup[key]} vs {exact[key]}"
        for key in ("tables", "groups_truncated")
        if rollup[key] != exact[key]
    ]
    keys = [g["key"] for g in rollup["groups"]]
    if keys != [g["key"] for g in exact["groups"]]:
        return [*found, f"{len(keys)} groups vs {len(exact['groups'])}"]
    error = rollup["percentile_error_ratio"]
    for mine, theirs in zip([rollup, *rollup["groups"]], [exact, *exact["groups"]], strict=True):
        at = mine.get("key", "total")
        found += [f"{at} {k} {mine[k]} vs {theirs[k]}" for k in FIGURES if mine[k] != theirs[k]]
        bounds = [(k, mine[k], theirs[k], 1e-9) for k in ("mean_seconds", "min_seconds", "max_seconds")]
        bounds += [
            (k, mine["percentiles_seconds"][k], v, error) for k, v in theirs["percentiles_seconds"].items()
        ]
        for key, got, value, bound in bounds:
            if (got is None) != (value is None) or (
                value is not None and abs(got - value) > bound * abs(value) + 1e-9
            ):
                found.append(f"{at} {key} {got} vs {value}")
    return found


def test_rollups_answer_as_exact_for_every_grouping_length_and_position(settings):
    now = timezone.now()
    first_event = bursts(now)
    answered, wrong = 0, {}
    for max_groups in (1000, 5):
        settings.EVENTDEBUG = {"CAPTURE": False, "MAINTENANCE": False, "LAG_MAX_GROUPS": max_groups}
        for by in ROLLUP_GROUPINGS:
            if by == "none" and max_groups != 1000:
                continue  # no groups to cut
            for length in LENGTHS:
                for position, (since, until) in positions(now, first_event, length).items():
                    query = LagQuery(since=since, until=until, by=by, percentiles=PERCENTILES)
                    where = f"by {by}, {length}, {position}, LAG_MAX_GROUPS {max_groups}"
                    exact = lag_report(replace(query, exact=True))
                    found = differences(lag_report(query), exact)
                    if found:
                        wrong[where] = found[:3]
                    answered += 1
    assert answered == (1 + 2 * 2) * len(LENGTHS) * 7
    assert not wrong, f"{len(wrong)} of {answered} windows answer otherwise than exact: {wrong}"


def test_the_demo_day_by_minute_has_its_recent_minutes(settings):
    """Issue 24's case: a day by minute whose events are all in its last hours."""
    now = datetime.now(UTC)
    small_workload(kinds=("job",), jobs=8, since=now - timedelta(hours=3), until=now, job_duration=600.0)
    query = LagQuery(since=now - timedelta(hours=24), until=now, by="minute", percentiles=PERCENTILES)
    rollup, exact = lag_report(query), lag_report(replace(query, exact=True))
    assert len(exact["groups"]) > 20
    assert differences(rollup, exact) == []
