import multiprocessing
import sqlite3
from datetime import timedelta

import pytest
from django.db import connection

from awx_eventdebug.models import ChannelOverflow
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
    expected = (WRITERS * BATCHES, 2 * WRITERS * BATCHES, (WRITERS - 1) * 1000 + BATCHES - 1)
    assert found == [expected, expected]


@pytest.mark.django_db
def test_one_batch_may_name_the_same_stored_row_twice():
    from awx_eventdebug.overflow.upsert import Counts, add_counts

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
