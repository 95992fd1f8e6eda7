"""GET overflow/ and overflow/summary/: the ChannelOverflow table (overflow/queries.py)."""

from __future__ import annotations

from rest_framework.response import Response

from ..overflow.params import (
    OverflowListSerializer,
    OverflowSummarySerializer,
    overflow_page,
    overflow_summary,
)
from .base import EventDebugView


class OverflowListView(EventDebugView, query=OverflowListSerializer, document=overflow_page):
    """Overflow rows per node, group and minute, newest first, a page at a time as AWX's lists
    are (`count`, `next`, `previous`, `results`)."""

    def get(self, request):
        # The page's links are this request's URL with another page.
        return Response(self.document(self.validated_query(), request.get_full_path()))


class OverflowSummaryView(EventDebugView, query=OverflowSummarySerializer, document=overflow_summary):
    """Drops per group, most first, with drops per minute and optionally a timeline."""
