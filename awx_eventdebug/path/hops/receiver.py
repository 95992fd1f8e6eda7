"""Hop 4: the callback receiver BLPOPs the event, buffers it (JOB_EVENT_BUFFER_SECONDS or 1000
events), stamps ``modified`` and bulk-inserts the batch (awx/main/dispatch/worker/callback.py).

Its figure is the event lag ``modified - created`` over the window, cluster-wide: it covers the
hops before it too, which have no figure of their own. So when it is over its threshold, the other
hops' figures say where the time went: waiting in the callback queue (hop 3), in the receiver's
buffer or its inserts (the hops after it, from AWX's own metrics), or else before the queue (on the
execution node, receptor, the controller's runner callback, or an execution node's clock behind the
controller's, which stamps ``created`` early).
"""

from __future__ import annotations

from ...lag.rollup import last_stored_minute
from ...lag.summary import P99_KEY, lag_summary, unmeasurable
from ...sections import attempt
from ...timeutil import MAX_SECONDS, isoformat
from ..causes import BEFORE_QUEUE, BUFFER_HELD, EVENT_TABLE_LOCKED, LAG_UNPLACED, RECEIVER_SHORT, SLOW_INSERTS
from ..hop import IDLE, NOT_APPLICABLE, OK, OVER, UNKNOWN, Diagnosis, Hop, Judgment, Threshold
from .callback import before_queue
from .event_insert import lock_waits


class Receiver(Hop):
    key = "receiver"
    label = "callback receiver"
    what = "buffers, stamps modified and stores the event"
    cluster_read = "lag"
    causes = (BEFORE_QUEUE, LAG_UNPLACED, RECEIVER_SHORT, BUFFER_HELD, SLOW_INSERTS, EVENT_TABLE_LOCKED)
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
        lag = lag_summary(window, detail)
        if not any(stats and stats["count"] for stats in lag["kinds"].values()):
            # Quiet is not healthy: say since when (from the rollups, which the maintenance fills).
            last, error = attempt(last_stored_minute)
            lag["last_stored_minute"] = isoformat(last)
            lag["last_stored_error"] = error
        return lag

    def judge_cluster(self, lag, limits: dict, nodes) -> Judgment:
        most = limits["max_p99"]
        unchecked = [f"lag of {kind} events: {message}" for kind, message in lag["errors"].items()]
        measured = [
            (s["percentiles_seconds"][P99_KEY], kind, s["count"]) for kind, s in lag["kinds"].items() if s
        ]
        measured = [entry for entry in measured if entry[0] is not None]
        if not measured:
            if unchecked:
                return Judgment(UNKNOWN, "; ".join(unchecked), unchecked=unchecked)
            unmeasured = unmeasurable(lag["kinds"].values())
            if unmeasured:  # stored, so not idle; no lag to judge, so neither ok nor over
                return Judgment(UNKNOWN, unmeasured, unchecked=[f"lag: {unmeasured}"])
            last = lag.get("last_stored_minute")
            since = f"the last in the minute of {last}" if last else "none in the lag rollups either"
            if lag.get("last_stored_error"):
                since = f"when the last was could not be read: {lag['last_stored_error']}"
            return Judgment(IDLE, f"no events stored in the window ({since})")
        failures = [
            f"lag p99 of {kind} events is {p99:.3f} s, above the maximum {self.thresholds[0].shown(most)} "
            f"({count} events)"
            for p99, kind, count in measured
            if p99 > most
        ]
        p99, kind, _ = max(measured)
        over = p99 > most
        return Judgment(
            OVER if over else OK,
            f"event lag p99 {p99:.3f} s ({kind} events)",
            p99,
            # Not "callback receiver: ...": the lag covers hops 1-4, and diagnose() says which of them.
            f"event lag p99 of {kind} events is {p99:.1f} s" if over else "",
            failures=failures,
            unchecked=unchecked,
            figures={"max_p99": p99},
        )

    def diagnose(self, judged: Judgment, path: dict[str, Judgment]) -> Diagnosis | None:
        """The event lag placed by the hops it covers: a hop of the receiver over its threshold
        names its own cause; a callback queue within its thresholds clears the queue and the
        receiver, so the time is spent before the queue."""
        queue, buffer, insert = (
            path.get(key) for key in ("callback_queue", "receiver_buffer", "event_insert")
        )
        if lock_waits(insert):
            return Diagnosis(EVENT_TABLE_LOCKED, f"{judged.text}, while {insert.text}")
        for hop in (insert, buffer, queue):
            if hop is not None and hop.verdict == OVER:
                cause = SLOW_INSERTS if hop is insert else BUFFER_HELD if hop is buffer else RECEIVER_SHORT
                return Diagnosis(cause, f"{judged.text}, while {hop.text}")
        if queue is None or queue.verdict != OK:
            unsampled = queue is None or queue.verdict == NOT_APPLICABLE  # no node's snapshot
            why = "no node sampled it" if unsampled else f"{queue.verdict}: {queue.text}"
            return Diagnosis(
                LAG_UNPLACED,
                f"{judged.text}; the callback queue cannot clear the receiver ({why}): the lag may be "
                "spent in the queue, the receiver or before the queue",
                line=f"{judged.line}, in hops 1-4: no snapshot of the callback queue says which",
            )
        cleared = [f"the callback queue keeps up ({queue.text})"]
        cleared += [f"{hop.text}" for hop in (buffer, insert) if hop is not None and hop.verdict == OK]
        clocks = path.get("callback")
        where, first = before_queue(clocks.figure if clocks is not None else None)
        return Diagnosis(
            BEFORE_QUEUE,
            f"{judged.text}, while " + " and ".join(cleared) + ": so the time is spent before the queue"
            f"{where}",
            line=f"events reach the callback queue late{f' from execution node {first}' if first else ''}: "
            f"{judged.text}, while the callback queue keeps up",
        )
