"""Lag histograms with relative-error buckets (the DDSketch idea) and the percentiles they give.

A lag x > 0 falls in bucket ``floor(ln(x) / ln(GAMMA))`` with GAMMA = 1 + 2a, a = RELATIVE_ERROR:
bucket i holds [GAMMA^i, GAMMA^(i+1)) and answers with 2 GAMMA^(i+1) / (GAMMA + 1), which is
within a / (1 + a) < a of every value in it. Histograms of any number of minutes merge by adding
counts, so a percentile over a month costs the number of buckets, not of events. Lags below
SMALLEST (AWX stores microseconds, and lag 0 is counted apart as backfilled) share its bucket.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

RELATIVE_ERROR = 0.01
GAMMA = 1 + 2 * RELATIVE_ERROR
LN_GAMMA = math.log(GAMMA)
SMALLEST = 1e-6


def bucket_value(index: int) -> float:
    """The value bucket ``index`` answers with."""
    return 2 * GAMMA ** (index + 1) / (GAMMA + 1)


def merge(into: dict[int, int], pairs: Iterable) -> None:
    """Add a histogram's (bucket, count) pairs to ``into``."""
    for index, count in pairs:
        into[index] = into.get(index, 0) + count


def percentiles(histogram: dict[int, int], fractions: list[float], low: float, high: float) -> list[float]:
    """Each fraction's percentile, interpolated linearly between the two nearest ranks as
    PostgreSQL's percentile_cont and numpy do, each rank read from its bucket and kept within
    the exact ``low`` (min) and ``high`` (max)."""
    ordered = sorted(histogram.items())
    total = sum(count for _, count in ordered)
    ranks = sorted({rank for f in fractions for rank in _neighbours(total, f)})
    values, seen, position = {}, 0, 0
    for rank in ranks:
        while seen + ordered[position][1] <= rank:
            seen += ordered[position][1]
            position += 1
        values[rank] = min(max(bucket_value(ordered[position][0]), low), high)
    values[0] = low
    values[total - 1] = high
    out = []
    for fraction in fractions:
        place = (total - 1) * fraction
        below = math.floor(place)
        if below + 1 >= total:
            out.append(values[below])
        else:
            out.append(values[below] + (place - below) * (values[below + 1] - values[below]))
    return out


def _neighbours(total: int, fraction: float) -> tuple[int, ...]:
    below = math.floor((total - 1) * fraction)
    return (below,) if below + 1 >= total else (below, below + 1)
