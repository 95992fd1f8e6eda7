"""Hop 4: the callback receiver BLPOPs the event, buffers it (JOB_EVENT_BUFFER_SECONDS or 1000
events), stamps ``modified`` and bulk-inserts the batch (awx/main/dispatch/worker/callback.py).

Its figure is the event lag ``modified - created`` over the window, cluster-wide: it covers the
hops before it too, which have no figure of their own."""

from __future__ import annotations

from ...lag.summary import P99_KEY, lag_summary
from ...timeutil import MAX_SECONDS
from ..hop import OK, OVER, UNKNOWN, Hop, Judgment, Threshold


class Receiver(Hop):
    key = "receiver"
    label = "callback receiver"
    what = "buffers, stamps modified and stores the event"
    cluster_read = "lag"
    thresholds = (
        Threshold(
            "max_p99",
            10.0,
            "Event lag p99 (seconds) of any kind",
            "Lag p99 (worst kind)",
            metric="event_lag_seconds",
            figure="lag_p99",
            unit="s",
            digits=3,
            maximum=MAX_SECONDS,
        ),
    )

    def read_cluster(self, window, detail: int) -> dict:
        return lag_summary(window, detail)

    def judge_cluster(self, lag, limits: dict, nodes) -> Judgment:
        most = limits["max_p99"]
        unchecked = [f"lag of {kind} events: {message}" for kind, message in lag["errors"].items()]
        measured = [
            (s["percentiles_seconds"][P99_KEY], kind, s["count"]) for kind, s in lag["kinds"].items() if s
        ]
        measured = [entry for entry in measured if entry[0] is not None]
        if not measured:
            verdict = UNKNOWN if unchecked else OK
            return Judgment(verdict, "no events stored in the window", unchecked=unchecked)
        failures = [
            f"lag p99 of {kind} events is {p99:.3f} s, above the maximum {most:g} s ({count} events)"
            for p99, kind, count in measured
            if p99 > most
        ]
        p99, kind, _ = max(measured)
        over = p99 > most
        return Judgment(
            OVER if over else OK,
            f"event lag p99 {p99:.3f} s ({kind} events)",
            p99,
            f"callback receiver: event lag p99 of {kind} events is {p99:.1f} s" if over else "",
            failures=failures,
            unchecked=unchecked,
            figures={"max_p99": p99},
        )
