"""Lag by where the job ran (lag/query.py's node groupings) and each execution node's clock
estimate (lag/nodes.py), on known rows and on the workload's profile of each cause."""

import json
from datetime import timedelta
from io import StringIO

import numpy
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from awx_eventdebug.lag.nodes import (
    AHEAD,
    BEHIND,
    IN_SYNC,
    MIN_EVENTS,
    SLOW_PATH,
    UNKNOWN,
    clock_estimates,
    node_clocks,
)
from awx_eventdebug.lag.query import LagQuery
from awx_eventdebug.lag.report import lag_report
from awx_eventdebug.percentiles import parse_percentiles
from awx_eventdebug.window import Window
from example_settings.awxschema.workload import insert_job
from tests.support.workloads import BASE, small_workload

pytestmark = pytest.mark.django_db

URL = "/api/eventdebug/lag/"
WINDOW = {"since": BASE - timedelta(hours=1), "until": BASE + timedelta(hours=3)}
PERCENTILES = parse_percentiles(["50", "99"])


def node_job(nodes, lags, start=BASE):
    """A job run on ``nodes`` (execution_node, controller_node) whose events have these lags."""
    events = []
    for counter, lag in enumerate(lags, 1):
        created = start + timedelta(seconds=counter)
        events.append((created, created + timedelta(seconds=lag), "runner_on_ok"))
    return insert_job("job", start, events, nodes=nodes)


def expected(lags):
    measured = [lag for lag in lags if lag != 0]
    kept = numpy.array([lag for lag in measured if lag > 0])
    return {
        "count": len(kept),
        "negative_count": len(measured) - len(kept),
        "negative_share": (len(measured) - len(kept)) / len(measured),
        "min_lag_seconds": min(measured),
        "p50": numpy.percentile(kept, 50),
        "p99": numpy.percentile(kept, 99),
    }


def by(groups, key):
    [group] = [g for g in groups if g["key"] == key]
    return group


def test_lag_per_execution_and_controller_node_matches_the_reference():
    fast = [0.1 * n for n in range(1, 41)]
    slow = [5.0 + n for n in range(30)]
    skewed = [-2.0, -1.5, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    node_job(("exec-1", "awx-1"), fast)
    node_job(("exec-1", "awx-2"), fast[:10])
    node_job(("exec-2", "awx-2"), slow)
    node_job(("exec-3", "awx-1"), skewed)
    report = lag_report(LagQuery(by="execution_node", percentiles=PERCENTILES, **WINDOW))
    # Worst first by the highest percentile: the slow node leads.
    assert [g["key"] for g in report["groups"]] == ["exec-2", "exec-1", "exec-3"]
    for node, lags in (("exec-1", fast + fast[:10]), ("exec-2", slow), ("exec-3", skewed)):
        group, reference = by(report["groups"], node), expected(lags)
        assert (group["count"], group["negative_count"]) == (reference["count"], reference["negative_count"])
        assert group["negative_share"] == pytest.approx(reference["negative_share"])
        assert group["min_lag_seconds"] == pytest.approx(reference["min_lag_seconds"], abs=1e-6)
        assert group["percentiles_seconds"]["p50"] == pytest.approx(reference["p50"], abs=1e-6)
        assert group["percentiles_seconds"]["p99"] == pytest.approx(reference["p99"], abs=1e-6)
    assert report["min_lag_seconds"] == pytest.approx(-2.0, abs=1e-6)
    controllers = lag_report(LagQuery(by="controller_node", percentiles=PERCENTILES, **WINDOW))["groups"]
    assert by(controllers, "awx-1")["count"] + by(controllers, "awx-1")["negative_count"] == 40 + 8
    assert by(controllers, "awx-2")["count"] == 10 + 30


def test_a_job_deleted_since_counts_under_no_node():
    node_job(("exec-1", "awx-1"), [1.0, 2.0])
    gone = node_job(("exec-2", "awx-1"), [3.0])
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM main_unifiedjob WHERE id = %s", [gone])
    groups = lag_report(LagQuery(by="execution_node", **WINDOW))["groups"]
    assert {g["key"]: g["count"] for g in groups} == {"exec-1": 2, None: 1}


def test_jobs_come_worst_first_through_the_api_and_the_command(admin):
    mild = node_job(("exec-1", "awx-1"), [0.5] * 5)
    worst = node_job(("exec-1", "awx-1"), [9.0] * 5)
    middle = node_job(("exec-1", "awx-1"), [3.0] * 5)
    params = {"since": "2026-11-27T09:00:00Z", "until": "2026-11-27T13:00:00Z", "by": "job"}
    body = admin.get(URL, params).json()
    assert [g["key"] for g in body["groups"]] == [worst, middle, mild]
    out = StringIO()
    call_command("eventdebug", "lag", "--json", *[f"--{k}={v}" for k, v in params.items()], stdout=out)
    assert json.loads(out.getvalue()) == body


def test_unknown_by_lists_the_choices_in_one_line(admin):
    response = admin.get(URL, {"by": "node"})
    assert response.status_code == 400
    [message] = response.json()["by"]
    assert message == '"node" is not one of none, event, job, minute, hour, execution_node, controller_node.'
    with pytest.raises(CommandError) as caught:
        call_command("eventdebug", "lag", "--by", "node", stdout=StringIO())
    assert caught.value.returncode == 2
    assert str(caught.value) == f"--by: {message}"


def test_the_command_shows_each_nodes_negative_share_and_lowest_lag():
    node_job(("exec-1", "awx-1"), [-1.0, 1.0, 2.0, 3.0])
    out = StringIO()
    call_command("eventdebug", "lag", "--since", "2026-11-27T09:00:00Z", "--by", "execution_node", stdout=out)
    header, _, row = out.getvalue().splitlines()[1:4]
    assert header.endswith("negative  negative %  lowest (s)")
    assert row.split()[0] == "exec-1" and row.split()[-2:] == ["25.000", "-1.000"]


# The estimate, from lag statistics as lag_report gives them per execution node --------------


def group(node, lowest, p50, count=100, negative=0):
    return {
        "key": node,
        "count": count,
        "negative_count": negative,
        "negative_share": negative / (count + negative),
        "min_lag_seconds": lowest,
        "percentiles_seconds": {"p50": p50, "p99": None if p50 is None else p50 * 3},
    }


def verdicts(groups):
    estimates = clock_estimates(groups)
    return {e["node"]: (e["verdict"], e["skew_seconds"]) for e in estimates["nodes"]}, estimates


def test_a_negative_lowest_lag_proves_a_clock_ahead():
    found, estimates = verdicts(
        [group("exec-1", -4.8, 0.5, negative=60), group("exec-2", 0.05, 0.5), group("exec-3", 0.1, 0.6)]
    )
    assert found["exec-1"] == (AHEAD, pytest.approx(4.85))
    assert found["exec-2"][0] == found["exec-3"][0] == IN_SYNC
    assert estimates["baseline_min_lag_seconds"] == 0.05
    [finding] = estimates["findings"]
    assert finding.startswith("execution node exec-1: clock ahead by about 4.8 s: 60 of 160 events (38%)")


def test_a_shifted_floor_is_a_clock_behind_when_spread_as_the_others_and_a_slow_path_when_spread_out():
    found, estimates = verdicts(
        [
            group("exec-1", 0.05, 0.5),
            group("exec-2", 3.05, 3.6),  # every lag 3 s longer, as spread as exec-1's
            group("exec-3", 10.0, 21.0),  # 10 s longer at least, and spread out
        ]
    )
    assert found["exec-2"] == (BEHIND, pytest.approx(-3.0))
    assert found["exec-3"] == (SLOW_PATH, None)
    assert found["exec-1"] == (IN_SYNC, 0.0)
    assert "not its clock" in estimates["findings"][1]


def test_jitter_within_the_tolerance_is_no_finding_and_few_events_tell_nothing():
    found, estimates = verdicts(
        [
            group("exec-1", -0.2, 0.5),
            group("exec-2", 0.3, 0.5),
            group("exec-3", -30.0, None, count=0, negative=MIN_EVENTS - 1),
            group("", 50.0, 60.0),  # jobs with no execution node recorded
        ]
    )
    assert found == {
        "exec-1": (IN_SYNC, 0.0),
        "exec-2": (IN_SYNC, pytest.approx(-0.5)),
        "exec-3": (UNKNOWN, None),
    }
    assert estimates["findings"] == []


def test_a_lone_node_is_compared_with_nothing_but_zero():
    assert verdicts([group("exec-1", 2.0, 2.5)])[0] == {"exec-1": (IN_SYNC, 0.0)}
    assert verdicts([group("exec-1", -3.0, 2.5, negative=10)])[0] == {"exec-1": (AHEAD, 3.0)}


@pytest.mark.parametrize(
    "profile, expected",
    [
        ("steady", {}),
        ("slow_node", {"exec-3": SLOW_PATH}),
        ("skewed_node", {"exec-1": AHEAD, "exec-2": BEHIND}),
        ("bursty,slow_node,skewed_node", {"exec-1": AHEAD, "exec-2": BEHIND, "exec-3": SLOW_PATH}),
    ],
)
def test_the_workload_of_each_cause_shows_in_the_estimate(profile, expected):
    small_workload(kinds=("job",), jobs=8, events=200, profile=profile)
    clocks = node_clocks(Window(**WINDOW))
    assert {n["node"] for n in clocks["nodes"]} == {"exec-1", "exec-2", "exec-3", "exec-4"}
    off = {n["node"]: n["verdict"] for n in clocks["nodes"] if n["verdict"] != IN_SYNC}
    assert off == expected
    assert len(clocks["findings"]) == len(expected)
