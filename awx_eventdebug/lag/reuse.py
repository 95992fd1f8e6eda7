"""What the lag of a window reuses instead of reading it again (rollup.py):

- the sum of a window's final minutes, per kind, kept by the process: final minutes never change
  (rollup.py), so the readings of the same minutes (every health reading in the same minute: a
  refreshing dashboard, a check, scrapes of the same node) merge the rollups once. At most
  MAX_SUMS of them: bounded memory.
- within one health reading (``one_reading()``), the minutes not final yet, per kind and
  stretch: the lag summary and the Prometheus counters (histogram.py) read the same open minutes,
  and the second reads them from memory. Only within the reading: events are still stored in
  those minutes, and the next reading computes them anew.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

# (kind, first, last): the sum of the kind's final minutes [first, last), the latest kept last.
_FINAL_SUMS: OrderedDict[tuple[str, datetime, datetime], Any] = OrderedDict()
# Sums kept at most: a few windows (HEALTH_WINDOW's, a dashboard's, a check's --since) of each
# kind, each a histogram of at most a few thousand buckets.
MAX_SUMS = 32
_LOCK = threading.Lock()


def final_sum(kind: str, first: datetime, last: datetime):
    """The sum of ``kind``'s final minutes [first, last) this process kept (None: none kept)."""
    with _LOCK:
        return _FINAL_SUMS.get((kind, first, last))


def keep_final_sum(kind: str, first: datetime, last: datetime, piece) -> None:
    """Keep ``piece``, the sum of ``kind``'s final minutes [first, last) (none: nothing to keep),
    forgetting the oldest past MAX_SUMS. The caller no longer changes it, nor does a reader (it is
    added, never added to)."""
    if first >= last:
        return
    with _LOCK:
        _FINAL_SUMS[kind, first, last] = piece
        _FINAL_SUMS.move_to_end((kind, first, last))
        while len(_FINAL_SUMS) > MAX_SUMS:
            _FINAL_SUMS.popitem(last=False)


def forget() -> None:
    """Forget every sum kept: they were read from another database (the tests', a benchmark's)."""
    with _LOCK:
        _FINAL_SUMS.clear()


# Within one_reading(): {(kind, (since, until)): {minute: piece}} of the open minutes computed.
_OPEN_MINUTES: ContextVar[dict | None] = ContextVar("eventdebug_open_minutes", default=None)


@contextmanager
def one_reading() -> Iterator[None]:
    """Within it, each kind's minutes of a stretch are computed once (see the module's docstring)."""
    token = _OPEN_MINUTES.set({})
    try:
        yield
    finally:
        _OPEN_MINUTES.reset(token)


def computed_minutes(kinds, stretches, minute_of) -> dict[str, dict] | None:
    """The minutes of every kind of ``kinds`` in ``stretches`` computed before in this reading;
    None unless all of them were. A stretch is known when one computed ends where it ends and
    starts where it starts or before, in a whole minute (``minute_of(moment)``: the minute a
    moment is in): the counters' since their origin, within the summary's open minutes."""
    memo = _OPEN_MINUTES.get()
    if memo is None:
        return None
    known: dict[str, dict] = {}
    for kind in kinds:
        known[kind] = {}
        for since, until in stretches:
            first = minute_of(since)
            found = [
                minutes
                for (computed_kind, (start, end)), minutes in memo.items()
                if computed_kind == kind and end == until and (start == since or start <= since == first)
            ]
            if not found:
                return None
            # Copies: a reader may add to a piece (a group by hour adds into its first).
            known[kind].update(
                (minute, dataclasses.replace(piece)) for minute, piece in found[0].items() if minute >= first
            )
    return known


def keep_computed_minutes(computed: dict[str, dict], stretches, minute_of) -> None:
    """Keep, within this reading, each kind's ``computed`` minutes by the stretch they are in
    (``minute_of(moment)``: the minute a moment is in; no two stretches share one)."""
    memo = _OPEN_MINUTES.get()
    if memo is None:
        return
    for kind, minutes in computed.items():
        for since, until in stretches:
            start = minute_of(since)
            memo[kind, (since, until)] = {
                m: dataclasses.replace(p) for m, p in minutes.items() if start <= m < until
            }
