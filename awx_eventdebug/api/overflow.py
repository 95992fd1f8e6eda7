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


class OverflowListView(EventDebugView):
    """Overflow rows per node, group and minute, newest first, one page at a time."""

    query_serializer_class = OverflowListSerializer

    def get(self, request):
        return Response(overflow_page(self.validated_query()))


class OverflowSummaryView(EventDebugView):
    """Drops per group, most first, with drops per minute and optionally a timeline."""

    query_serializer_class = OverflowSummarySerializer

    def get(self, request):
        return Response(overflow_summary(self.validated_query()))
