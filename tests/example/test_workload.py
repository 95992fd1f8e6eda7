import json
import statistics
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


def test_the_unified_jobs_have_awx_node_columns_text_not_null_without_default():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                "WHERE table_name = 'main_unifiedjob' "
                "AND column_name IN ('execution_node', 'controller_node') ORDER BY 1"
            )
            assert cursor.fetchall() == [
                ("controller_node", "text", "NO", None),
                ("execution_node", "text", "NO", None),
            ]
        else:
            cursor.execute("SELECT name, type, \"notnull\" FROM pragma_table_info('main_unifiedjob')")
            columns = {name: (type_, notnull) for name, type_, notnull in cursor.fetchall()}
            assert columns["execution_node"] == columns["controller_node"] == ("TEXT", 1)


def test_every_execution_node_runs_jobs_under_every_controller():
    small_workload(kinds=("job",), jobs=8, events=5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT execution_node, controller_node FROM main_unifiedjob")
        pairs = cursor.fetchall()
    assert sorted(pairs) == sorted((f"exec-{n}", f"awx-{c}") for n in (1, 2, 3, 4) for c in (1, 2))


def _lags_by_node(profile, events=100):
    """{execution node: [lag of each event]} and every stored ``modified`` of a job workload."""
    small_workload(kinds=("job",), jobs=8, events=events, negative=0, missing_created=0, profile=profile)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.execution_node, e.created, e.modified "
            "FROM main_jobevent e JOIN main_unifiedjob u ON u.id = e.job_id"
        )
        rows = cursor.fetchall()
    lags = {}
    for node, created, modified in rows:
        lags.setdefault(node, []).append((modified - created).total_seconds())
    return lags, [modified for _, _, modified in rows]


def test_the_slow_node_profile_holds_exec_3s_events_before_the_queue():
    lags, _ = _lags_by_node("slow_node")
    assert min(lags["exec-3"]) >= 10 > max(max(lags[node]) for node in ("exec-1", "exec-2", "exec-4"))


def test_the_skewed_node_profile_stamps_created_on_clocks_ahead_and_behind():
    lags, _ = _lags_by_node("skewed_node")
    assert statistics.median(lags["exec-1"]) < 0 < min(lags["exec-4"])  # 5 s ahead
    assert min(lags["exec-2"]) > 3 > min(lags["exec-3"])  # 3 s behind


def test_slow_inserts_stamp_whole_batches_when_the_previous_insert_ends():
    _, stamped = _lags_by_node("slow_inserts", events=400)
    assert all(moment.timestamp() % 4 == 0 for moment in stamped)
    assert len(set(stamped)) < len(stamped) / 2


def test_profiles_combine_and_an_unknown_one_lists_the_choices():
    small_workload(kinds=("job",), events=10, profile="bursty,slow_node")
    with pytest.raises(
        CommandError, match="unknown lag profile 'fast'; choose one or more of steady, bursty"
    ):
        call_command("seed_awx_events", "--profile", "steady,fast")
