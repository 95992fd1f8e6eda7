"""GET <prefix>/lag/: event lag percentiles (lag/), its query string validated by
lag/params.py as ``eventdebug lag``'s options are."""

from __future__ import annotations

from ..lag.params import LagQuerySerializer, lag_document
from .base import EventDebugView


class LagView(EventDebugView, query=LagQuerySerializer, document=lag_document):
    """Event lag (`modified - created`, seconds): count, mean, min, max and percentiles over a
    window, a job, an event type, optionally per event, job, minute or hour."""

    finds_jobs = True
