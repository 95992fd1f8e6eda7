"""GET path/: the critical path hop by hop on every node, the same document as ``eventdebug path
--json``."""

from __future__ import annotations

from ..health.params import PathQuerySerializer, path_document
from .health import SharedDocumentView


class PathView(SharedDocumentView, query=PathQuerySerializer, document=path_document):
    """Every hop for the cluster and per node (latest snapshots), and the first hop over its threshold."""
