"""`eventdebug lag` inside AWX equals a direct percentile_cont over the rows AWX's own callback
receiver wrote: per kind over a window, per job, and grouped by event, job, minute and the nodes
AWX recorded the job ran on."""

from datetime import UTC, datetime, timedelta

import pytest
from awx_box import PREFIX, eventdebug, eventdebug_json, get
from awx_jobs import kind_of
from django.db import connection

PERCENTILES = "50,90,99.9"
FRACTIONS = [0.5, 0.9, 0.999]
KEYS = ["p50", "p90", "p99.9"]
KINDS = ["job", "ad_hoc_command", "project_update", "inventory_update", "system_job"]
GROUP_KEYS = {
    "event": "event",
    "job": "job_id",
    "minute": "date_trunc('minute', modified AT TIME ZONE 'UTC')",
    # Where AWX recorded that the job ran, from its own main_unifiedjob.
    "execution_node": "(select execution_node from main_unifiedjob u where u.id = events.job_id)",
    "controller_node": "(select controller_node from main_unifiedjob u where u.id = events.job_id)",
}
# The groupings that come worst first (by the highest percentile asked for, then by key).
WORST_FIRST = ("job", "execution_node", "controller_node")


def direct(job, where: str, params: list, key: str = "null", table: str | None = None) -> list[dict]:
    """The statistics straight from AWX's event table of ``job``'s kind (or ``table``), one row
    per ``key``."""
    table = table or job.event_class._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            select {key} as key, count(*), avg(lag), min(lag), max(lag),
                   percentile_cont(%s::float8[]) within group (order by lag)
            from (select *, extract(epoch from modified - created)::float8 as lag from {table}) events
            where {where} and created is not null and modified >= created
            group by 1 order by 1
            """,
            [FRACTIONS, *params],
        )
        return [
            {
                "key": row[0],
                "count": row[1],
                "mean": row[2],
                "min": row[3],
                "max": row[4],
                "percentiles": row[5],
            }
            for row in cursor.fetchall()
        ]


def assert_same(report: dict, expected: dict):
    assert report["count"] == expected["count"]
    for name in ("mean", "min", "max"):
        assert report[f"{name}_seconds"] == pytest.approx(expected[name], abs=1e-6), name
    percentiles = [report["percentiles_seconds"][key] for key in KEYS]
    assert percentiles == pytest.approx(expected["percentiles"], abs=1e-6)
    assert (report.get("missing_created_count"), report.get("negative_count")) == (0, 0)


@pytest.fixture(scope="module")
def window(jobs):
    """From before the first of the session's jobs to now, when all their events are written."""
    since = min(job.created for job in jobs.values()) - timedelta(minutes=1)
    return since, datetime.now(UTC)


def lag_in(window, *options: str) -> dict:
    since, until = (moment.astimezone(UTC).replace(tzinfo=None).isoformat() for moment in window)
    return eventdebug_json("lag", "--since", since, "--until", until, "--percentiles", PERCENTILES, *options)


def direct_in(window, job, key: str = "null") -> list[dict]:
    return direct(job, "modified >= %s and modified < %s", list(window), key)


@pytest.mark.parametrize("kind", KINDS)
def test_lag_per_kind_over_a_window(jobs, window, kind):
    [expected] = direct_in(window, jobs[kind])
    assert expected["count"] > 0
    assert_same(lag_in(window, "--kind", kind), expected)


@pytest.mark.parametrize("kind", KINDS)
def test_lag_of_one_job(jobs, kind):
    job = jobs[kind]
    report = eventdebug_json("lag", "--kind", kind, "--job", str(job.id), "--percentiles", PERCENTILES)
    [expected] = direct(job, f"{job.event_class.JOB_REFERENCE} = %s", [job.id])
    assert expected["count"] == job.emitted_events
    assert_same(report, expected)


@pytest.mark.parametrize("by", GROUP_KEYS)
def test_lag_grouped(jobs, window, by):
    report = lag_in(window, "--by", by)
    expected = direct_in(window, jobs["job"], GROUP_KEYS[by])
    if by == "minute":
        expected = [{**row, "key": row["key"].isoformat() + "Z"} for row in expected]
    if by in WORST_FIRST:
        expected.sort(key=lambda row: (-row["percentiles"][-1], row["key"]))
    assert [group["key"] for group in report["groups"]] == [row["key"] for row in expected]
    for group, row in zip(report["groups"], expected, strict=True):
        assert_same(group, row)


def test_lag_api_answers_what_the_command_prints(jobs, users):
    job = jobs["job"]
    command = eventdebug_json("lag", "--job", str(job.id), "--by", "event")
    answer = get(f"{PREFIX}lag/?job={job.id}&by=event", users["auditor"])
    assert answer.status_code == 200, answer.text[:500]
    assert answer.json() == command


@pytest.mark.parametrize(("asked", "actual"), [("system_job", "job"), ("job", "system_job")])
def test_lag_of_a_job_under_another_kind_names_its_kind(jobs, asked, actual):
    job = jobs[actual]
    done = eventdebug("lag", "--kind", asked, "--job", str(job.id))
    assert done.returncode == 2, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert kind_of(job) == actual
    # It says what the job is, in the words the option takes.
    assert f"--kind {actual}" in lines[0] or f"kind {actual}" in lines[0], lines[0]
