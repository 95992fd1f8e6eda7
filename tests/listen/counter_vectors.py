"""The counter-gap rule's test vectors (counter_vectors.json, whose "about" says how to read
them), loaded for the two implementations that must pass them: live/stats.py's CounterGaps in
pytest and gauge.js's in the browser test."""

import json
from pathlib import Path

_DOCUMENT = json.loads(Path(__file__).with_name("counter_vectors.json").read_text())
BOUNDS = _DOCUMENT["bounds"]
VECTORS = _DOCUMENT["vectors"]
# What each implementation reports after a step, by the name the two give it.
FIGURES = ("first", "highest", "missing", "gaps", "late", "duplicates")


def counters(seen):
    """The counters of a step's "seen": numbers, [first, last] and [first, last, step] ranges."""
    expanded = []
    for item in seen:
        if isinstance(item, int):
            expanded.append(item)
        else:
            first, last, *step = item
            expanded.extend(range(first, last + 1, *step))
    return expanded


def steps_seen(vector):
    """Each step's counters, expanded."""
    return [counters(step["seen"]) for step in vector["steps"]]


def as_expected(report, expected):
    """A step's report ({figures..., "open": ranges, "retired": ranges}) in the form of its
    expected one: ranges as [first, last] lists, and the retired ones by count and last range
    where the vector gives those instead of the list."""
    report = {name: report[name] for name in FIGURES} | {
        "open": [list(gap) for gap in report["open"]],
        "retired": [list(gap) for gap in report["retired"]],
    }
    if "retired" not in expected:
        retired = report.pop("retired")
        report["retired_count"] = len(retired)
        report["retired_last"] = retired[-1] if retired else None
    return report
