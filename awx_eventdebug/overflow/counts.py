"""What one ChannelOverflow row counts, and the one rule by which two counts of a row add up.

A row is one (node, group, window_start, source). Counts of it meet in four places: the capture
handler's pending aggregate (each record, and a failed batch put back), an ingest batch, the
batch add_counts() writes, and the row already stored. The first three use Counts.add() (or
merge(), the same with the other counts as a Counts); the stored row takes the same rule in SQL,
from merge_assignments(), in upsert.py's ``ON CONFLICT ... DO UPDATE``.
tests/overflow/test_counts.py checks that both give the same row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

# The handler keeps a record's time as logging gives it (epoch seconds) until it writes: making
# a datetime per record would cost its hot path more than the rest of the count.
Moment = TypeVar("Moment", datetime, float)

# How each field of two counts of one row combines: Counts.add() in Python, merge_assignments()
# in SQL.
SUM, SMALLEST, LARGEST = "sum", "smallest", "largest"
MERGE_RULE = {
    "first_seen": SMALLEST,
    "last_seen": LARGEST,
    "drops": SUM,
    "queues_over": SUM,
    "max_group_size": LARGEST,
}


@dataclass(slots=True)
class Counts(Generic[Moment]):
    """What some overflow records of one row add to it."""

    first_seen: Moment
    last_seen: Moment
    drops: int = 0
    queues_over: int = 0
    max_group_size: int = 0

    @classmethod
    def of_record(cls, at: Moment, queues_over: int, group_size: int) -> Counts[Moment]:
        """One record: one group message dropped for ``queues_over`` of ``group_size`` queues."""
        return cls(at, at, 1, queues_over, group_size)

    def merge(self, other: Counts[Moment]) -> None:
        """Add ``other`` (counts of the same row) to these."""
        self.add(
            first_seen=other.first_seen,
            last_seen=other.last_seen,
            drops=other.drops,
            queues_over=other.queues_over,
            max_group_size=other.max_group_size,
        )

    def add(
        self, first_seen: Moment, last_seen: Moment, drops: int, queues_over: int, max_group_size: int
    ) -> None:
        """MERGE_RULE, the other counts given field by field: the capture handler adds each record
        so, without making a Counts of it on its hot path."""
        self.drops += drops
        self.queues_over += queues_over
        if max_group_size > self.max_group_size:
            self.max_group_size = max_group_size
        if first_seen < self.first_seen:
            self.first_seen = first_seen
        if last_seen > self.last_seen:
            self.last_seen = last_seen


def merge_into(rows: dict, key, counts: Counts) -> None:
    """Add ``counts`` to ``rows[key]``, or make them that entry."""
    entry = rows.get(key)
    if entry is None:
        rows[key] = counts
    else:
        entry.merge(counts)


def merge_assignments(vendor: str, quote, stored: str) -> str:
    """MERGE_RULE as the SET list of an ``ON CONFLICT ... DO UPDATE`` on ``vendor``'s SQL: the
    row already stored (aliased ``stored``) and EXCLUDED (the row proposed) merged column by
    column. ``quote`` quotes a column name."""
    # SQLite's two-argument min() and max() are scalar, as PostgreSQL's LEAST and GREATEST.
    smaller, larger = ("LEAST", "GREATEST") if vendor == "postgresql" else ("MIN", "MAX")
    templates = {
        SUM: "{stored}.{column} + EXCLUDED.{column}",
        SMALLEST: smaller + "({stored}.{column}, EXCLUDED.{column})",
        LARGEST: larger + "({stored}.{column}, EXCLUDED.{column})",
    }
    return ", ".join(
        f"{quote(name)} = " + templates[how].format(stored=stored, column=quote(name))
        for name, how in MERGE_RULE.items()
    )
