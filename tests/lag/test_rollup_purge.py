"""A lag query from the rollups never depends on rows another process may delete meanwhile: with a
thread purging rollups in a loop (the maintenance thread's purge past RETENTION, and purges of any
age, which delete the rows queries have just stored), every answer over windows older than
RETENTION, across it and younger equals the exact one within the stated error."""

import random
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from awx_eventdebug.lag.query import LagQuery
from awx_eventdebug.lag.report import ROLLUP_GROUPINGS, lag_report
from awx_eventdebug.lag.rollup import purge_rollups
from tests.lag.test_rollup_sweep import PERCENTILES, bursts, differences

pytestmark = pytest.mark.django_db(transaction=True)

RETENTION = timedelta(days=30)
ROUNDS = 2
# The loop's bound: a slow machine ends it sooner, after one round at least.
SECONDS = 30.0


def purge_in_a_loop(stop: threading.Event, purged: list, failures: list) -> None:
    """What the maintenance thread does each slot, as fast as it can, and purges of any age."""
    rng = random.Random(5)
    try:
        while not stop.is_set():
            age = rng.choice([timedelta(0), timedelta(hours=rng.uniform(0, 24 * 40))])
            for older_than, batch_size in ((RETENTION, 5000), (age, rng.choice([50, 500, 5000]))):
                try:
                    purged.append(purge_rollups(older_than, batch_size))
                except OperationalError as exc:
                    # SQLite: the query's insert holds the database; the maintenance thread's
                    # purge fails likewise and runs again next slot.
                    if connection.vendor != "sqlite" or "locked" not in str(exc):
                        raise
    except Exception as exc:  # reported by the test, which would otherwise wait for nothing
        failures.append(exc)
    finally:
        connection.close()


def test_answers_stay_exact_while_rollups_are_purged():
    now = timezone.now()
    bursts(now)
    ends = {
        "past RETENTION": now - timedelta(days=33),
        "across RETENTION's horizon": now - timedelta(days=30) + timedelta(hours=5),
        "days ago": now - timedelta(days=2, hours=21),
        "ending now": now,
    }
    queries = [
        LagQuery(since=end - length, until=end, by=by, percentiles=PERCENTILES)
        for end in ends.values()
        for length in (timedelta(hours=8), timedelta(days=4))
        for by in ROLLUP_GROUPINGS
    ]
    exact = [lag_report(replace(query, exact=True)) for query in queries]
    stop, purged, failures, wrong = threading.Event(), [], [], []
    purger = threading.Thread(target=purge_in_a_loop, args=(stop, purged, failures))
    purger.start()
    answered, deadline = 0, time.monotonic() + SECONDS
    try:
        for _ in range(ROUNDS):
            for query, expected in zip(queries, exact, strict=True):
                found = differences(lag_report(query), expected)
                if found:
                    wrong.append((query.by, query.since, query.until, found[:2]))
                answered += 1
            if time.monotonic() > deadline:
                break
    finally:
        stop.set()
        purger.join(30)
    assert not purger.is_alive() and failures == []
    assert answered >= len(queries) and sum(purged) > 0  # the purge ran, deleting rows meanwhile
    assert wrong == [], f"{len(wrong)} of {answered} answers differ from exact: {wrong[:5]}"
