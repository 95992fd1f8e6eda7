"""What only PostgreSQL shows of the lag statement: the plans it makes (one partition for a job,
the index on modified for a window), JIT off in its transaction, the statement timeout."""

import re
from datetime import timedelta

import pytest
from django.db import connection

from awx_eventdebug.errors import QueryTimeout
from awx_eventdebug.lag.query import LagQuery
from awx_eventdebug.lag.report import lag_report
from example_settings.awxschema.schema import record_partitioning
from tests.support.workloads import BASE, small_workload

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres_only(reason="partitions, EXPLAIN"),
]

WINDOW = {"since": BASE - timedelta(hours=1), "until": BASE + timedelta(hours=3)}


def plans_of(*queries):
    """EXPLAIN output of the statistics statement of each query."""
    statements = []

    def record(execute, sql, params, many, context):
        if "percentile_cont" in sql:
            statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        for query in queries:
            lag_report(query)
    plans = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute("EXPLAIN " + sql, params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def test_job_filter_scans_one_partition(workload):
    """The job's created time becomes job_created = ..., which PostgreSQL prunes at plan time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'main_jobevent'::regclass")
        assert cursor.fetchone()[0] >= 2
    job_plan, window_plan = plans_of(LagQuery(job=workload.jobs["job"][0], by="event"), LagQuery(**WINDOW))
    partition_scan = re.compile(r"Scan on (main_jobevent_\d{8}_\d{2}) ")
    assert len(set(partition_scan.findall(job_plan))) == 1, job_plan
    assert len(set(partition_scan.findall(window_plan))) >= 2, window_plan


def test_window_can_use_the_modified_index(workload):
    # The test tables are small enough for a sequential scan to be cheaper; forbidding it shows
    # the window condition is one the index on modified can serve.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    [plan] = plans_of(LagQuery(since=BASE, until=BASE + timedelta(minutes=10)))
    assert re.search(r"Index (Only )?Scan (using|on) main_jobevent_\d{8}_\d{2}_modified_idx", plan), plan


def test_statement_timeout_says_how_to_narrow(settings):
    small_workload(kinds=("job",), jobs=20, events=1000)
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 0.001}
    with pytest.raises(QueryTimeout) as caught:
        lag_report(LagQuery(by="minute", **WINDOW))
    assert caught.value.hint == (
        "Narrow the query: a shorter window (since/until), one job (job), one event type (event)."
    )


def test_jit_is_off_for_the_statement_and_put_back_after_its_transaction(workload):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = on")
    seen = []

    def record(execute, sql, params, many, context):
        if "percentile_cont" in sql:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('jit')")
                seen.append(cursor.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        lag_report(LagQuery(**WINDOW))
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        assert (seen, cursor.fetchone()[0]) == (["off"], "on")


def test_with_awx_partitioning_recorded_a_job_still_scans_one_partition(workload):
    with connection.cursor() as cursor:
        record_partitioning(cursor, BASE - timedelta(days=1))
    job_plan, reaching_back = plans_of(
        LagQuery(job=workload.jobs["job"][0]),
        # Exact: a window this long would otherwise be answered from the rollups.
        LagQuery(since=BASE - timedelta(days=2), until=BASE + timedelta(hours=1), exact=True),
    )
    assert len(set(re.findall(r"Scan on (main_jobevent_\d{8}_\d{2}) ", job_plan))) == 1, job_plan
    assert "_unpartitioned_main_jobevent" not in job_plan
    assert "Scan on _unpartitioned_main_jobevent" in reaching_back, reaching_back
