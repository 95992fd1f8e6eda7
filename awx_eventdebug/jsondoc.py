"""What every JSON document of the app (API and ``--json``) shares."""

from __future__ import annotations

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
