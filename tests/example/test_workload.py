import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from awx_eventdebug.awx.tables import KINDS
from tests.support.workloads import small_workload

pytestmark = pytest.mark.django_db


def _rows(table, columns="created, modified, counter"):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} ORDER BY created, counter")
        return cursor.fetchall()


def test_every_kind_gets_its_jobs_and_events():
    result = small_workload()
    for kind in KINDS.values():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {kind.parent_column}, count(*) FROM {kind.table} GROUP BY 1 ORDER BY 1")
            assert cursor.fetchall() == [(job_id, 50) for job_id in result.jobs[kind.name]]


def test_same_seed_same_rows():
    small_workload(kinds=("job",))
    first = _rows("main_jobevent")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM main_jobevent")
    small_workload(kinds=("job",))
    assert _rows("main_jobevent") == first


def test_missing_created_and_negative_lag_are_generated():
    small_workload(kinds=("job",), jobs=4, events=500, missing_created=0.05, negative=0.05)
    rows = _rows("main_jobevent")
    missing = sum(1 for created, _, _ in rows if created is None)
    negative = sum(1 for created, modified, _ in rows if created is not None and modified < created)
    assert 40 < missing < 170 and 40 < negative < 170


def test_backlog_profile_peaks_in_the_middle():
    small_workload(kinds=("job",), jobs=20, events=100, profile="backlog", lag=0.2, peak=100, negative=0)
    lags = [(m - c).total_seconds() for c, m, _ in _rows("main_jobevent") if c is not None]
    assert max(lags) > 50 > min(lags)


@pytest.mark.postgres_only(reason="partitions")
def test_hourly_partitions_named_as_awx_names_them():
    small_workload(kinds=("job",))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'main_jobevent'::regclass ORDER BY 1"
        )
        names = [name for (name,) in cursor.fetchall()]
    assert names and all(name.startswith("main_jobevent_20261127_") for name in names)


def test_command_json_summary_and_bad_options():
    out = StringIO()
    call_command(
        "seed_awx_events", "--jobs", "1", "--events", "10", "--kinds", "job,system_job", "--json", stdout=out
    )
    summary = json.loads(out.getvalue())
    assert summary["events"] == {"job": 10, "system_job": 10}
    with pytest.raises(CommandError, match="unknown kind 'jobs'"):
        call_command("seed_awx_events", "--kinds", "jobs")
    with pytest.raises(CommandError, match="not a duration"):
        call_command("seed_awx_events", "--job-duration", "soon")
