"""Running statistics of a live event stream: lag over a sliding window, and gaps in counters.

Pure Python, no I/O, so the figures can be tested exactly. Every update costs O(1) amortized time
and memory is bounded whatever the stream does, because ``eventdebug listen`` has to keep up with
thousands of messages a second for as long as an admin leaves it running.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

from ..timeutil import isoformat, utc_from_epoch

WINDOW = 1024  # debug.js's buff_max: its figures are over the last 1024 events.
# How far back (in counter numbers) a late message can still fill a gap; older gaps are final.
REORDER_HORIZON = 10_000
# Final gaps kept until their causes are checked (listen/gaps.py); more stay unchecked.
MAX_RETIRED = 10_000
# Runs of counters below the first one seen, kept to tell a late one from a duplicate.
MAX_EARLY_RUNS = 100


@dataclass(frozen=True)
class LagFigures:
    """Average, population standard deviation and maximum of the lags in the window."""

    avg: float
    stdev: float
    max: float
    count: int

    def as_dict(self) -> dict:
        return {
            "avg_seconds": self.avg,
            "stdev_seconds": self.stdev,
            "max_seconds": self.max,
            "count": self.count,
        }


class LagWindow:
    """The last ``size`` lags, with their mean, variance and maximum updated in O(1).

    Mean and sum of squared deviations (M2) follow Welford's update for a sliding window, which
    does not lose precision when the lags are large and close together (a running sum of squares
    would). Rounding errors cannot accumulate: both are recomputed exactly each time the ring
    wraps, which costs O(size) once every ``size`` lags. The maximum uses a monotonic deque.
    """

    def __init__(self, size: int = WINDOW):
        if size < 1:
            raise ValueError("window size must be at least 1")
        self.size = size
        self._ring: list[float] = []
        self._next = 0  # ring index the next lag overwrites once the ring is full
        self._seq = 0  # number of lags ever added
        self._mean = 0.0
        self._m2 = 0.0
        self._maxima: deque[tuple[int, float]] = deque()  # (seq, lag), lags decreasing

    def __len__(self) -> int:
        return len(self._ring)

    def add(self, lag: float) -> None:
        ring = self._ring
        if len(ring) < self.size:
            ring.append(lag)
            delta = lag - self._mean
            self._mean += delta / len(ring)
            self._m2 += delta * (lag - self._mean)
        else:
            oldest = ring[self._next]
            ring[self._next] = lag
            self._next = (self._next + 1) % self.size
            if self._next == 0:
                self._resync()
            else:
                delta = lag - oldest
                old_mean = self._mean
                self._mean = old_mean + delta / self.size
                self._m2 += delta * (lag - self._mean + oldest - old_mean)
        maxima = self._maxima
        while maxima and maxima[-1][1] <= lag:
            maxima.pop()
        maxima.append((self._seq, lag))
        if maxima[0][0] <= self._seq - self.size:
            maxima.popleft()
        self._seq += 1

    def _resync(self) -> None:
        self._mean = math.fsum(self._ring) / len(self._ring)
        self._m2 = math.fsum((x - self._mean) ** 2 for x in self._ring)

    def figures(self) -> LagFigures | None:
        count = len(self._ring)
        if not count:
            return None
        stdev = math.sqrt(max(self._m2, 0.0) / count)
        return LagFigures(self._mean, stdev, self._maxima[0][1], count)


@dataclass(frozen=True)
class Peak:
    """The window's figures at the moment one of them was at its highest (debug.js's MAX rows)."""

    figures: LagFigures
    at: float  # epoch seconds of the event that produced it
    counter: int | None

    def as_dict(self) -> dict:
        return {
            **self.figures.as_dict(),
            "at": isoformat(utc_from_epoch(self.at)),
            "counter": self.counter,
        }


PEAK_NAMES = ("avg", "stdev", "max")


class LagStats:
    """What debug.js shows, and more: the window's figures after every event, their peaks, and
    the count, mean and maximum over the whole run."""

    def __init__(self, size: int = WINDOW):
        self.window = LagWindow(size)
        self.peaks: dict[str, Peak | None] = dict.fromkeys(PEAK_NAMES)
        self.count = 0
        self._total = 0.0
        self.overall_max: float | None = None
        self.last: float | None = None

    def add(self, lag: float, at: float, counter: int | None = None) -> None:
        self.window.add(lag)
        self.count += 1
        self._total += lag
        self.last = lag
        if self.overall_max is None or lag > self.overall_max:
            self.overall_max = lag
        figures = self.window.figures()
        peaks = self.peaks
        for name in PEAK_NAMES:
            peak = peaks[name]
            if peak is None or getattr(figures, name) > getattr(peak.figures, name):
                peaks[name] = Peak(figures, at, counter)

    @property
    def overall_avg(self) -> float | None:
        return self._total / self.count if self.count else None


class CounterGaps:
    """Missing numbers in one job's event counters, which AWX numbers 1, 2, 3... per job.

    The first counter seen is the baseline (a listener usually joins mid-job). A counter above
    the highest so far opens a gap for the numbers in between; a late counter that falls in an
    open gap fills it (``late``); one seen before is a duplicate. A counter below the baseline
    is late too (the receiver's workers send out of order, so a listener that joined before the
    job started sees its first counters after later ones), unless it came before; it opens no
    gap, since numbers before the baseline may have been sent before the listener joined. Gaps
    more than REORDER_HORIZON numbers behind the highest counter are final: they move to
    ``retired`` until the check of their causes takes them (take_retired), so memory stays
    bounded. The dashboard's gauge (gauge.js) counts by this same rule: the test vectors in
    tests/listen/counter_vectors.json hold both to it, so a change here is a change there too.
    """

    def __init__(self, horizon: int = REORDER_HORIZON):
        self.horizon = horizon
        self.first: int | None = None
        self.highest: int | None = None
        self.missing = 0  # numbers skipped and not arrived (yet)
        self.gaps = 0  # runs of consecutive missing numbers
        self.late = 0  # arrived after a higher counter: filling a gap, or below the baseline
        self.duplicates = 0  # seen before, or beyond the horizon (or MAX_EARLY_RUNS) to tell
        self._open: list[list[int]] = []  # [first, last] missing, sorted, within the horizon
        self._early: list[list[int]] = []  # [first, last] received below the baseline, sorted
        self.retired: list[list[int]] = []  # final gaps not yet taken by the check of causes

    def add(self, counter: int) -> None:
        highest = self.highest
        if highest is None:
            self.first = self.highest = counter
            return
        if counter > highest:
            if counter > highest + 1:
                self._open.append([highest + 1, counter - 1])
                self.missing += counter - highest - 1
                self.gaps += 1
            self.highest = counter
            self._forget_old_gaps()
            return
        if counter < self.first:
            self._add_early(counter)
            return
        index = bisect.bisect_right(self._open, counter, key=lambda gap: gap[0]) - 1
        if index < 0 or counter > self._open[index][1]:
            self.duplicates += 1
            return
        gap = self._open[index]
        self.missing -= 1
        self.late += 1
        if gap[0] == gap[1]:
            del self._open[index]
            self.gaps -= 1
        elif counter == gap[0]:
            gap[0] += 1
        elif counter == gap[1]:
            gap[1] -= 1
        else:
            self._open.insert(index + 1, [counter + 1, gap[1]])
            gap[1] = counter - 1
            self.gaps += 1

    def _add_early(self, counter: int) -> None:
        """A counter below the baseline, into the runs received there: late the first time."""
        early = self._early
        index = bisect.bisect_right(early, counter, key=lambda run: run[0]) - 1
        if (index >= 0 and counter <= early[index][1]) or counter < self.highest - self.horizon:
            self.duplicates += 1
            return
        after_left = index >= 0 and early[index][1] == counter - 1
        before_right = index + 1 < len(early) and early[index + 1][0] == counter + 1
        if after_left and before_right:
            early[index][1] = early.pop(index + 1)[1]
        elif after_left:
            early[index][1] = counter
        elif before_right:
            early[index + 1][0] = counter
        elif len(early) < MAX_EARLY_RUNS:
            early.insert(index + 1, [counter, counter])
        else:
            self.duplicates += 1  # too many runs kept to tell
            return
        self.late += 1

    def _forget_old_gaps(self) -> None:
        limit = self.highest - self.horizon
        drop = 0
        while drop < len(self._open) and self._open[drop][1] < limit:
            drop += 1
        if drop:
            self.retired += self._open[: max(min(drop, MAX_RETIRED - len(self.retired)), 0)]
            del self._open[:drop]

    def open_ranges(self) -> list[tuple[int, int]]:
        """The gaps a late counter can still fill, as (first, last) missing."""
        return [(first, last) for first, last in self._open]

    def take_retired(self) -> list[tuple[int, int]]:
        """The final gaps not taken before, as (first, last); they are forgotten here."""
        taken = [(first, last) for first, last in self.retired]
        self.retired = []
        return taken

    def as_dict(self) -> dict:
        return {
            "first": self.first,
            "highest": self.highest,
            "missing": self.missing,
            "gaps": self.gaps,
            "late": self.late,
            "duplicates": self.duplicates,
        }
