"""A percentile's key in the lag statistics (percentiles.py parses them)."""

from __future__ import annotations

from decimal import Decimal


def percentile_key(percentile: Decimal) -> str:
    """The JSON key of a percentile: p50, p99.9."""
    return f"p{percentile.normalize():f}"
