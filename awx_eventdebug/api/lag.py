"""GET <prefix>/lag/: event lag percentiles (lag/), its query string validated by
lag/params.py as ``eventdebug lag``'s options are."""

from __future__ import annotations

from rest_framework.response import Response

from ..lag.params import LagQuerySerializer
from ..lag.query import LagQuery
from ..lag.report import lag_report
from .base import EventDebugView


class LagView(EventDebugView):
    """Event lag (`modified - created`, seconds): count, mean, min, max and percentiles over a
    window, a job, an event type, optionally per event, job, minute or hour."""

    query_serializer_class = LagQuerySerializer

    def get(self, request):
        return Response(lag_report(LagQuery(**self.validated_query())))
