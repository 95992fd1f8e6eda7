"""Windows of time, and the one rule every feature's ``since`` and ``until`` parameters follow.

A window runs from ``since`` (inclusive) to ``until`` (exclusive), and until is later than since.
A statistics window is at most LAG_MAX_WINDOW, which bounds the rows one request can make the
database sort. A window someone asks for that is longer is refused: a 400 naming ``since``, or
exit 2. A default window from settings (LAG_WINDOW, HEALTH_WINDOW) that is longer is cut to
LAG_MAX_WINDOW instead, so that one setting does not refuse every request; the system checks
W010 and W060 report that setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rest_framework import serializers

from .conf import effective_settings, get_config
from .fields import validation_now
from .timeutil import isoformat


@dataclass(frozen=True)
class Window:
    """Events stored, and overflow seen, from ``since`` (inclusive) to ``until`` (exclusive)."""

    since: datetime
    until: datetime

    def as_dict(self) -> dict:
        return {"since": isoformat(self.since), "until": isoformat(self.until)}


class WindowTooLong(ValueError):
    """A window longer than LAG_MAX_WINDOW; the message names the maximum."""


def check_window(since: datetime, until: datetime) -> None:
    """WindowTooLong when the window from ``since`` to ``until`` is longer than LAG_MAX_WINDOW."""
    if _over_max(until - since):
        raise WindowTooLong(
            f"the window is longer than the maximum {effective_settings()['LAG_MAX_WINDOW']} "
            "(EVENTDEBUG['LAG_MAX_WINDOW'])."
        )


def default_since(until: datetime, setting: str) -> datetime:
    """The start of the default window that ends at ``until``: the duration option ``setting``
    before it, at most LAG_MAX_WINDOW."""
    length = get_config()[setting]
    return until - (get_config()["LAG_MAX_WINDOW"] if _over_max(length) else length)


def default_over_max(setting: str) -> bool:
    """Whether the duration option ``setting`` is longer than LAG_MAX_WINDOW (so cut to it)."""
    return _over_max(get_config()[setting])


def _over_max(length: timedelta) -> bool:
    return length > get_config()["LAG_MAX_WINDOW"]


class WindowQuerySerializer(serializers.Serializer):
    """The base of a feature's query serializer over a window: it declares ``since`` and, unless
    its window ends at the moment of validation, ``until`` (MomentFields with its own help
    texts), and ``validate()`` takes them from ``window_bounds()``.

    Without an ``until`` field, ``since`` is checked on its own, so its error comes with those
    of the other fields; with one, the pair is checked once both are valid."""

    # At most LAG_MAX_WINDOW: a subclass whose queries sort no events may say False.
    bounded = True

    def validate_since(self, value):
        if "until" not in self.fields:
            refusal = self._refusal(value, validation_now(self))
            if refusal:
                raise serializers.ValidationError(refusal[1])
        return value

    def window_bounds(self, attrs: dict, default: str | None = None) -> tuple[datetime | None, ...]:
        """``(since, until)`` of the validated ``attrs``. With ``default`` (a duration option)
        a missing until is now and a missing since that long before until (at most
        LAG_MAX_WINDOW); without, a missing end leaves the window open, except the until of a
        serializer without that field, which is now."""
        since, until = attrs.get("since"), attrs.get("until")
        if default or "until" not in self.fields:
            until = until or validation_now(self)
        if default:
            try:
                since = since or default_since(until, default)
            except OverflowError as exc:
                raise serializers.ValidationError({"until": ["out of range."]}) from exc
        if since is not None and until is not None:
            refusal = self._refusal(since, until)
            if refusal:
                raise serializers.ValidationError({refusal[0]: [refusal[1]]})
        return since, until

    def _refusal(self, since: datetime, until: datetime) -> tuple[str, str] | None:
        """(the field to name, why) when the window breaks the rule, else None."""
        if until <= since:
            # The option given is the one to blame: a since in the future with until left to now
            # is the since's fault, not the until nobody typed.
            if "until" in self.fields and self.initial_data.get("until") not in (None, ""):
                return "until", "must be later than since."
            return "since", "must be in the past."
        if self.bounded:
            try:
                check_window(since, until)
            except WindowTooLong as exc:
                return "since", str(exc)
        return None
