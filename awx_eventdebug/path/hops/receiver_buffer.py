"""Hop 5: the callback receiver's workers hold the events they popped from the callback queue in
memory until they flush a batch (JOB_EVENT_BUFFER_SECONDS, default 1, or 1000 events of a kind),
when they stamp ``modified`` and insert it (awx/main/dispatch/worker/callback.py).

Its figures are AWX's own metrics of the node's receiver (path/subsystem_metrics.py): the events in
memory (``callback_receiver_events_in_memory``: popped, not yet stored) and how much that count
changed since the previous sample, the events popped from Redis and inserted into the database per
second between two samples, and the average ``modified - created`` of the last batch
(``callback_receiver_event_processing_avg_seconds``).

The count is a sum of deltas AWX never resets: a worker's +1 per pop and -n per insert
(awx/main/dispatch/worker/callback.py). Events a worker never stores leave their +1 in it for good,
across restarts: a worker killed with a full buffer, a message that fails to decode after its pop,
an event dropped after its retries. So a count above the threshold is over only while it grows;
one that stays high without growing is most likely such lost events, not a buffer.
"""

from __future__ import annotations

from ..causes import BUFFER_HELD, EVENT_TABLE_LOCKED, RECEIVER_SHORT, SLOW_INSERTS
from ..hop import NOT_APPLICABLE, OK, OVER, UNKNOWN, Diagnosis, Hop, Judgment, NodeContext, Threshold
from ..subsystem_metrics import (
    IN_MEMORY,
    INSERTED,
    POPPED,
    PROCESSING,
    absent_note,
    change,
    hmget,
    parse_fields,
    since_previous,
)
from .event_insert import lock_waits

FIELDS = (IN_MEMORY, POPPED, INSERTED, PROCESSING)


def buffer_figures(counters: dict, context: NodeContext) -> dict:
    """The buffer as AWX's metrics show it, rates against the previous snapshot's counters."""
    if all(value is None for value in counters.values()):
        return {"error": "", "present": False, "note": absent_note(), "counters": counters}
    seconds = context.previous_seconds
    popped = since_previous(POPPED, counters, context.previous, seconds)
    inserted = since_previous(INSERTED, counters, context.previous, seconds)
    grown = change(IN_MEMORY, counters, context.previous, seconds)
    return {
        "error": "",
        "present": True,
        "note": "",
        "counters": counters,
        "events_in_memory": int(counters[IN_MEMORY] or 0),
        # Its change since the previous snapshot (the count itself: popped - inserted would count
        # the EOF message each job ends with, popped and never inserted, as growth).
        "grown_events": grown if grown is None else int(grown),
        "popped_per_second": None if popped is None else round(popped / seconds, 3),
        "inserted_per_second": None if inserted is None else round(inserted / seconds, 3),
        "processing_avg_seconds": counters[PROCESSING],
    }


class ReceiverBuffer(Hop):
    key = "receiver_buffer"
    label = "receiver buffer"
    what = "the receiver's workers hold popped events until they flush a batch (AWX's metrics)"
    snapshot_key = "receiver_buffer"
    causes = (SLOW_INSERTS, EVENT_TABLE_LOCKED, RECEIVER_SHORT, BUFFER_HELD)
    thresholds = (
        Threshold(
            "max_events_in_memory",
            4000,
            "Events the callback receiver's workers hold in memory, popped and not yet stored, on any node",
            "Events in the receiver's memory",
            metric_help="Events the node's callback receiver popped from Redis and has not stored yet.",
            metric="receiver_events_in_memory",
            figure="events_in_memory",
            counts="events",
        ),
    )

    def pipeline(self, pipe, context: NodeContext) -> None:
        hmget(pipe, FIELDS)

    def from_replies(self, replies: list, broker: str, context: NodeContext) -> dict:
        counters = parse_fields(FIELDS, replies, broker)
        return {"error": counters} if isinstance(counters, str) else buffer_figures(counters, context)

    def judge_node(self, node: str, figures: dict, limits: dict, cluster) -> Judgment:
        if figures.get("error"):
            return Judgment(UNKNOWN, figures["error"])
        if not figures["present"]:
            return Judgment(NOT_APPLICABLE, figures["note"])
        held, grown, most = (
            figures["events_in_memory"],
            figures["grown_events"],
            limits["max_events_in_memory"],
        )
        maximum = f"the maximum {self.thresholds[0].shown(most)}"
        text = f"{held:,} events in memory"
        if grown is not None:
            text += f" ({grown:+,} since the previous snapshot)"
        verdict, line = OK, ""
        if held > most and grown is None:
            verdict = UNKNOWN
            text += f", above {maximum}: whether it grows takes a second snapshot"
        elif held > most and grown <= 0:
            text += (
                f", above {maximum} but not growing: likely events a stopped worker lost "
                "(AWX never resets this counter)"
            )
        elif held > most:
            verdict, line = OVER, f"callback receiver on {node} holds {held:,} events in memory"
        popped, inserted = figures["popped_per_second"], figures["inserted_per_second"]
        if popped is not None and inserted is not None:
            text += f"; popped {popped:g}/s, inserted {inserted:g}/s"
        if figures["processing_avg_seconds"] is not None:
            text += f"; the last batch's average lag {figures['processing_avg_seconds']:.3f} s"
        return Judgment(
            verdict,
            text,
            {"events_in_memory": held, "popped_per_second": popped, "inserted_per_second": inserted},
            line,
            failures=[f"{line}, above {maximum} and growing"] if verdict == OVER else [],
            figures={"max_events_in_memory": held},
        )

    def diagnose(self, judged: Judgment, path: dict[str, Judgment]) -> Diagnosis | None:
        """Events held because the inserts wait on a lock or are slow (the insert hop over its
        threshold), because the workers pop more than they insert, or because the buffer is long."""
        insert = path.get("event_insert")
        if lock_waits(insert):
            return Diagnosis(EVENT_TABLE_LOCKED, f"{judged.text}, while {insert.text}")
        if insert is not None and insert.verdict == OVER:
            return Diagnosis(SLOW_INSERTS, f"{judged.text}, while {insert.text}")
        figure = judged.figure if isinstance(judged.figure, dict) else {}
        popped, inserted = figure.get("popped_per_second"), figure.get("inserted_per_second")
        if popped is not None and inserted is not None and popped > inserted:
            return Diagnosis(RECEIVER_SHORT, f"{judged.text}: the workers pop more than they store")
        return Diagnosis(
            BUFFER_HELD, f"{judged.text}: the workers store what they pop, a buffer's worth late"
        )
