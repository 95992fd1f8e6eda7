"""GET channels/: the channel layer's groups, the same document as ``eventdebug groups --json``."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.response import Response

from ..channels.groups import inspect_groups
from ..channels.queues import DEFAULT_LIMIT, MAX_LIMIT
from .base import EventDebugView


class ChannelsQuery(serializers.Serializer):
    pattern = serializers.CharField(default="*", max_length=200, help_text="Glob on group names.")
    limit = serializers.IntegerField(
        default=DEFAULT_LIMIT, min_value=1, max_value=MAX_LIMIT, help_text="Groups shown, worst first."
    )


class ChannelsView(EventDebugView):
    """The channel layer's groups read from Redis, worst first, with their queues and stale members."""

    query_serializer_class = ChannelsQuery

    def get(self, request):
        query = self.validated_query()
        return Response(inspect_groups(pattern=query["pattern"], limit=query["limit"]))
