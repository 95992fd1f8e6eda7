"""Health readings shared by the requests of one process (health/cache.py): one computation per
key and period however many requests ask at once, none served across settings, bounded."""

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIRequestFactory, force_authenticate

from awx_eventdebug.api.health import MetricsView
from awx_eventdebug.conf import OPTIONS
from awx_eventdebug.health.cache import READINGS, SharedReadings
from awx_eventdebug.health.reporter import LEASE
from tests.health.test_report import recent_job

SCRAPERS = 50


class Clock:
    """A clock the test moves: no test waits for a period to pass."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def counting(results):
    def compute():
        results.append(len(results))
        return len(results)

    return compute


def test_one_computation_per_key_and_period(settings):
    clock, computed = Clock(), []
    readings = SharedReadings(2, clock)
    compute = counting(computed)
    assert [readings.get("a", compute, 5) for _ in range(3)] == [1, 1, 1]
    assert readings.get("b", compute, 5) == 2  # another query, another reading
    clock.now += 4.9
    assert readings.get("a", compute, 5) == 1
    clock.now += 0.1
    assert readings.get("a", compute, 5) == 3  # the period is over
    assert readings.get("a", compute, 0) == 4  # 0: not shared
    settings.EVENTDEBUG = {"HEALTH_WINDOW": "5m"}
    assert readings.get("a", compute, 5) == 5  # made under other settings: not served
    readings.get("c", compute, 5)
    assert list(readings._readings) == ["a", "c"]  # bounded: the oldest key dropped


def test_a_failed_computation_is_not_kept():
    readings = SharedReadings(4, Clock())

    def fails():
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        readings.get("a", fails, 5)
    assert readings.get("a", lambda: "read", 5) == "read"
    assert readings._computing == {}


def scrape_at_once(user) -> list[dict]:
    """SCRAPERS concurrent GET metrics/, each on its own thread (and so its own database
    connection, as a threaded web server's requests): per scrape, its status, the statements it
    ran and whether it opened a connection at all."""
    start = threading.Barrier(SCRAPERS)
    results = [None] * SCRAPERS

    def scrape(number):
        statements = []

        def count(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)

        request = APIRequestFactory().get("/api/eventdebug/metrics/")
        force_authenticate(request, user=user)
        start.wait()
        try:
            with connection.execute_wrapper(count):
                response = MetricsView.as_view()(request)
            opened = connection.connection is not None
        finally:
            connection.close()
        results[number] = {"status": response.status_code, "statements": len(statements), "opened": opened}

    threads = [threading.Thread(target=scrape, args=(n,)) for n in range(SCRAPERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_scrapes_cost_one_reading_per_period(redis_layer_settings, monkeypatch):
    recent_job([0.5, 2.0])
    clock = Clock()
    monkeypatch.setattr(READINGS, "clock", clock)
    user = User(username="scraper", is_superuser=True)
    for _ in range(2):  # a period, and the next one
        results = scrape_at_once(user)
        assert all(result["status"] == 200 for result in results)
        readers = [result for result in results if result["statements"]]
        # One scrape read the database; the 49 others waited for its reading (or came after it)
        # without running a statement or opening a connection.
        assert len(readers) == 1 and readers[0]["opened"]
        assert not any(result["opened"] for result in results if not result["statements"])
        clock.now += 5


def test_a_shared_reading_never_outlives_half_the_reporters_lease():
    """A process claims the reporter's lease once per reading and renews it only with less than
    half of it left: a longer HEALTH_CACHE would let it expire, and another node take it, while
    the process still serves its reading as the reporting node (the cluster's series twice)."""
    assert OPTIONS["HEALTH_CACHE"].maximum < LEASE.total_seconds() / 2
