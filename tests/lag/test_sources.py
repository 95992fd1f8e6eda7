"""Which tables answer, on the stand-in schema as AWX has it: backfilled ``created`` kept out,
a job asked for under the wrong kind, and the legacy tables migration 0144 left behind."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from awx_eventdebug.awx.tables import KINDS
from awx_eventdebug.errors import NotFound
from awx_eventdebug.lag.query import LagQuery
from awx_eventdebug.lag.report import lag_report
from awx_eventdebug.lag.sources import window_sources
from awx_eventdebug.percentiles import parse_percentiles
from example_settings.awxschema.schema import record_partitioning
from tests.support.workloads import BASE, add_job

pytestmark = pytest.mark.django_db

PERCENTILES = parse_percentiles(["50", "90"])
PARTITIONED = BASE + timedelta(days=1)  # when the stand-in's "AWX" ran migration 0144


def partition_at(moment):
    with connection.cursor() as cursor:
        record_partitioning(cursor, moment)


def test_backfilled_created_is_counted_apart_not_as_zero_lag():
    # AWX's receiver gives an event without created the flush's ``now`` for both times.
    job = add_job("job", BASE, [2.0, 0.0, 0.0, 0.0, 4.0, None])
    report = lag_report(LagQuery(job=job, percentiles=PERCENTILES))
    assert (report["count"], report["backfilled_count"], report["missing_created_count"]) == (2, 3, 1)
    assert report["percentiles_seconds"] == {"p50": 3.0, "p90": pytest.approx(3.8)}
    assert report["min_seconds"] == 2.0


def test_a_job_under_another_kind_says_which_kind_it_is():
    job = add_job("job", BASE, [1.0])
    with pytest.raises(NotFound, match=f"job {job} is of kind job, not system_job") as caught:
        lag_report(LagQuery(kind="system_job", job=job))
    assert caught.value.hint == "Ask with kind job."
    assert lag_report(LagQuery(kind="job", job=job))["count"] == 1


def test_a_workflow_job_has_no_events_of_its_own():
    job = add_job("job", BASE, [1.0])
    workflow = ContentType.objects.create(app_label="main", model="workflowjob")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE main_unifiedjob SET polymorphic_ctype_id = %s WHERE id = %s", [workflow.id, job]
        )
    with pytest.raises(NotFound, match=f"job {job} is a workflowjob, which has no events of its own"):
        lag_report(LagQuery(job=job))


def test_an_old_job_is_read_from_the_legacy_table():
    old = add_job("job", BASE, [1.0, 2.0, 3.0, 0.0], legacy=True)
    new = add_job("job", PARTITIONED + timedelta(hours=1), [5.0])
    # Before AWX's partitioning is recorded, the stand-in has no old jobs: the partitioned table.
    assert lag_report(LagQuery(job=old))["tables"] == ["main_jobevent"]
    partition_at(PARTITIONED)
    report = lag_report(LagQuery(job=old, percentiles=PERCENTILES))
    assert report["tables"] == ["_unpartitioned_main_jobevent"]
    assert (report["count"], report["backfilled_count"], report["percentiles_seconds"]["p50"]) == (3, 1, 2.0)
    report = lag_report(LagQuery(job=new))
    assert (report["tables"], report["count"]) == (["main_jobevent"], 1)


def test_a_window_reaching_back_before_partitioning_reads_both_tables():
    add_job("job", BASE, [1.0, 2.0, 3.0], legacy=True)
    add_job("job", PARTITIONED + timedelta(minutes=5), [10.0, 20.0])
    partition_at(PARTITIONED)
    both = lag_report(
        LagQuery(since=BASE, until=PARTITIONED + timedelta(hours=1), percentiles=PERCENTILES, by="job")
    )
    assert both["tables"] == ["main_jobevent", "_unpartitioned_main_jobevent"]
    # One set of statistics over the rows of both tables: the median of 1, 2, 3, 10, 20.
    assert (both["count"], both["percentiles_seconds"]["p50"], both["max_seconds"]) == (5, 3.0, 20.0)
    # Jobs worst first: the partitioned job's lags are the longer.
    assert [group["count"] for group in both["groups"]] == [2, 3]
    after = lag_report(LagQuery(since=PARTITIONED, until=PARTITIONED + timedelta(hours=1)))
    assert (after["tables"], after["count"]) == (["main_jobevent"], 2)


def test_once_cleanup_dropped_the_legacy_table_only_the_partitioned_one_answers():
    old = add_job("job", BASE, [1.0])
    partition_at(PARTITIONED)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE _unpartitioned_main_jobevent")
    report = lag_report(LagQuery(job=old))
    assert (report["tables"], report["count"]) == (["main_jobevent"], 1)
    window = lag_report(LagQuery(since=BASE - timedelta(hours=1), until=BASE + timedelta(hours=1)))
    assert window["tables"] == ["main_jobevent"]


def test_every_kinds_tables_are_found_in_one_statement():
    """A health reading asks for every kind's tables at once: each kind gets its own legacy table,
    while it exists, for a window reaching back before the partitioning."""
    partition_at(PARTITIONED)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {KINDS['system_job'].legacy_table}")
    with CaptureQueriesContext(connection) as statements, connection.cursor() as cursor:
        before = window_sources(cursor, list(KINDS.values()), PARTITIONED - timedelta(minutes=1))
    with connection.cursor() as cursor:
        after = window_sources(cursor, list(KINDS.values()), PARTITIONED)
    assert len(statements) == 1
    for name, kind in KINDS.items():
        legacy = [] if name == "system_job" else [kind.legacy_table]
        assert [source.table for source in before[name]] == [kind.table, *legacy]
        assert [source.table for source in after[name]] == [kind.table]
