"""Percentiles as settings and query strings give them, parsed into exact decimals, so "99.9"
stays 99.9 and two spellings of one number are one percentile.

Imports nothing of the app: conf.py parses EVENTDEBUG['LAG_PERCENTILES'] with it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .errors import quoted

MAX_PERCENTILES = 10
PERCENTILE_DECIMALS = 4


def parse_percentiles(values) -> tuple[Decimal, ...]:
    """Percentiles from numbers or numeric strings, sorted; ValueError saying what is wrong."""
    if not values:
        raise ValueError("give at least one percentile")
    if len(values) > MAX_PERCENTILES:
        raise ValueError(f"at most {MAX_PERCENTILES} percentiles, got {len(values)}")
    parsed = []
    for value in values:
        text = str(value).strip()
        try:
            number = Decimal(text) if not isinstance(value, bool) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise ValueError(f"{quoted(text)} is not a number")
        if not 0 < number < 100:
            raise ValueError(f"{text[:40]} is not between 0 and 100 (both excluded)")
        number = number.normalize()
        if number.as_tuple().exponent < -PERCENTILE_DECIMALS:
            raise ValueError(f"{text[:40]} has more than {PERCENTILE_DECIMALS} decimals")
        if number in parsed:
            raise ValueError(f"{text[:40]} is given twice")
        parsed.append(number)
    return tuple(sorted(parsed))
