"""GET <prefix>/listen/gaps/: why a websocket client (the dashboard's gauge) is missing counters of
a job's events, from the events AWX stored (listen/gaps.py)."""

from __future__ import annotations

from rest_framework.response import Response

from ..listen.gaps import gaps_report
from ..listen.params import GapsQuerySerializer
from .base import EventDebugView


class GapsView(EventDebugView):
    """The causes of a job's missing counters: not sent by AWX (no output, live updates off),
    likely rate-limited by AWX, not stored yet, or lost; only `lost` is a loss."""

    query_serializer_class = GapsQuerySerializer

    def get(self, request):
        return Response(gaps_report(**self.validated_query()))
