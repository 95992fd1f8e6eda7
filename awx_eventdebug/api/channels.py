"""GET channels/: the channel layer's groups, the same document as ``eventdebug groups --json``."""

from __future__ import annotations

from rest_framework.response import Response

from ..channels.params import ChannelsQuerySerializer
from ..channels.recent import recent_groups
from .base import EventDebugView


class ChannelsView(EventDebugView):
    """The channel layer's groups read from Redis, worst first, with their queues and stale members;
    ``age``: seconds since that reading, which requests share (INSPECT_CACHE_SECONDS)."""

    query_serializer_class = ChannelsQuerySerializer

    def get(self, request):
        query = self.validated_query()
        return Response(recent_groups(query["pattern"], query["limit"]))
