"""The one rule on a window's length: no statistics over more than LAG_MAX_WINDOW, which bounds
the rows one request can make the database sort.

A window someone asks for (since/until of GET lag/, report/ and check/, and of their commands)
that is longer is refused: a 400 naming ``since``, or exit 2. A default window from settings
(LAG_WINDOW, HEALTH_WINDOW) that is longer is cut to LAG_MAX_WINDOW instead, so that one setting
does not refuse every request; the system checks W010 and W060 report that setting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..conf import effective_settings, get_config


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
