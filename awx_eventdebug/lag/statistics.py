"""The lag statistics of a set of events, as every way of computing them returns them (postgres.py,
sqlite.py, rollup.py) and report.py puts them in the document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LagStatistics:
    """``count``, ``mean``, ``minimum``, ``maximum`` and ``percentiles`` are over the events
    whose lag counts (above 0); the events kept out of them are counted apart (query.py says why).
    With no such event, the figures are None and ``count`` is 0."""

    count: int
    mean: float | None
    minimum: float | None
    maximum: float | None
    # One per fraction asked for, in its order.
    percentiles: list[float] | None
    missing_created: int
    backfilled: int
    negative: int
    # The lowest lag of every measured event (``created`` set, not backfilled), negative ones
    # included: the clock-skew evidence (lag/nodes.py). None when unknown (rollups of minutes with
    # negative lags keep only their count).
    lowest: float | None = None


# Each group's key (its job, event type or time bucket) and statistics, in the order asked for.
LagGroups = list[tuple[Any, LagStatistics]]
