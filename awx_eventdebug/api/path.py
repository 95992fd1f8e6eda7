"""GET path/: the critical path hop by hop on every node, the same document as ``eventdebug path
--json``."""

from __future__ import annotations

from rest_framework.response import Response

from ..health.params import PathQuerySerializer, path_document
from .base import EventDebugView


class PathView(EventDebugView):
    """Every hop for the cluster and per node (latest snapshots), and the first hop over its threshold."""

    query_serializer_class = PathQuerySerializer

    def get(self, request):
        return Response(path_document(self.validated_query()))
