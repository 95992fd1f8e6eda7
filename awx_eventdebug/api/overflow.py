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
    def get(self, request):
        return Response(overflow_page(self.validated_query(OverflowListSerializer)))


class OverflowSummaryView(EventDebugView):
    def get(self, request):
        return Response(overflow_summary(self.validated_query(OverflowSummarySerializer)))
