"""GET channels/: the channel layer's groups, the same document as ``eventdebug groups --json``."""

from __future__ import annotations

from ..channels.params import ChannelsQuerySerializer, recent_groups_document
from .base import EventDebugView


class ChannelsView(EventDebugView, query=ChannelsQuerySerializer, document=recent_groups_document):
    """The channel layer's groups read from Redis, worst first, with their queues and stale members;
    ``age``: seconds since that reading, which requests share (INSPECT_CACHE_SECONDS)."""
