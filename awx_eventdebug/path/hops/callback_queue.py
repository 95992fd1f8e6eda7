"""Hop 3: the callback queue, the Redis list of events waiting for the callback receiver.

AWX's CallbackQueueDispatcher RPUSHes each event's JSON onto settings.CALLBACK_QUEUE at
BROKER_URL; the callback receiver's workers BLPOP from the head (awx/main/queue.py,
awx/main/dispatch/worker/callback.py). So the head is the oldest waiting event, and its
``created`` (stamped by the Ansible callback) says how far behind the receiver is. A sample reads
LLEN and LINDEX 0, never a range; rates come from two consecutive samples of the node.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ...channels.redis_read import is_reply
from ...errors import first_line
from ...timeutil import MAX_SECONDS, isoformat, utc_from_epoch
from ..causes import EVENT_TABLE_LOCKED, RECEIVER_SHORT, RECEIVER_STOPPED, SLOW_INSERTS
from ..hop import OK, OVER, UNKNOWN, Diagnosis, Hop, Judgment, NodeContext, Threshold
from ..node import callback_queue
from .event_insert import lock_waits

# An event bigger than this is not parsed (AWX caps event data near 700 kB; a bigger head is not
# an event CallbackQueueDispatcher wrote).
HEAD_MAX_BYTES = 1024 * 1024


def head_created(raw: bytes) -> tuple[float | None, str]:
    """The head event's ``created`` as epoch seconds, or None and why it could not be read."""
    if len(raw) > HEAD_MAX_BYTES:
        return None, f"the head element is {len(raw)} bytes, over the {HEAD_MAX_BYTES} byte bound: not parsed"
    try:
        event = json.loads(raw)
        created = datetime.fromisoformat(event["created"])
    except (ValueError, TypeError, KeyError) as exc:
        return None, f"the head element is not an event with a created time ({type(exc).__name__})"
    if created.tzinfo is None:  # AWX stamps UTC
        created = created.replace(tzinfo=UTC)
    return created.timestamp(), ""


def backlog_figures(length: int, head: bytes | None, now: float) -> dict:
    """The backlog as LLEN and LINDEX 0 found it at ``now``."""
    created, note = (None, "") if head is None else head_created(head)
    if not length:
        note = "the list does not exist: nothing is waiting for the callback receiver"
    return {
        "length_events": length,
        "head_bytes": None if head is None else len(head),
        "head_created": isoformat(utc_from_epoch(created)) if created is not None else None,
        "head_epoch_seconds": created,
        "oldest_age_seconds": None if created is None else round(max(0.0, now - created), 3),
        "note": note,
    }


def add_rates(current: dict, previous: dict | None, seconds: float | None) -> None:
    """Events/s in and out between the previous sample (``seconds`` before) and this one, and what
    they mean: the time to drain the backlog, or that it grows.

    LLEN's change gives the net rate exactly. Out is estimated from how far the head moved: the
    receiver consumed the events created between the two heads' ``created``, counted at the
    previous backlog's average density (its length over its age); in is out plus the net rate.
    """
    rates = dict.fromkeys(("net_per_second", "in_per_second", "out_per_second", "drain_seconds"))
    rates["growing"] = None
    if previous is not None and seconds:
        before, after = previous["length_events"], current["length_events"]
        net = (after - before) / seconds
        rates["net_per_second"] = round(net, 3)
        rates["growing"] = net > 0
        if net < 0:
            rates["drain_seconds"] = round(after / -net, 1)
        span, age = _head_progress(previous, current)
        if before and after and span is not None:
            out = before * span / age / seconds if age else 0.0
            rates["out_per_second"] = round(out, 3)
            rates["in_per_second"] = round(max(0.0, out + net), 3)
    current.update(rates)


def _head_progress(previous: dict, current: dict) -> tuple[float | None, float | None]:
    """Seconds of event creation consumed between two heads (at most the previous backlog's age),
    and that age; (None, None) when a head was unreadable."""
    start, end, age = (
        previous["head_epoch_seconds"],
        current["head_epoch_seconds"],
        previous["oldest_age_seconds"],
    )
    if start is None or end is None or age is None:
        return None, None
    return min(max(0.0, end - start), age), age


def behind_line(node: str, backlog: dict) -> str:
    """How the headline names a callback receiver that is behind."""
    age = backlog["oldest_age_seconds"]
    head = f"{age:.0f} s behind" if age is not None else "behind"
    line = f"callback receiver on {node} is {head}: {backlog['length_events']:,} events queued"
    if age is not None:
        line += f", oldest {age:.0f} s"
    if backlog.get("growing"):
        line += f", growing by {backlog['net_per_second']:g}/s"
    elif backlog.get("drain_seconds") is not None:
        line += f", drained in about {backlog['drain_seconds']:.0f} s at the current rates"
    return line


# What the path shows of a node's backlog (and what diagnose() reads of it).
FIGURE_KEYS = ("length_events", "oldest_age_seconds", "net_per_second", "out_per_second", "drain_seconds")


class CallbackQueue(Hop):
    key = "callback_queue"
    label = "callback queue"
    what = "RPUSHed to CALLBACK_QUEUE, BLPOPed by the callback receiver"
    snapshot_key = "backlog"
    causes = (RECEIVER_STOPPED, EVENT_TABLE_LOCKED, SLOW_INSERTS, RECEIVER_SHORT)
    thresholds = (
        Threshold(
            "max_backlog",
            10000,
            "Events queued for the callback receiver on any node",
            "Callback backlog (worst node)",
            metric_help="Events waiting for the node's callback receiver.",
            metric="callback_queue_length",
            figure="backlog",
            counts="events",
        ),
        Threshold(
            "max_backlog_age",
            10.0,
            "Age (seconds) of the oldest event queued for the callback receiver on any node",
            "Oldest queued event",
            metric_help=(
                "Age of the oldest event waiting for the node's callback receiver (now - its created)."
            ),
            metric="callback_queue_oldest_age_seconds",
            figure="backlog_age",
            unit="s",
            maximum=MAX_SECONDS,
        ),
    )

    def pipeline(self, pipe, context: NodeContext) -> None:
        queue = callback_queue()
        pipe.llen(queue).lindex(queue, 0)

    def from_replies(self, replies: list, broker: str, context: NodeContext) -> dict:
        length, head = replies
        if not (is_reply(length) and is_reply(head)):
            return {"error": f"{callback_queue()} on redis {broker} is not a list: {first_line(length)}"}
        backlog = {**backlog_figures(length, head, context.now), "error": ""}
        if context.previous is not None and not context.previous.get("error"):
            add_rates(backlog, context.previous, context.previous_seconds)
        else:
            add_rates(backlog, None, None)
        return backlog

    def judge_node(self, node: str, figures: dict, limits: dict, cluster) -> Judgment:
        if figures.get("error"):
            return Judgment(UNKNOWN, figures["error"])
        length, age = figures["length_events"], figures["oldest_age_seconds"]
        most, oldest = limits["max_backlog"], limits["max_backlog_age"]
        length_limit, age_limit = self.thresholds
        text = f"{length:,} queued" + (f", oldest {age:.1f} s" if age is not None else "")
        if figures["note"]:
            text += f" ({figures['note']})"
        over = length > most or (age or 0) > oldest
        line = behind_line(node, figures) if over else ""
        return Judgment(
            OVER if over else OK,
            text,
            {key: figures.get(key) for key in FIGURE_KEYS},
            line,
            failures=[f"{line}, above the maximum {length_limit.shown(most)} or {age_limit.shown(oldest)}"]
            if over
            else [],
            figures={"max_backlog": length, "max_backlog_age": age},
        )

    def diagnose(self, judged: Judgment, path: dict[str, Judgment]) -> Diagnosis | None:
        """The receiver's inserts waiting on a lock; a head that did not move between two samples
        (a receiver that consumes nothing); slow inserts (the insert hop over its threshold); else
        too few workers (inserts within their threshold, or unmeasured)."""
        figure = judged.figure if isinstance(judged.figure, dict) else {}
        insert = path.get("event_insert")
        if lock_waits(insert):
            return Diagnosis(EVENT_TABLE_LOCKED, f"{judged.text}, while {insert.text}")
        if figure.get("out_per_second") == 0:
            return Diagnosis(
                RECEIVER_STOPPED, f"{judged.text}, and its head did not move since the previous sample"
            )
        if insert is not None and insert.verdict == OVER:
            return Diagnosis(SLOW_INSERTS, f"{judged.text}, while {insert.text}")
        out = figure.get("out_per_second")
        evidence = judged.text + (f", consumed at about {out:g}/s" if out else "")
        if insert is not None and insert.verdict == OK:
            evidence += f", while {insert.text}: the database keeps up"
        return Diagnosis(RECEIVER_SHORT, evidence)
