"""What every JSON document of the app (API and ``--json``) shares."""

from __future__ import annotations

# What a figure's field name says among its words (most end with it): its unit, or what a count
# counts. A map whose keys are data (percentiles, causes) carries its values' unit in its own name.
UNIT_SUFFIXES = (
    # units
    "seconds",
    "milliseconds",
    "minutes",
    "percent",
    "ratio",
    "share",
    "bytes",
    "per_second",
    "per_minute",
    # counts
    "count",
    "total",
    "events",
    "messages",
    "drops",
    "groups",
    "members",
    "queues",
    "keys",
    "nodes",
    "rows",
    "jobs",
    "connections",
    "counters",
    "gaps",
    "duplicates",
    "partitions",
    "batches",
    "lines",
    "records",
    "files",
    "flushes",
    "failures",
    "fingerprints",
    "checks",
    "intervals",
)
# Numbers that are no figure: identifiers, and the list parameters AWX's pages echo.
IDENTIFIERS = (
    "count",
    "page",
    "page_size",
    "limit",
    "job",
    "pid",
    "hop",
    "index",
    "shard",
    "receiver_shard",
    "key",
    "exit_code",
    "sample",
    "first",
    "highest",
)


def says_unit(name: str, unit: str) -> bool:
    """Whether ``name`` has ``unit`` among its words: max_events_in_memory says "events"."""
    return f"_{unit}_" in f"_{name}_"


def has_unit(name: str) -> bool:
    """Whether a field name says the unit of its number (UNIT_SUFFIXES) or names no figure."""
    return name in IDENTIFIERS or any(says_unit(name, unit) for unit in UNIT_SUFFIXES)


# Seconds to the microsecond, as the times they come from: no 0.054876000000000036.
FLOAT_DIGITS = 6


def rounded(value):
    """``value`` with every float in it, however deep, rounded to FLOAT_DIGITS decimals."""
    if isinstance(value, float):
        return round(value, FLOAT_DIGITS)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item) for item in value]
    return value
