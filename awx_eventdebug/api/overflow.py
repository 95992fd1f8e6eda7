"""GET overflow/ and overflow/summary/: the ChannelOverflow table (overflow/queries.py)."""

from __future__ import annotations

from ..overflow.params import (
    OverflowListSerializer,
    OverflowSummarySerializer,
    overflow_page,
    overflow_summary,
)
from .base import EventDebugView


class OverflowListView(EventDebugView, query=OverflowListSerializer, document=overflow_page):
    """Overflow rows per node, group and minute, newest first, one page at a time."""


class OverflowSummaryView(EventDebugView, query=OverflowSummarySerializer, document=overflow_summary):
    """Drops per group, most first, with drops per minute and optionally a timeline."""
