"""What the lag of a window reuses (lag/reuse.py): the sum of its final minutes, kept by the
process for the next reading of the same minutes; within one health reading, the open minutes the
lag summary and the Prometheus counters both read."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from awx_eventdebug.awx.tables import KINDS
from awx_eventdebug.lag import reuse, rollup
from awx_eventdebug.lag.histogram import lag_counters
from awx_eventdebug.lag.rollup import (
    MINUTE,
    Piece,
    compute_kinds,
    fill_rollups,
    final_span,
    floor_to,
    kinds_statistics,
)
from awx_eventdebug.window import Window
from tests.lag.test_summary import events_until_now

pytestmark = pytest.mark.django_db

FRACTIONS = [0.5, 0.99]


def rollup_statements(statements) -> int:
    return sum("awx_eventdebug_lagrollup" in statement["sql"] for statement in statements)


def event_statements(statements) -> int:
    """The statements computing minutes from the events (rollup.py's _MINUTES)."""
    return sum("GROUP BY kind, minute" in statement["sql"] for statement in statements)


@pytest.fixture
def window(monkeypatch):
    """A job's events over the last 10 minutes, the final ones in the rollups; the minutes final
    at this moment stay the final ones during the test (a minute's end in between would move
    them, and two readings would read different minutes)."""
    events_until_now("job", 10, 400, seed=11)
    now = timezone.now()
    window = Window(now - timedelta(minutes=15), now)
    fill_rollups(since=window.since, until=window.until)
    end = rollup.final_end(now)
    monkeypatch.setattr(rollup, "final_end", lambda now=None: end)
    return window


def test_the_same_final_minutes_are_read_once_and_answer_the_same(window):
    tables = {"job": None}
    with CaptureQueriesContext(connection) as first_reading:
        first = kinds_statistics(tables, window.since, window.until, FRACTIONS)
    with CaptureQueriesContext(connection) as second_reading:
        second = kinds_statistics(tables, window.since, window.until, FRACTIONS)
    assert rollup_statements(first_reading) == 1
    assert rollup_statements(second_reading) == 0  # the kept sum
    assert event_statements(second_reading) == 1  # the edges, read on every reading
    assert second == first
    assert first["job"][0].count == 400


def test_another_minute_reads_the_rollups_again_and_is_answered_for_its_own_minutes(window):
    tables = {"job": None}
    kinds_statistics(tables, window.since, window.until, FRACTIONS)
    later = Window(window.since + MINUTE, window.until)
    assert final_span(later.since, later.until) != final_span(window.since, window.until)
    with CaptureQueriesContext(connection) as statements:
        (statistics, behind) = kinds_statistics(tables, later.since, later.until, FRACTIONS)["job"]
    reuse.forget()
    assert rollup_statements(statements) == 1
    assert (statistics, behind) == kinds_statistics(tables, later.since, later.until, FRACTIONS)["job"]


def test_a_kind_whose_minutes_could_not_be_read_keeps_no_sum(window, settings):
    """Rollups too far behind for a health reading (kinds_statistics' fill_at_most): the kind is
    answered otherwise (exactly), and nothing is kept for it."""
    first, last = final_span(window.since, window.until)
    reuse.forget()
    from awx_eventdebug.models import LagRollup

    LagRollup.objects.all().delete()
    answers = kinds_statistics({"job": None}, window.since, window.until, FRACTIONS, fill_at_most=0)
    assert isinstance(answers["job"], Exception)
    assert reuse.final_sum("job", first, last) is None


def test_the_open_minutes_are_computed_once_in_one_reading_and_anew_outside_it(window):
    stretches = [(floor_to(window.until, MINUTE) - 2 * MINUTE, window.until)]
    with CaptureQueriesContext(connection) as statements, reuse.one_reading():
        inside = [compute_kinds({"job": None}, stretches) for _ in range(2)]
    assert event_statements(statements) == 1
    assert inside[0] == inside[1]
    with CaptureQueriesContext(connection) as statements:
        compute_kinds({"job": None}, stretches)
        compute_kinds({"job": None}, stretches)
    assert event_statements(statements) == 2


@pytest.mark.parametrize("origin", ["before the window", "in the open minutes"])
def test_the_counters_read_the_open_minutes_of_the_lag_summary_of_the_same_reading(
    window, monkeypatch, origin
):
    """What each computation of minutes ending at the reading's ``until`` (the open minutes; a
    fill's stretches end on a minute) found in memory: the summary none, the counters all, from
    their origin on (a lease taken a minute ago counts from there: health/reporter.py)."""
    found, known = [], reuse.computed_minutes

    def recorded(kinds, stretches, minute_of):
        minutes = known(kinds, stretches, minute_of)
        if stretches[-1][1] == window.until:
            found.append(minutes is not None)
        return minutes

    monkeypatch.setattr(reuse, "computed_minutes", recorded)
    origin = floor_to(window.since if origin == "before the window" else window.until, MINUTE)
    with reuse.one_reading():
        kinds_statistics(dict.fromkeys(KINDS), window.since, window.until, FRACTIONS)
        together = lag_counters(KINDS, origin, window.until)
    assert found == [False, True]
    assert together == lag_counters(KINDS, origin, window.until)  # computed anew: the same minutes


@pytest.mark.parametrize(
    "asked, found",
    [
        ("where it starts", True),
        ("a whole minute later", True),
        ("within its first minute", False),
        ("a minute before it", False),
        ("ending elsewhere", False),
    ],
)
def test_a_stretch_is_known_from_a_computed_one_that_holds_it_in_whole_minutes(asked, found):
    """The stretch a reading computed, [12:00:30, 12:05:10): another ending where it ends and
    starting where it starts or at a whole minute inside it is known; any other is not."""
    minute = timedelta(minutes=1)
    since = timezone.now().replace(hour=12, minute=0, second=30, microsecond=0)
    until = since + 4 * minute + timedelta(seconds=40)
    pieces = {
        since.replace(second=0) + n * minute: Piece(since.replace(second=0) + n * minute, count=n)
        for n in range(5)
    }
    stretch = {
        "where it starts": (since, until),
        "a whole minute later": (since.replace(second=0) + 2 * minute, until),
        "within its first minute": (since + timedelta(seconds=10), until),
        "a minute before it": (since.replace(second=0) - minute, until),
        "ending elsewhere": (since, until - timedelta(seconds=1)),
    }[asked]
    minute_of = lambda moment: floor_to(moment, MINUTE)  # noqa: E731
    with reuse.one_reading():
        reuse.keep_computed_minutes({"job": pieces}, [(since, until)], minute_of)
        known = reuse.computed_minutes(["job"], [stretch], minute_of)
    assert (known is not None) == found
    if found:
        assert sorted(known["job"]) == [m for m in sorted(pieces) if m >= minute_of(stretch[0])]
        assert all(known["job"][m] == pieces[m] and known["job"][m] is not pieces[m] for m in known["job"])
