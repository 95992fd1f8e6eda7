"""GET <prefix>/listen/gaps/: why a websocket client (the dashboard's gauge) is missing counters of
a job's events, from the events AWX stored (listen/gaps.py)."""

from __future__ import annotations

from ..listen.params import GapsQuerySerializer, gaps_document
from .base import EventDebugView


class GapsView(EventDebugView, query=GapsQuerySerializer, document=gaps_document):
    """The causes of a job's missing counters: not sent by AWX (no output, live updates off),
    likely rate-limited by AWX, not stored yet, or lost; only `lost` is a loss."""
