"""Each execution node's clock, estimated from the lag of its jobs' events, with the evidence: the
one estimate doctor, report and check show (docs/lag.md, "Clock skew per execution node").

``created`` is stamped by the callback plugin on the execution node's clock, ``modified`` by the
callback receiver on the control node's (awx/main/dispatch/worker/callback.py): a node whose clock
runs ahead by s shortens every lag of its events by s, one behind lengthens them by s. A true lag
is never negative, and its shortest is the path's fixed cost, alike on every node. So:

- a node whose lowest lag is negative runs ahead by at least that much: proof, not estimate; by
  about its distance below the baseline, the lowest lag of the nodes not ahead by more than the
  tolerance;
- a node whose lowest lag is above the baseline by more than the tolerance either runs
  behind by the difference or its events wait that long before the queue (a slow execution node
  or receptor link). A clock offset shifts every lag alike and keeps their spread (median minus
  lowest) as the other nodes'; a slow path spreads them out too: that tells the two apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from ..conf import get_config
from ..db import app_tables, app_tables_read, try_lock
from ..errors import EventDebugError
from ..models import ClockEstimate
from ..timeutil import isoformat
from ..window import Window, default_since
from .percentiles import percentile_key
from .query import LagQuery
from .recent import recent_since
from .report import lag_report

# Job events: the bulk of every AWX's events, and those of the jobs execution nodes run.
SKEW_KIND = "job"
# A difference smaller than this is no finding: lags are read in seconds, and NTP keeps clocks
# within milliseconds of each other.
SKEW_TOLERANCE_SECONDS = 1.0
# Fewer measured events than this on a node tell nothing about its clock.
MIN_EVENTS = 20
# A node's spread (median minus lowest lag) above this many times the nodes' usual one, plus the
# tolerance, is a slow path rather than a clock behind.
SLOW_SPREAD_FACTOR = 2.0
PERCENTILES = (Decimal(50), Decimal(99))
P50, P99 = (percentile_key(p) for p in PERCENTILES)

IN_SYNC, AHEAD, BEHIND, SLOW_PATH, UNKNOWN = "in_sync", "ahead", "behind", "slow_path", "unknown"
# How an estimate was had: made by this reading, or the one the maintenance upkeep stored.
EXACT, STORED = "exact", "stored"
# The upkeep stores HEALTH_WINDOW's estimate about this often (one process of the cluster at a
# time; a slot that comes a few seconds early still replaces it), and a reading reuses one at
# most twice as old, or two maintenance slots when they are longer (stored_age): the estimate
# costs the database two statements a minute, however many checks and dashboards read it.
STORE_EVERY = timedelta(minutes=1)
STORE_EARLY = timedelta(seconds=5)
# How far ahead of a reader's clock a stored estimate may be: the control nodes' clocks differ
# by that much at most under NTP, and a later estimate holds no event the reading's would not.
AHEAD_OF_READER = timedelta(seconds=5)
STORE_LOCK = "clock_estimate"


def stored_age() -> timedelta:
    """The oldest stored estimate a reading takes: two of STORE_EVERY, or of the maintenance
    thread's slots (SAMPLE_INTERVAL) when they are longer."""
    return 2 * max(STORE_EVERY, timedelta(seconds=get_config()["SAMPLE_INTERVAL"]))


def node_clocks(window) -> dict:
    """The clock estimate of every execution node that ran jobs with events among the latest
    RECENT_EVENTS job events of ``window``: the one the upkeep stored when it read what an
    estimate made now would (stored_clocks), else one made now (estimate_clocks). ``method``
    says which, ``estimated_at`` when it was made. A failed read of the stored one (the app's
    table missing, a lock) is an estimate made now, which says why in ``stored_error``."""
    try:
        stored = stored_clocks(window)
    except EventDebugError as exc:
        return {**estimate_clocks(window), "stored_error": str(exc)}
    return stored if stored is not None else estimate_clocks(window)


def estimate_clocks(window) -> dict:
    """The estimate made now over the latest RECENT_EVENTS job events of ``window`` (lag/recent.py:
    a cost that does not grow with the window's events), from ``events_since``: one statement for
    where they start, one over them (lag/query.py bounds it)."""
    since = recent_since(SKEW_KIND, window.since, window.until)
    report = lag_report(
        LagQuery(
            kind=SKEW_KIND,
            since=since,
            until=window.until,
            by="execution_node",
            percentiles=PERCENTILES,
            worst_by=PERCENTILES[-1],
        )
    )
    return {
        "kind": SKEW_KIND,
        "method": EXACT,
        "estimated_at": isoformat(window.until),
        "events_since": isoformat(since),
        "groups_truncated": report["groups_truncated"],
        **clock_estimates(report["groups"]),
    }


@app_tables_read
def stored_clocks(window) -> dict | None:
    """The estimate the upkeep stored, when it holds the events one made now over ``window`` would
    read: made at most stored_age() before the window's end, and over a window as long (the same
    setting's) or over latest events that all lie in ``window``. None otherwise."""
    row = ClockEstimate.objects.order_by("-until").first()
    if row is None or not -AHEAD_OF_READER <= window.until - row.until <= stored_age():
        return None
    as_long = row.until - row.since == window.until - window.since
    latest_inside = row.events_since > row.since and row.events_since >= window.since
    if not (as_long or latest_inside):
        return None
    return {**row.estimate, "method": STORED}


def store_clocks() -> str | None:
    """The upkeep's task: HEALTH_WINDOW's estimate made now and stored in place of the last one,
    unless that one is younger than STORE_EVERY (less STORE_EARLY) or another process is making
    one. When one was stored, the end of its window (ISO 8601)."""

    def young() -> bool:
        last = _last_stored()
        return last is not None and timezone.now() - last < STORE_EVERY - STORE_EARLY

    if young():
        return None
    with try_lock(STORE_LOCK) as held:
        # Read again under the lock: another node's slot, at the same moment, may have just stored.
        if not held or young():
            return None
        now = timezone.now()
        window = Window(default_since(now, "HEALTH_WINDOW"), now)
        estimate = estimate_clocks(window)
        _replace(window, estimate)
    return estimate["estimated_at"]


@app_tables_read
def _last_stored():
    return ClockEstimate.objects.order_by("-until").values_list("until", flat=True).first()


@app_tables
def _replace(window: Window, estimate: dict) -> None:
    ClockEstimate.objects.all().delete()
    ClockEstimate.objects.create(
        since=window.since,
        until=window.until,
        events_since=datetime.fromisoformat(estimate["events_since"]),
        estimate=estimate,
    )


def clock_estimates(groups: list[dict]) -> dict:
    """The estimate of each node from its lag statistics (lag_report's groups by execution_node):
    the cluster's baseline, each node's verdict, skew and evidence, and one finding per node
    whose clock or path is off."""
    # Events of jobs with no execution node recorded (or deleted since) tell of no node.
    nodes = [group for group in groups if group["key"]]
    measured = [
        g
        for g in nodes
        if g["count"] + g["negative_count"] >= MIN_EVENTS and g["min_lag_seconds"] is not None
    ]
    # The nodes whose lowest lag proves no clock ahead by more than the tolerance: the lowest of
    # theirs is the path's fixed cost as the control nodes' clocks see it.
    not_ahead = [g for g in measured if g["min_lag_seconds"] >= -SKEW_TOLERANCE_SECONDS]
    baseline = min((g["min_lag_seconds"] for g in not_ahead), default=0.0)
    spreads = {g["key"]: _spread(g) for g in not_ahead if g["percentiles_seconds"][P50] is not None}
    estimates = [
        _estimate(g, baseline, [s for node, s in spreads.items() if node != g["key"]]) for g in nodes
    ]
    return {
        "tolerance_seconds": SKEW_TOLERANCE_SECONDS,
        "baseline_min_lag_seconds": baseline if measured else None,
        "nodes": estimates,
        "findings": [
            f"execution node {e['node']}: {e['evidence']}"
            for e in estimates
            if e["verdict"] in (AHEAD, BEHIND, SLOW_PATH)
        ],
    }


def _spread(group: dict) -> float:
    return group["percentiles_seconds"][P50] - group["min_lag_seconds"]


def _estimate(group: dict, baseline: float, other_spreads: list[float]) -> dict:
    """``group``'s verdict against the ``baseline`` lowest lag and the spreads of the other nodes
    that are not ahead."""
    events = group["count"] + group["negative_count"]
    lowest = group["min_lag_seconds"]
    estimate = {
        "node": group["key"],
        "events": events,
        "negative_share": group["negative_share"],
        "min_lag_seconds": lowest,
        "p50_seconds": group["percentiles_seconds"][P50],
        "p99_seconds": group["percentiles_seconds"][P99],
    }
    if events < MIN_EVENTS or lowest is None:
        return estimate | {
            "verdict": UNKNOWN,
            "skew_seconds": None,
            "evidence": f"only {events} measured events; at least {MIN_EVENTS} needed",
        }
    ahead = baseline - lowest
    if lowest < 0 and ahead > SKEW_TOLERANCE_SECONDS:
        return estimate | {
            "verdict": AHEAD,
            "skew_seconds": ahead,
            "evidence": (
                f"clock ahead by about {ahead:.1f} s: {group['negative_count']} of {events} events "
                f"({group['negative_share']:.0%}) stored before they were created, lowest lag "
                f"{lowest:.3f} s (ahead by at least {-lowest:.3f} s) against the nodes' lowest "
                f"{baseline:.3f} s"
            ),
        }
    excess = lowest - baseline
    if excess > SKEW_TOLERANCE_SECONDS:
        shifted = f"lowest lag {lowest:.3f} s, {excess:.1f} s above the nodes' lowest {baseline:.3f} s"
        if estimate["p50_seconds"] is None or not other_spreads:
            return estimate | {
                "verdict": BEHIND,
                "skew_seconds": -excess,
                "evidence": (
                    f"clock behind by about {excess:.1f} s, or its events wait that long before the "
                    f"queue: {shifted}"
                ),
            }
        # The steadiest other node's: another slow node must not make this one look steady.
        spread, usual = _spread(group), min(other_spreads)
        spreads = f"median {spread:.3f} s above its lowest, against {usual:.3f} s on the steadiest other node"
        if spread > SLOW_SPREAD_FACTOR * usual + SKEW_TOLERANCE_SECONDS:
            return estimate | {
                "verdict": SLOW_PATH,
                "skew_seconds": None,
                "evidence": (
                    f"events wait {excess:.1f} s or more before the queue (a slow node or receptor "
                    f"link, not its clock): {shifted}, and spread out ({spreads})"
                ),
            }
        return estimate | {
            "verdict": BEHIND,
            "skew_seconds": -excess,
            "evidence": (
                f"clock behind by about {excess:.1f} s (or every event waits that long before the "
                f"queue): {shifted}, spread as the others' ({spreads})"
            ),
        }
    return estimate | {
        "verdict": IN_SYNC,
        "skew_seconds": ahead,
        "evidence": (
            f"lowest lag {lowest:.3f} s, within {SKEW_TOLERANCE_SECONDS:g} s of the nodes' lowest "
            f"{baseline:.3f} s"
        ),
    }
