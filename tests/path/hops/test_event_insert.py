"""The receiver's inserts (path/hops/event_insert.py): seconds per event from AWX's metrics
between two snapshots, and on PostgreSQL the inserts into the event tables running now."""

import json
import re
import threading
import time
import uuid
from contextlib import contextmanager, nullcontext

import psycopg
import pytest
from django.db import connection, transaction

from awx_eventdebug.path import causes
from awx_eventdebug.path.hop import NodeContext
from awx_eventdebug.path.hops.event_insert import (
    BATCHED,
    BATCHES,
    INSERT_SECONDS,
    INSERTED,
    EventInsert,
    insert_figures,
    running_inserts,
)
from awx_eventdebug.path.sampler import take_sample
from tests.health.test_report import run
from tests.path.conftest import node_named
from tests.path.hops.test_receiver_buffer import save_metrics
from tests.support.awx_callback import backlog_events, dispatch
from tests.support.fault_sweep import locked, own_session

pytestmark = pytest.mark.django_db
POSTGRES = pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_stat_activity")


def counters(inserted, seconds, batched, batches):
    return {
        INSERTED: inserted,
        INSERT_SECONDS: seconds,
        BATCHED: batched,
        BATCHES: batches,
        "callback_receiver_batch_events_errors": 0,
    }


def context(previous, seconds=10.0):
    return NodeContext("node-i", "hybrid", [], 0.0, previous and {"counters": previous}, seconds)


def test_seconds_per_event_between_two_snapshots():
    before = counters(1000, 0.5, 1000, 4)
    figures = insert_figures(counters(3000, 2.5, 3000, 8), context(before))
    assert (figures["events_inserted"], figures["seconds_per_event"], figures["events_per_batch"]) == (
        2000,
        0.001,
        500.0,
    )
    # A receiver restarted in between reset its counters: nothing to compare with.
    assert insert_figures(counters(10, 0.1, 10, 1), context(before))["seconds_per_event"] is None
    assert insert_figures(counters(10, 0.1, 10, 1), context(None))["seconds_per_event"] is None


@pytest.fixture
def node(settings, redis_layer_settings):
    with node_named(settings, "node-i") as client:
        yield client


def test_slow_inserts_fail_the_check_naming_the_database(node):
    save_metrics(node, inserted=1000, insert_seconds=0.2, batches=1)
    take_sample(1)
    time.sleep(1.0)
    save_metrics(node, popped=500, inserted=500, insert_seconds=25.0, batches=1)
    insert = take_sample(1)["snapshot"]["insert"]
    assert insert["seconds_per_event"] == 0.05 and insert["events_per_batch"] == 500.0
    check = json.loads(run("check", "--json")[1])
    assert check["figures"]["insert_seconds_per_event"] == 0.05
    assert (
        "callback receiver on node-i spends 50 ms inserting each event, above the maximum 10 ms"
        in check["failures"]
    )
    [found] = [c for c in check["causes"] if c["hop"] == 6]
    assert found["cause"] == "The database inserts job events slowly"


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite only")
def test_sqlite_says_the_waits_cannot_be_measured():
    assert running_inserts() == {
        "measured": False,
        "note": "SQLite has no pg_stat_activity: waits unmeasurable",
    }


def blocked_insert(ready: threading.Event):
    """An insert into the job event table as the receiver's bulk_create starts one, from a session
    of its own: it waits while the table is locked."""
    with own_session() as inserter:
        inserter.execute("SET statement_timeout = '20s'")
        ready.set()
        try:
            inserter.execute('INSERT INTO "main_jobevent" DEFAULT VALUES')
        except psycopg.Error:
            pass  # released: the stand-in's columns refuse it, or the timeout ended it
        inserter.rollback()


@contextmanager
def insert_blocked(mode: str, longer_than: float = 0.0):
    """The job event table locked in ``mode`` by a session of its own (yielded), and an insert
    waiting on it for more than ``longer_than`` seconds, as running_inserts() sees it."""
    with locked("main_jobevent", mode) as holder:
        ready = threading.Event()
        thread = threading.Thread(target=blocked_insert, args=(ready,))
        thread.start()
        try:
            ready.wait(10)
            found = {}
            for _ in range(100):  # until the insert waits long enough (a second or two)
                found = running_inserts()
                if found["lock_waits"] and found["longest_seconds"] > longer_than:
                    break
                time.sleep(0.1)
            assert found["lock_waits"] == 1 and found["waits"] == {"Lock:relation": 1}, found
            assert found["blocking_pids"] == [holder.info.backend_pid]
            yield holder
        finally:
            holder.rollback()  # the insert ends
            thread.join(30)


@POSTGRES
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transaction_of", ["its own", "the caller"])
def test_each_reading_sees_the_inserts_running_at_that_moment(transaction_of):
    """PostgreSQL keeps a statistics snapshot for a transaction: a reading in a transaction of its
    own starts with a fresh one, one in a caller's clears the caller's."""
    with transaction.atomic() if transaction_of == "the caller" else nullcontext():
        assert running_inserts()["running"] == 0
        with insert_blocked("SHARE"):  # until a reading sees the insert waiting: 10 s at most
            pass


@POSTGRES
def test_a_lock_on_the_event_table_is_named_as_the_backlogs_cause(node):
    dispatch(node, backlog_events(30, oldest_age=20.0))
    # A lock that holds inserts and lets the tool's reads through (an ACCESS EXCLUSIVE one holds
    # those too, until the lock timeout).
    with insert_blocked("SHARE"):
        take_sample(10)
        check = json.loads(run("check", "--json")[1])
    [cause] = check["causes"]
    assert (cause["hop"], cause["cause"]) == (3, "A lock on the event tables holds the receiver's inserts")
    assert "1 Lock:relation" in cause["evidence"] and "blocked by pid" in cause["evidence"]
    assert "pg_blocking_pids" in cause["remedy"]


@POSTGRES
def test_a_blocked_insert_fails_the_check_while_the_queue_is_empty_and_no_counter_moved(
    node, admin_client, settings
):
    # A real AWX: the receiver drains the queue into its workers, whose inserts block, so the
    # queue stays short and no insert ends between two samples (seconds per event unmeasured).
    save_metrics(node, inserted=1000, insert_seconds=0.2, batches=1)
    take_sample(1)
    time.sleep(1.0)
    # As a migration or VACUUM FULL holds it: the lag's reads of the table give up within a second
    # (half the statement timeout), and the node stays fresh while they wait.
    settings.EVENTDEBUG = {"CHECK_MAX_INSERT_WAIT": 0.5, "STATEMENT_TIMEOUT": 2, "SAMPLE_STALE_INTERVALS": 60}
    with insert_blocked("ACCESS EXCLUSIVE", longer_than=0.5) as holder:
        pid = holder.info.backend_pid
        insert = take_sample(1)["snapshot"]["insert"]
        check = json.loads(run("check", "--json")[1])
        path = admin_client.get("/api/eventdebug/path/").json()
        metrics = admin_client.get("/api/eventdebug/metrics/").content.decode()
    assert insert["seconds_per_event"] is None and insert["events_inserted"] == 0
    assert check["status"] == "failed" and check["thresholds"]["max_insert_wait_seconds"] == 0.5
    assert 0.5 < check["figures"]["insert_wait_seconds"] < 30
    [failure] = [line for line in check["failures"] if "event tables" in line]
    assert failure.startswith("an insert into the event tables has run ")
    assert failure.endswith(f"s, 1 waiting on a lock, blocked by pid {pid}, above the maximum 0.5 s")
    [cause] = check["causes"]
    assert (cause["hop"], cause["cause"]) == (6, causes.EVENT_TABLE_LOCKED.title)
    assert "no events inserted since the previous sample" in cause["evidence"]
    assert re.search(
        rf"1 Lock:relation\), the longest \d+(\.\d+)? s, blocked by pid {pid}$", cause["evidence"]
    )
    assert path["first_over"] == {"hop": 6, "node": "node-i"}
    assert path["headline"].startswith("an insert into the event tables has run ")
    [row] = [hop for hop in path["nodes"][0]["hops"] if hop["key"] == "event_insert"]
    assert (row["verdict"], row["cause"]) == ("over", causes.EVENT_TABLE_LOCKED.title)
    assert re.search(r"^awx_eventdebug_event_insert_running_seconds \d", metrics, flags=re.MULTILINE)


def test_the_wait_is_judged_for_the_cluster_when_no_node_is_sampled():
    inserts = {"measured": True, "note": "", "running": 2, "waits": {"Lock:relation": 2}}
    inserts |= {"lock_waits": 2, "longest_seconds": 42.5, "blocking_pids": [77]}
    limits = {"max_insert_seconds_per_event": 0.01, "max_insert_wait": 10.0}
    judged = EventInsert().judge_cluster(inserts, limits, [])
    assert (judged.verdict, judged.figures) == ("over", {"max_insert_wait": 42.5})
    assert judged.failures == [
        "an insert into the event tables has run 42 s, 2 waiting on a lock, blocked by pid 77, "
        "above the maximum 10 s"
    ]
    found = EventInsert().diagnose(judged, {})
    assert found.cause is causes.EVENT_TABLE_LOCKED and "blocked by pid 77" in found.evidence
    quiet = EventInsert().judge_cluster(inserts | {"longest_seconds": 3.0}, limits, [])
    assert (quiet.verdict, quiet.failures, quiet.figures) == ("n/a", [], {"max_insert_wait": 3.0})
    unmeasured = {"measured": False, "note": "SQLite has no pg_stat_activity: waits unmeasurable"}
    assert EventInsert().judge_cluster(unmeasured, limits, []).figures == {"max_insert_wait": None}


@POSTGRES
def test_inserts_waiting_in_another_database_of_the_server_are_not_counted():
    # AWX's PostgreSQL may serve other databases, whose sessions pg_stat_activity lists too.
    settings = connection.settings_dict
    server = {key: settings[key.upper()] for key in ("host", "port", "user", "password")}
    other = f"edtest_other_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{other}"')
    try:
        with (
            psycopg.connect(**server, dbname=other) as holder,
            psycopg.connect(**server, dbname=other) as inserter,
        ):
            holder.execute('CREATE TABLE "main_jobevent" (id int)')
            holder.commit()
            holder.execute('LOCK TABLE "main_jobevent" IN ACCESS EXCLUSIVE MODE')
            inserter.execute("SET statement_timeout = '20s'")
            thread = threading.Thread(
                target=inserter.execute, args=('INSERT INTO "main_jobevent" VALUES (1)',)
            )
            thread.start()
            with psycopg.connect(**server, dbname=other) as watcher:
                waiting = (
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                for _ in range(100):  # until the insert waits on the lock (a fraction of a second)
                    if watcher.execute(waiting).fetchone()[0]:
                        break
                    time.sleep(0.1)
                assert watcher.execute(waiting).fetchone()[0] == 1
            found = running_inserts()
            holder.rollback()
            thread.join(30)
    finally:
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)')
    assert (found["running"], found["lock_waits"], found["blocking_pids"]) == (0, 0, [])
