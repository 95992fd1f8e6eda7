"""The lag of each kind as Prometheus histogram counters: the events stored since an origin, in
buckets of fixed bounds, counters that only grow, so Prometheus computes any quantile over any
range with ``histogram_quantile`` (health/prometheus.py exports them).

A scrape reads counts, it sorts nothing: the final minutes since the origin come from the
per-minute rollups (rollup.py; their sketch buckets add up), the minutes not final yet from one
grouping statement over their events. A sketch bucket (its lags within 2 sketch.RELATIVE_ERROR of
one another) is counted under the first bound its lower edge does not exceed: a lag equal to a
bound is counted at it, as Prometheus counts ``le``; one up to 2% above a bound may be too.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from ..conf import get_config
from ..errors import Unavailable
from . import sketch
from .rollup import MINUTE, Cover, Piece, compute_kinds, final_end, floor_to

# Upper bounds (seconds) of the exported buckets: from a healthy AWX (well under a second) to one
# minutes behind, with the check's default maximum (10 s) among them.
BOUNDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


@dataclass(frozen=True)
class LagCounters:
    """One kind's events since the origin: cumulative counts per bound of BOUNDS (then +Inf:
    ``count``), and the sum of their lags in seconds."""

    buckets: tuple[int, ...]
    count: int
    total: float


# Per kind: (origin, end of the final minutes summed, their sum). Final minutes never change, so
# each scrape reads only the minutes that became final since this process's last one: the cost
# of a scrape does not grow with the origin's age. One entry per kind: bounded memory.
_FINAL: dict[str, tuple[datetime, datetime, Piece]] = {}
_FINAL_LOCK = threading.Lock()


def lag_counters(kinds, origin: datetime, now: datetime | None = None) -> dict[str, LagCounters]:
    """The counters of each of ``kinds`` over the events stored (``modified``) since ``origin`` (a
    minute's start) until ``now`` (default: now), every kind in the same statements. Final
    minutes missing from the rollups are computed and stored within STATEMENT_TIMEOUT; past it
    the counters are Unavailable, never short (a counter that went down would read as a reset).
    The open minutes are those a lag summary until the same ``now`` computes (reuse.py shares
    them within one health reading)."""
    now = now or timezone.now()
    end = min(floor_to(now, MINUTE), final_end())
    finals = finals_since(list(kinds), origin, end)
    opened = compute_kinds(dict.fromkeys(kinds), [(max(origin, end), now)])
    counters = {}
    for kind in kinds:
        whole = Piece(origin)
        for piece in (finals[kind], *opened[kind].values()):
            whole.add(piece)
        counters[kind] = LagCounters(cumulative(whole.histogram), whole.count, whole.total)
    return counters


def finals_since(kinds: list[str], origin: datetime, end: datetime) -> dict[str, Piece]:
    """The final minutes of each kind in [origin, end) as one Piece: what this process summed
    before, and the rollups of the minutes final since (kinds summed up to the same minute are read
    together)."""
    with _FINAL_LOCK:
        known = {kind: _FINAL.get(kind) for kind in kinds}
    summed = {
        kind: (entry[1], entry[2]) if entry and entry[0] == origin else (origin, Piece(origin))
        for kind, entry in known.items()
    }
    finals = {kind: final for kind, (until, final) in summed.items() if until >= end}
    behind: dict[datetime, list[str]] = {}
    for kind, (until, _) in summed.items():
        if until < end:
            behind.setdefault(until, []).append(kind)
    deadline = time.monotonic() + get_config()["STATEMENT_TIMEOUT"]
    for until, group in behind.items():
        for kind, cover in Cover.read_kinds(group, until, end).items():
            left = cover.fill(deadline)
            if left:
                raise Unavailable(
                    f"the lag rollups since {origin:%Y-%m-%d %H:%M} are being filled: {left} minutes left."
                )
            finals[kind] = Piece(origin)
            for piece in (summed[kind][1], *cover.coarse()):
                finals[kind].add(piece)
    with _FINAL_LOCK:
        _FINAL.update((kind, (origin, end, finals[kind])) for group in behind.values() for kind in group)
    return finals


def cumulative(histogram: dict[int, int]) -> tuple[int, ...]:
    """The count at or below each bound of BOUNDS of a sketch histogram."""
    counts = [0] * len(BOUNDS)
    for index, count in histogram.items():
        lower_edge = sketch.GAMMA**index
        for position, bound in enumerate(BOUNDS):
            if lower_edge <= bound:
                counts[position] += count
                break
    running, out = 0, []
    for count in counts:
        running += count
        out.append(running)
    return tuple(out)
