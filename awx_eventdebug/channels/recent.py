"""One recent reading of the channel layer's groups, shared by every dashboard tab and request.

Each open dashboard refreshes its queue table from GET channels/ every 30 s, and a reading of a
large layer costs seconds of Redis reading: tabs and requests asking about the same groups within
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
from .queues import DEFAULT_LIMIT, MAX_LIMIT

logger = logging.getLogger(__name__)


def recent_groups(pattern: str, limit: int) -> dict:
    """inspect_groups(pattern=..., limit=...) of the configured layer, cut from a reading taken
    at most INSPECT_CACHE_SECONDS ago, with ``age``: seconds since that reading.

    Readings are shared per pattern, whatever the limit, so that varying the limit cannot force
    a reading per request: a reading shows DEFAULT_LIMIT groups, or MAX_LIMIT once more are asked
    (their TTLs and join times cost a read per group shown, which the dashboard's usual question
    should not pay), and any limit up to the reading's is cut from it. At most two readings per
    pattern and interval."""
    config = get_config()
    seconds = config["INSPECT_CACHE_SECONDS"]
    layer = layer_entry(config["LAYER"])  # Misconfigured (503) when channels could not load it
    if not seconds:
        doc = inspect_groups(pattern=pattern, limit=limit)
    else:
        # Keyed by the layer's whole configuration too: a changed layer is a different question.
        query = json.dumps([config["LAYER"], layer, pattern], sort_keys=True, default=str)
        key = "awx_eventdebug:groups:" + hashlib.sha256(query.encode()).hexdigest()
        doc = _cached(key)
        if doc is None or doc["limit"] < limit:
            doc = inspect_groups(
                pattern=pattern, limit=DEFAULT_LIMIT if limit <= DEFAULT_LIMIT else MAX_LIMIT
            )
            _store(key, doc, seconds)
    read_at = datetime.fromisoformat(doc["generated_at"]).timestamp()
    return {
        **doc,
        "limit": limit,
        "groups": doc["groups"][:limit],
        "age_seconds": round(max(0.0, time.time() - read_at), 1),
    }


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
