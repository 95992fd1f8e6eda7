"""Durations ("90s", "15m", "2h", "7d") and points in time (ISO 8601 or a duration ago)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .errors import quoted

# The longest interval, timeout or duration an option takes: beyond it a value is a typo, and
# time.sleep() and socket timeouts overflow not far above.
MAX_SECONDS = 365 * 86400

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """Parse "90s", "15m", "2h" or "7d" into a positive timedelta; ValueError otherwise."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{quoted(text)} is not a duration such as 90s, 15m, 2h or 7d")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{quoted(text)} must be longer than zero")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{quoted(text)} is too long") from None


def format_duration(seconds: float) -> str:
    """The largest whole unit parse_duration reads back: 900 -> "15m", 5400 -> "90m"."""
    for unit in ("d", "h", "m"):
        if seconds >= _UNIT_SECONDS[unit] and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]:.0f}{unit}"
    return f"{seconds:g}s"


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """Parse an ISO 8601 time (naive means UTC) or a duration meaning that long before now."""
    text = text.strip()
    if _DURATION.match(text):
        return (now or timezone.now()) - parse_duration(text)
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise ValueError(f"{quoted(text)} is neither an ISO 8601 time nor a duration such as 15m")
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


def utc_from_epoch(seconds: float) -> datetime:
    """Epoch seconds (time.time()) as an aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def isoformat(moment: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z suffix, as the JSON output of every endpoint uses."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
