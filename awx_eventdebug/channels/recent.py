"""One recent reading of the channel layer's groups, shared by every dashboard tab and request.

Each open dashboard refreshes its queue table from GET channels/ every 30 s, and a reading of a
large layer costs seconds of Redis reading: tabs and requests asking the same question within
EVENTDEBUG['INSPECT_CACHE_SECONDS'] get the same reading, with its ``age`` in seconds. It lives
in Django's default cache, so it is shared between the processes that share that cache (AWX's
web workers share a Redis cache); a cache that fails is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import datetime

from django.core.cache import cache

from ..conf import get_config
from .config import layer_entry
from .groups import inspect_groups

logger = logging.getLogger(__name__)


def recent_groups(pattern: str, limit: int) -> dict:
    """inspect_groups(pattern=..., limit=...) of the configured layer, read at most
    INSPECT_CACHE_SECONDS ago, with ``age``: seconds since that reading."""
    config = get_config()
    seconds = config["INSPECT_CACHE_SECONDS"]
    # Keyed by the layer's whole configuration too: a changed layer is a different question.
    layer = layer_entry(config["LAYER"])  # Misconfigured (503) when channels could not load it
    query = json.dumps([config["LAYER"], layer, pattern, limit], sort_keys=True, default=str)
    key = "awx_eventdebug:groups:" + hashlib.sha256(query.encode()).hexdigest()
    doc = _cached(key) if seconds else None
    if doc is None:
        doc = inspect_groups(pattern=pattern, limit=limit)
        if seconds:
            _store(key, doc, seconds)
    read_at = datetime.fromisoformat(doc["generated_at"]).timestamp()
    return {**doc, "age": round(max(0.0, time.time() - read_at), 1)}


def _cached(key: str) -> dict | None:
    try:
        return cache.get(key)
    except Exception as exc:  # noqa: BLE001 - any cache backend's failure is only a miss
        logger.debug("awx-eventdebug: cache unavailable (%s); reading the layer", exc)
        return None


def _store(key: str, doc: dict, seconds: float) -> None:
    try:
        cache.set(key, doc, seconds)
    except Exception as exc:  # noqa: BLE001 - any cache backend's failure is only a miss
        logger.debug("awx-eventdebug: cache unavailable (%s); reading not shared", exc)
