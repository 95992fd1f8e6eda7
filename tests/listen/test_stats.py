import math
import random
import statistics

import pytest

from awx_eventdebug.listen.stats import (
    MAX_EARLY_RUNS,
    MAX_RETIRED,
    REORDER_HORIZON,
    CounterGaps,
    LagStats,
    LagWindow,
)
from tests.listen.counter_vectors import BOUNDS, VECTORS, as_expected, steps_seen


def test_window_keeps_the_last_size_lags():
    window = LagWindow(size=4)
    for lag in [1, 2, 3, 4, 5]:
        window.add(lag)
    figures = window.figures()
    assert (figures.avg, figures.max, figures.count) == (3.5, 5, 4)
    assert figures.stdev == math.sqrt(1.25)  # population deviation, as debug.js


def test_partial_window_figures_are_exact():
    window = LagWindow(size=16)
    assert window.figures() is None
    for lag in [2, 4, 4, 4, 5, 5, 7, 9]:
        window.add(lag)
    figures = window.figures()
    assert (figures.avg, figures.stdev, figures.max, figures.count) == (5.0, 2.0, 9, 8)


def test_maximum_leaves_with_its_event():
    window = LagWindow(size=3)
    for lag in [9, 1, 2, 3]:
        window.add(lag)
    assert window.figures().max == 3


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_sliding_figures_match_a_full_recomputation(offset):
    # Large lags close together (offset) are where a running sum of squares loses precision.
    rng = random.Random(4)
    lags = [offset + rng.expovariate(2.0) for _ in range(5000)]
    window = LagWindow(size=1024)
    for seen, lag in enumerate(lags, 1):
        window.add(lag)
        if seen in (1, 500, 1024, 1025, 2047, 2048, 3333, 5000):
            last = lags[max(0, seen - 1024) : seen]
            figures = window.figures()
            assert figures.count == len(last)
            assert figures.avg == pytest.approx(statistics.fmean(last), rel=1e-12)
            assert figures.stdev == pytest.approx(statistics.pstdev(last), rel=1e-6, abs=1e-9)
            assert figures.max == max(last)


def test_peaks_are_the_windows_at_their_highest():
    stats = LagStats(size=3)
    for counter, lag in enumerate([0, 6, 0, 0, 5, 5, 5], 1):
        stats.add(lag, at=1000.0 + counter, counter=counter)
    assert stats.peaks["avg"].counter == 7
    assert stats.peaks["avg"].figures.avg == 5
    assert stats.peaks["stdev"].counter == 2
    assert (stats.peaks["stdev"].figures.avg, stats.peaks["stdev"].figures.stdev) == (3, 3)
    assert stats.peaks["max"].counter == 2
    assert stats.peaks["max"].as_dict()["at"] == "1970-01-01T00:16:42Z"
    assert (stats.count, stats.overall_avg, stats.overall_max, stats.last) == (7, 3, 6, 5)


def test_counter_gap_bounds_are_those_the_vectors_were_written_for():
    bounds = {
        "REORDER_HORIZON": REORDER_HORIZON,
        "MAX_RETIRED": MAX_RETIRED,
        "MAX_EARLY_RUNS": MAX_EARLY_RUNS,
    }
    assert bounds == BOUNDS


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
def test_counter_gaps_pass_the_vectors_shared_with_the_gauge(vector):
    gaps = CounterGaps(vector["horizon"]) if "horizon" in vector else CounterGaps()
    for step, seen in zip(vector["steps"], steps_seen(vector), strict=True):
        for counter in seen:
            gaps.add(counter)
        report = gaps.as_dict() | {"open": gaps.open_ranges(), "retired": gaps.retired}
        assert as_expected(report, step["expected"]) == step["expected"], step["seen"]


def debug_js(lags):
    """debug.js's figures, ported line by line (buff_calc and saved_max), including its quirk of
    replacing a zero total by 1. Yields [avg, stdev, max] and saved_max after each event."""
    buff, saved_max = [], [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
    for diff in lags:
        buff.append(diff)
        if len(buff) > 1024:
            buff.pop(0)
        total, top = 0, 0
        for value in buff:
            total += value
            top = max(top, value)
        avg = (total or 1) / len(buff)
        total = sum((value - avg) ** 2 for value in buff)
        res = [avg, math.sqrt((total or 1) / len(buff)), top]
        for i in range(3):
            if res[i] > saved_max[i][i]:
                saved_max[i] = res
        yield res, saved_max


def test_reproduces_debug_js_on_whole_second_lags():
    # debug.js rounds both times to whole seconds, so its lags are integers; on those, listen's
    # figures are debug.js's (its zero-total quirk only shows on constant windows, avoided here).
    rng = random.Random(7)
    lags = [rng.choice([0, 1, 1, 2, 3, 5, 8, 13]) for _ in range(3000)]
    lags[:2] = [2, 9]
    stats = LagStats()
    oracle = list(debug_js(lags))
    for seen, (lag, (res, _)) in enumerate(zip(lags, oracle, strict=True), 1):
        stats.add(lag, at=float(seen), counter=seen)
        if seen > 1:
            figures = stats.window.figures()
            assert [figures.avg, figures.stdev, figures.max] == pytest.approx(res, rel=1e-9)
    saved_max = oracle[-1][1]
    for i, name in enumerate(("avg", "stdev", "max")):
        peak = stats.peaks[name].figures
        assert [peak.avg, peak.stdev, peak.max] == pytest.approx(saved_max[i], rel=1e-9)


def test_final_gaps_are_kept_for_the_check_of_their_causes_until_taken():
    gaps = CounterGaps(horizon=10)
    for counter in [1, 5, 30, 33]:
        gaps.add(counter)
    assert gaps.open_ranges() == [(6, 29), (31, 32)]
    assert gaps.take_retired() == [(2, 4)]
    assert gaps.take_retired() == []
    gaps.add(60)
    assert (gaps.open_ranges(), gaps.take_retired()) == ([(34, 59)], [(6, 29), (31, 32)])
