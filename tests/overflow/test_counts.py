"""The merge rule of overflow counts: Counts.merge() in Python and the ON CONFLICT clause in SQL
give the same row, on the database the run uses (the suite runs on PostgreSQL and on SQLite)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from awx_eventdebug.models import ChannelOverflow
from awx_eventdebug.overflow.counts import Counts
from awx_eventdebug.overflow.upsert import add_counts

pytestmark = pytest.mark.django_db

WINDOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
KEY = ("awx-1", "job_events-1", WINDOW, "live")


def at(seconds: float) -> datetime:
    return WINDOW + timedelta(seconds=seconds)


# Each sequence moves every field both ways: a later count with an earlier first_seen, a
# smaller group size, times a microsecond apart and on both sides of a whole second (SQLite
# compares them as text, where ".999999" must sort below the next second).
SEQUENCES = {
    "times out of order": [
        Counts(at(30), at(40), 3, 5, 4),
        Counts(at(10), at(20), 1, 1, 9),
        Counts(at(50), at(55), 2, 2, 2),
        Counts(at(5), at(59), 7, 1, 3),
    ],
    "a microsecond apart": [
        Counts(at(1), at(1), 1, 1, 1),
        Counts(at(0.999999), at(1.000001), 1, 4, 4),
        Counts(at(1), at(1), 2, 2, 8),
    ],
    "one record each": [Counts.of_record(at(n * 7 % 60), n % 3 + 1, 10 - n) for n in range(10)],
}


def merged_in_python(sequence: list[Counts]) -> Counts:
    total = replace(sequence[0])
    for counts in sequence[1:]:
        total.merge(counts)
    return total


def stored_row() -> Counts:
    row = ChannelOverflow.objects.get()
    return Counts(row.first_seen, row.last_seen, row.drops, row.queues_over, row.max_group_size)


@pytest.mark.parametrize("name", SEQUENCES)
def test_the_sql_upsert_and_the_python_merge_give_the_same_row(name):
    sequence = SEQUENCES[name]
    for counts in sequence:  # one statement each: every count after the first is an ON CONFLICT
        add_counts({KEY: counts})
    assert stored_row() == merged_in_python(sequence)


def test_a_batch_merges_two_names_stored_as_one_by_the_same_rule_and_keeps_its_counts():
    sequence = SEQUENCES["times out of order"]
    before = [replace(counts) for counts in sequence]
    # NUL is stored as U+FFFD: both keys are one row, merged in Python before the statement.
    add_counts(
        {
            ("awx-1", "nul\x00", WINDOW, "live"): sequence[0],
            ("awx-1", "nul\ufffd", WINDOW, "live"): sequence[1],
        }
    )
    assert stored_row() == merged_in_python(before[:2])
    assert sequence == before
