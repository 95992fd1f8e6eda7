"""The clock estimate the maintenance upkeep stores once a minute (lag/nodes.py store_clocks), and
the readings that reuse it instead of reading the events: only while it is young and read what
an estimate made now would, never when its table cannot be read."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from awx_eventdebug.conf import get_config
from awx_eventdebug.db import lock_key
from awx_eventdebug.health.report import health_window
from awx_eventdebug.lag import nodes
from awx_eventdebug.lag.nodes import (
    EXACT,
    STORE_EARLY,
    STORE_EVERY,
    STORE_LOCK,
    STORED,
    estimate_clocks,
    node_clocks,
    store_clocks,
    stored_age,
)
from awx_eventdebug.models import ClockEstimate
from awx_eventdebug.window import Window
from example_settings.awxschema.schema import rebuild_schema
from example_settings.awxschema.workload import insert_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def only_these_events():
    """The stand-in AWX tables empty before the test, and after it: a transactional test's rows
    outlive it, and the estimates read every job event of the last minutes."""
    rebuild_schema(connection)
    yield
    rebuild_schema(connection)


def recent_jobs(lags_by_node: dict[str, float], events: int = 40) -> None:
    """A job per execution node, its events stored over the last few minutes with these lags."""
    start = timezone.now() - timedelta(minutes=5)
    for node, lag in lags_by_node.items():
        rows = []
        for counter in range(events):
            created = start + timedelta(seconds=counter)
            rows.append((created, created + timedelta(seconds=lag + counter % 3 / 10), "runner_on_ok"))
        insert_job("job", start, rows, nodes=(node, "awx-1"))


def stored_row() -> ClockEstimate:
    [row] = ClockEstimate.objects.all()
    return row


def age_stored(by: timedelta) -> None:
    """The stored estimate made ``by`` earlier than it was."""
    row = stored_row()
    ClockEstimate.objects.filter(pk=row.pk).update(
        since=row.since - by, until=row.until - by, events_since=row.events_since - by
    )


def clock_statements(window: Window) -> tuple[dict, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        clocks = node_clocks(window)
    return clocks, [q["sql"] for q in queries.captured_queries if "main_jobevent" in q["sql"]]


def test_the_upkeep_stores_the_estimate_once_a_minute_and_readings_reuse_it():
    recent_jobs({"exec-1": 0.5, "exec-2": 4.0})
    stored_at = store_clocks()
    assert stored_at is not None
    row = stored_row()
    assert row.until - row.since == get_config()["HEALTH_WINDOW"]
    # Within STORE_EVERY: nothing made nor stored again.
    assert store_clocks() is None
    assert ClockEstimate.objects.get().pk == row.pk

    clocks, event_reads = clock_statements(health_window(timezone.now()))
    assert event_reads == []  # one row of the app's table, not the events
    made_now = estimate_clocks(health_window(timezone.now()))
    assert clocks["method"] == STORED and made_now["method"] == EXACT
    assert clocks["estimated_at"] == stored_at
    assert clocks["nodes"] == made_now["nodes"]
    assert {n["node"]: n["verdict"] for n in clocks["nodes"]} == {"exec-1": "in_sync", "exec-2": "behind"}


def test_a_stored_estimate_about_a_minute_old_is_replaced():
    recent_jobs({"exec-1": 0.5})
    first = store_clocks()
    # A slot a little early (or a slow upkeep before it) still replaces it.
    age_stored(STORE_EVERY - STORE_EARLY + timedelta(seconds=1))
    second = store_clocks()
    assert second is not None and second != first
    assert ClockEstimate.objects.count() == 1


def test_one_stored_by_another_node_while_this_one_waited_for_the_lock_is_kept(monkeypatch):
    recent_jobs({"exec-1": 0.5})
    store_clocks()  # another node's, at the same moment
    [row] = ClockEstimate.objects.all()
    real, reads = nodes._last_stored, []

    def last_stored():
        reads.append(None)
        return None if len(reads) == 1 else real()  # the first: before the other node stored

    monkeypatch.setattr(nodes, "_last_stored", last_stored)
    assert store_clocks() is None
    assert len(reads) == 2 and ClockEstimate.objects.get().pk == row.pk


def test_a_reading_takes_one_two_slots_old_when_the_slots_are_longer_than_a_minute(settings):
    settings.EVENTDEBUG = {"SAMPLE_INTERVAL": 600}
    assert stored_age() == timedelta(minutes=20)
    recent_jobs({"exec-1": 0.5, "exec-2": 4.0})
    store_clocks()
    age_stored(timedelta(minutes=15))
    assert node_clocks(health_window(timezone.now()))["method"] == STORED


@pytest.mark.parametrize(
    "why, age, window",
    [
        ("older than two minutes", 2 * STORE_EVERY + timedelta(seconds=1), None),
        ("made after the window's end, beyond the clocks' tolerance", -STORE_EVERY, None),
        ("a longer window, whose events it did not all read", timedelta(0), timedelta(hours=6)),
    ],
)
def test_a_reading_makes_its_own_estimate_when_the_stored_one_is_not_what_it_would_read(why, age, window):
    recent_jobs({"exec-1": 0.5, "exec-2": 4.0})
    store_clocks()
    age_stored(age)
    now = timezone.now()
    reading = Window(now - window, now) if window else health_window(now)
    clocks, event_reads = clock_statements(reading)
    assert clocks["method"] == EXACT, why
    assert event_reads, why


def test_latest_events_that_all_lie_in_a_longer_window_are_reused(monkeypatch):
    monkeypatch.setattr("awx_eventdebug.lag.recent.RECENT_EVENTS", 50)
    recent_jobs({"exec-1": 0.5, "exec-2": 4.0})
    store_clocks()
    row = stored_row()
    assert row.events_since > row.since  # the latest 50 of 80 events: not all of the window
    now = timezone.now()
    clocks, event_reads = clock_statements(Window(now - timedelta(hours=6), now))
    assert clocks["method"] == STORED and event_reads == []


def test_with_no_stored_estimate_or_its_table_missing_the_reading_makes_its_own():
    recent_jobs({"exec-1": 0.5, "exec-2": 4.0})
    assert node_clocks(health_window(timezone.now()))["method"] == EXACT
    store_clocks()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE awx_eventdebug_clockestimate RENAME TO moved_away")
    try:
        clocks = node_clocks(health_window(timezone.now()))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE moved_away RENAME TO awx_eventdebug_clockestimate")
    assert clocks["method"] == EXACT
    assert "awx_eventdebug_clockestimate" in clocks["stored_error"]
    assert {n["node"] for n in clocks["nodes"]} == {"exec-1", "exec-2"}


@pytest.mark.postgres_only(reason="advisory locks")
def test_while_another_process_makes_the_estimate_the_upkeep_does_not():
    recent_jobs({"exec-1": 0.5})
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_key(STORE_LOCK)])
        assert store_clocks() is None
        assert not ClockEstimate.objects.exists()
    finally:
        other.close()
    assert store_clocks() is not None


def test_the_report_says_which_estimate_it_shows():
    recent_jobs({"exec-1": 0.5, "exec-2": 4.0})

    def clock_table_note() -> str:
        out = StringIO()
        call_command("eventdebug", "report", stdout=out)
        [line] = [line for line in out.getvalue().splitlines() if "events stored since" in line]
        return line

    assert "made by this reading" in clock_table_note()
    stored_at = store_clocks()
    assert f"the maintenance thread's estimate of {stored_at[:19]}Z" in clock_table_note()
