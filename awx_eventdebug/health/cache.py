"""Health readings shared by the requests of one web process for HEALTH_CACHE seconds.

Behind a load balancer Prometheus scrapes every web node, dashboards refresh themselves and
monitoring polls GET check/: each would otherwise read the database anew for the same figures.
A reading is kept per key (the view and the query parameters that change it) for HEALTH_CACHE
seconds; requests for a key being computed wait for that computation instead of starting their
own (they hold no database connection meanwhile), so N concurrent scrapes cost one reading. The
cache is bounded (MAX_READINGS keys, the oldest dropped first), and a reading made under other
settings is never served. Commands do not use it: each is a process of its own.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from ..conf import get_config

# Distinct queries kept at once: a view per query string, far more than a dashboard and a scraper
# ask for, and few enough that the readings' memory stays bounded.
MAX_READINGS = 32


@dataclass(frozen=True)
class _Reading:
    expires: float
    # The settings it was made under: get_config() gives a new dict when they change.
    config: dict
    value: Any


class SharedReadings:
    """compute() once per ``period`` seconds per key, thread-safe, at most ``size`` keys."""

    def __init__(self, size: int, clock: Callable[[], float] = time.monotonic):
        self.size = size
        self.clock = clock
        self._lock = threading.Lock()
        self._readings: OrderedDict[Hashable, _Reading] = OrderedDict()
        # One lock per key being computed: its waiters, and only they, wait for it.
        self._computing: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], Any], period: float) -> Any:
        if period <= 0:
            return compute()
        with self._lock:
            reading = self._fresh(key)
            if reading is not None:
                return reading.value
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:
            with self._lock:
                reading = self._fresh(key)  # computed while this request waited
            if reading is not None:
                return reading.value
            config = get_config()
            computed = False
            try:
                value = compute()
                computed = True
            finally:
                # The reading is kept before the key's lock is forgotten, under one hold of the
                # lock: a request arriving in between would find neither and compute again.
                with self._lock:
                    if computed:
                        self._readings[key] = _Reading(self.clock() + period, config, value)
                        self._readings.move_to_end(key)
                        while len(self._readings) > self.size:
                            self._readings.popitem(last=False)
                    if self._computing.get(key) is computing:
                        del self._computing[key]
            return value

    def _fresh(self, key: Hashable) -> _Reading | None:
        reading = self._readings.get(key)
        if reading is None or reading.expires <= self.clock() or reading.config is not get_config():
            return None
        return reading

    def clear(self) -> None:
        with self._lock:
            self._readings.clear()


READINGS = SharedReadings(MAX_READINGS)


def shared_reading(key: Hashable, compute: Callable[[], Any]) -> Any:
    """What compute() gives, computed at most once per HEALTH_CACHE seconds for ``key`` in this
    process (0: on every call)."""
    return READINGS.get(key, compute, get_config()["HEALTH_CACHE"])
