import multiprocessing
import sqlite3
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from awx_eventdebug.models import ChannelOverflow, OverflowTotal
from awx_eventdebug.overflow.upsert import Counts, add_counts, add_totals
from tests.support import upsert_writer

WRITERS = 4
BATCHES = 100


def run_writers(env):
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    processes = [
        context.Process(target=upsert_writer.write, args=(env, start, index, BATCHES))
        for index in range(WRITERS)
    ]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0] * WRITERS


def assert_no_lost_update():
    rows = ChannelOverflow.objects.order_by("node")
    assert len(rows) == len(upsert_writer.KEYS)
    # The totals the writers keep beside the rows (the drops counter of GET metrics/).
    assert set(OverflowTotal.objects.values_list("node", "group_kind", "source", "drops")) == {
        ("node-a", "job_events", "live", WRITERS * BATCHES),
        ("node-b", "broadcast", "live", WRITERS * BATCHES),
    }
    for row in rows:
        assert row.drops == WRITERS * BATCHES
        assert row.queues_over == 2 * WRITERS * BATCHES
        assert row.max_group_size == (WRITERS - 1) * 1000 + BATCHES - 1
        assert row.first_seen == upsert_writer.BASE
        assert row.last_seen == upsert_writer.BASE + timedelta(milliseconds=WRITERS * BATCHES - 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only(reason="SQLite has a test of its own below")
def test_four_processes_add_to_the_same_rows_on_postgresql():
    settings_dict = connection.settings_dict
    run_writers(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "EVENTDEBUG_DATABASE": "postgres",
            "PGDATABASE": settings_dict["NAME"],  # the test database
        }
    )
    assert_no_lost_update()


def test_four_processes_add_to_the_same_rows_on_a_sqlite_file(tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "EVENTDEBUG_DATABASE": "sqlite",
        "EVENTDEBUG_SQLITE_PATH": str(tmp_path / "shared.sqlite3"),
    }
    context = multiprocessing.get_context("spawn")
    migrate = context.Process(target=upsert_writer.migrate, args=(env,))
    migrate.start()
    migrate.join(120)
    assert migrate.exitcode == 0
    run_writers(env)
    with sqlite3.connect(env["EVENTDEBUG_SQLITE_PATH"]) as db:
        found = db.execute(
            f"SELECT drops, queues_over, max_group_size FROM {ChannelOverflow._meta.db_table}"
        ).fetchall()
        totals = db.execute(f"SELECT drops FROM {OverflowTotal._meta.db_table}").fetchall()
    expected = (WRITERS * BATCHES, 2 * WRITERS * BATCHES, (WRITERS - 1) * 1000 + BATCHES - 1)
    assert found == [expected, expected]
    assert totals == [(WRITERS * BATCHES,), (WRITERS * BATCHES,)]


@pytest.mark.django_db
def test_one_batch_may_name_the_same_stored_row_twice():
    at = upsert_writer.BASE
    long_name = "g" * 300
    rows = {
        ("n", "nul\x00", at, "live"): Counts(at, at, 1, 1, 1),
        ("n", "nul\ufffd", at, "live"): Counts(at, at, 2, 2, 5),
        ("n", long_name, at, "live"): Counts(at, at, 1, 1, 1),
    }
    assert add_counts(rows) == 2
    stored = dict(ChannelOverflow.objects.values_list("group", "drops"))
    assert stored["nul\ufffd"] == 3
    assert any(len(name) == 255 and name.startswith("ggg") for name in stored)


@pytest.mark.django_db
def test_the_totals_count_the_rows_written_by_group_kind_and_none_refused():
    at = upsert_writer.BASE
    rows = {
        ("n", "job_events-1", at, "live"): Counts(at, at, 2, 2, 1),
        ("n", "job_events-2", at, "live"): Counts(at, at, 3, 3, 1),
        ("n", "ad_hoc_command_events-9", at, "ingest"): Counts(at, at, 4, 4, 1),
        ("n", "mine", at, "live"): Counts(at, at, 5, 5, 1),
        # A name no encoding the database accepts can store: refused, this row alone.
        ("n", "job_events-\ud800", at, "live"): Counts(at, at, 7, 7, 1),
    }
    refused = {}
    assert add_counts(rows, refused=refused) == 4
    assert list(refused) == [("n", "job_events-\ud800", at, "live")]
    assert set(OverflowTotal.objects.values_list("group_kind", "source", "drops")) == {
        ("job_events", "live", 5),
        ("ad_hoc_command_events", "ingest", 4),
        ("other", "live", 5),
    }
    add_counts({("n", "job_events-1", at, "live"): Counts(at, at, 1, 1, 1)})
    assert OverflowTotal.objects.get(group_kind="job_events").drops == 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only(reason="row locks")
def test_a_long_transaction_locks_the_totals_only_at_its_end(settings):
    """A compressed file's ingest adds its batches in one transaction and its totals last
    (add_counts with totals=, then add_totals): meanwhile another writer of the same node's
    totals is not held up, and neither waits on the other in reverse order (a deadlock)."""
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 4}  # a writer held up fails in 2 s, not hangs
    at = upsert_writer.BASE
    first = {("n", "job_events-1", at, "ingest"): Counts(at, at, 1, 1, 1)}
    second = {("n", "job_events-2", at, "ingest"): Counts(at, at, 2, 2, 1)}
    holding, release, failures = threading.Event(), threading.Event(), []

    def long_writer():
        gathered = {}
        try:
            with transaction.atomic():
                add_counts(first, totals=gathered)
                holding.set()
                release.wait(30)
                add_counts(second, totals=gathered)  # the row the other writer wrote meanwhile
                add_totals(gathered)
        except Exception as exc:  # noqa: BLE001 - the test's verdict
            failures.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=long_writer)
    worker.start()
    try:
        assert holding.wait(30)
        add_counts(second)  # another ingest of the same node: its totals are free to take
    finally:
        release.set()
        worker.join(30)
    assert not failures
    assert OverflowTotal.objects.get(node="n").drops == 1 + 2 + 2


@pytest.mark.django_db
def test_the_totals_of_many_nodes_are_written_a_hundred_at_a_time():
    """Ingest takes each line's node from syslog: a batch can name hundreds, and one statement of
    them all would pass SQLite's variable limit (999 before SQLite 3.32)."""
    at = upsert_writer.BASE
    rows = {(f"node-{n:03d}", "job_events-1", at, "ingest"): Counts(at, at, 1, 1, 1) for n in range(250)}
    with CaptureQueriesContext(connection) as captured:
        add_counts(rows)
    on_totals = [q["sql"] for q in captured.captured_queries if OverflowTotal._meta.db_table in q["sql"]]
    assert len(on_totals) == 3  # 100 + 100 + 50 keys, 4 parameters each
    assert OverflowTotal.objects.count() == 250
