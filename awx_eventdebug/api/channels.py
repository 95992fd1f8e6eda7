"""GET channels/: the channel layer's groups, the same document as ``eventdebug groups --json``."""

from __future__ import annotations

from rest_framework.response import Response

from ..channels.groups import inspect_groups
from ..channels.params import ChannelsQuerySerializer
from .base import EventDebugView


class ChannelsView(EventDebugView):
    """The channel layer's groups read from Redis, worst first, with their queues and stale members."""

    query_serializer_class = ChannelsQuerySerializer

    def get(self, request):
        query = self.validated_query()
        return Response(inspect_groups(pattern=query["pattern"], limit=query["limit"]))
