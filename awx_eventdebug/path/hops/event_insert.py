"""Hop 6: the callback receiver's worker bulk-inserts the batch into the event table of its kind
(``bulk_create``; a batch that fails is saved event by event) and only then sends its websocket
messages (awx/main/dispatch/worker/callback.py). ``modified`` is stamped before the insert, so the
event lag leaves this batch's insert out, but a worker inserting slowly pops nothing meanwhile.

Per node, from AWX's own metrics (path/subsystem_metrics.py) between two samples: the seconds
spent inserting per event stored (``callback_receiver_events_insert_db_seconds`` over
``callback_receiver_events_insert_db``), the events per batch (the ``_sum`` and ``_inf`` of the
``callback_receiver_batch_events_insert_db`` histogram) and the batches that failed
(``callback_receiver_batch_events_errors``). Cluster-wide, on PostgreSQL, the inserts into the
event tables running now (pg_stat_activity: what they wait on, for how long, which sessions block
them): one bounded read-only statement under STATEMENT_TIMEOUT. SQLite has no such view. The
longest of them is judged for the cluster (and shown on every node's row): an insert blocked on a
lock shows nowhere else.
"""

from __future__ import annotations

from django.db import connection

from ...awx.tables import KINDS
from ...db import diagnostic_cursor
from ...timeutil import MAX_SECONDS
from ..causes import EVENT_TABLE_LOCKED, SLOW_INSERTS
from ..hop import (
    NOT_APPLICABLE,
    OK,
    OVER,
    UNKNOWN,
    Diagnosis,
    Hop,
    Judgment,
    NodeContext,
    Threshold,
    worst_of,
)
from ..subsystem_metrics import (
    BATCH_ERRORS,
    BATCHED,
    BATCHES,
    INSERT_SECONDS,
    INSERTED,
    absent_note,
    hmget,
    parse_fields,
    since_previous,
)

FIELDS = (INSERTED, INSERT_SECONDS, BATCH_ERRORS, BATCHED, BATCHES)
# Most running inserts read: a receiver runs JOB_EVENT_WORKERS (4) per control node.
MAX_INSERTS = 100
# An insert into an event table as Django's bulk_create and save() write it, in AWX's database
# only: the server may hold others (pg_stat_activity lists every database's sessions).
INSERT_PATTERN = '^INSERT INTO "(' + "|".join(kind.table for kind in KINDS.values()) + ')"'
RUNNING_INSERTS = f"""
SELECT COALESCE(wait_event_type || ':' || wait_event, 'running'),
       EXTRACT(EPOCH FROM clock_timestamp() - query_start),
       pg_blocking_pids(pid)
FROM pg_stat_activity
WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() AND query ~ %s
LIMIT {MAX_INSERTS}
"""

# A worker flushes its buffer every JOB_EVENT_BUFFER_SECONDS (default 1) or at 1000 events
# of a kind (awx/main/dispatch/worker/callback.py), so a batch holds at most 1000 events,
# which take at most 10 s at CHECK_MAX_INSERT_SECONDS_PER_EVENT's 10 ms. An insert running
# longer is slower than that bound allows any batch, and its worker pops nothing meanwhile. A
# blocked insert shows only here: AWX's counters move when the insert ends, and the receiver's
# other workers keep draining the queue into their own blocked inserts.
INSERT_WAIT = Threshold(
    "max_insert_wait",
    10.0,
    "Seconds the longest insert into the event tables running now has run (PostgreSQL)",
    "Longest running event insert",
    metric_help=(
        "Seconds the longest insert into the event tables running now has run, from "
        "PostgreSQL's pg_stat_activity (every node's receiver)."
    ),
    metric="event_insert_running_seconds",
    figure="insert_wait",
    unit="s",
    maximum=MAX_SECONDS,
    cluster_wide=True,
)


def running_inserts() -> dict:
    """The inserts into the event tables running now: how many, what they wait on, the longest
    running, how many wait on a lock and the sessions blocking them."""
    if connection.vendor != "postgresql":
        return {
            "measured": False,
            "note": f"{connection.display_name} has no pg_stat_activity: waits unmeasurable",
        }
    # The statistics views are a snapshot kept for the transaction: a caller's transaction would
    # read them as of its first read; a transaction of our own starts with a fresh one.
    in_callers_transaction = connection.in_atomic_block or not connection.get_autocommit()
    with diagnostic_cursor() as cursor:
        if in_callers_transaction:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(RUNNING_INSERTS, [INSERT_PATTERN])
        rows = cursor.fetchall()
    waits: dict[str, int] = {}
    for wait, _, _ in rows:
        waits[wait] = waits.get(wait, 0) + 1
    return {
        "measured": True,
        "note": "",
        "running": len(rows),
        "waits": waits,
        "lock_waits": sum(1 for wait, _, _ in rows if wait.startswith("Lock:")),
        "longest_seconds": round(max((float(seconds) for _, seconds, _ in rows), default=0.0), 3),
        "blocking_pids": sorted({pid for _, _, pids in rows for pid in pids or ()})[:10],
    }


def insert_figures(counters: dict, context: NodeContext) -> dict:
    """The inserts between the previous snapshot and this one, from AWX's counters."""
    if all(value is None for value in counters.values()):
        return {"error": "", "present": False, "note": absent_note(), "counters": counters}
    seconds = context.previous_seconds
    grown = {name: since_previous(name, counters, context.previous, seconds) for name in FIELDS}
    inserted, batches = grown[INSERTED], grown[BATCHES]
    return {
        "error": "",
        "present": True,
        "note": "",
        "counters": counters,
        "events_inserted": None if inserted is None else int(inserted),
        "seconds_per_event": round(grown[INSERT_SECONDS] / inserted, 6) if inserted else None,
        "events_per_batch": round(grown[BATCHED] / batches, 1) if batches else None,
        "batch_errors": None if grown[BATCH_ERRORS] is None else int(grown[BATCH_ERRORS]),
    }


def waits_text(inserts: dict | None) -> str:
    """The running inserts in words, for the hop's text."""
    if not inserts:
        return ""
    if not inserts["measured"]:
        return f"; {inserts['note']}"
    if not inserts["running"]:
        return "; no insert into the event tables running now"
    waits = ", ".join(f"{count} {wait}" for wait, count in sorted(inserts["waits"].items()))
    text = (
        f"; {inserts['running']} inserts running now ({waits}), the longest {inserts['longest_seconds']:g} s"
    )
    return text + blocked_by(inserts)


def blocked_by(inserts: dict) -> str:
    pids = inserts["blocking_pids"]
    return f", blocked by pid {', '.join(str(pid) for pid in pids)}" if pids else ""


class EventInsert(Hop):
    key = "event_insert"
    label = "event insert"
    what = "the receiver bulk-inserts the batch into the event table (AWX's metrics, pg_stat_activity)"
    snapshot_key = "insert"
    cluster_read = "inserts"
    causes = (SLOW_INSERTS, EVENT_TABLE_LOCKED)
    thresholds = (
        Threshold(
            "max_insert_seconds_per_event",
            0.01,
            "Seconds the callback receiver spends inserting each event into the database on any node",
            "Insert time per event (worst node)",
            metric_help="Seconds the node's callback receiver spent inserting each event (between samples).",
            metric="event_insert_seconds_per_event",
            figure="insert_seconds_per_event",
            unit="s",
            digits=4,
            maximum=3600,
        ),
        INSERT_WAIT,
    )

    def pipeline(self, pipe, context: NodeContext) -> None:
        hmget(pipe, FIELDS)

    def from_replies(self, replies: list, broker: str, context: NodeContext) -> dict:
        counters = parse_fields(FIELDS, replies, broker)
        return {"error": counters} if isinstance(counters, str) else insert_figures(counters, context)

    def read_cluster(self, window, detail: int) -> dict:
        return running_inserts()

    def judge_node(self, node: str, figures: dict, limits: dict, inserts) -> Judgment:
        if figures.get("error"):
            return Judgment(UNKNOWN, figures["error"])
        if not figures["present"]:
            judged = Judgment(
                NOT_APPLICABLE, figures["note"] + waits_text(inserts), self._figure(figures, inserts)
            )
        else:
            judged = self._judge_counters(node, figures, limits, inserts)
        # The database's inserts now, as every node sees them: the row of each node shows them.
        waited, line = judge_wait(inserts, limits)
        judged.figures[INSERT_WAIT.name] = waited
        if line and judged.verdict != OVER:
            judged.verdict, judged.line = OVER, line
        return judged

    def _judge_counters(self, node: str, figures: dict, limits: dict, inserts) -> Judgment:
        per_event, most = figures["seconds_per_event"], limits["max_insert_seconds_per_event"]
        if per_event is None:
            text = "no events inserted since the previous sample"
        else:
            text = f"{per_event * 1000:.3g} ms per event inserted"
            if figures["events_per_batch"] is not None:
                text += f", {figures['events_per_batch']:g} per batch"
        if figures["batch_errors"]:
            text += f", {figures['batch_errors']} batches failed and were saved event by event"
        text += waits_text(inserts)
        over = per_event is not None and per_event > most
        line = (
            f"callback receiver on {node} spends {per_event * 1000:.3g} ms inserting each event"
            if over
            else ""
        )
        return Judgment(
            OVER if over else OK,
            text,
            self._figure(figures, inserts),
            line,
            failures=[f"{line}, above the maximum {most * 1000:g} ms"] if over else [],
            figures={"max_insert_seconds_per_event": per_event},
        )

    def judge_cluster(self, inserts, limits: dict, nodes) -> Judgment:
        """The worst node, and the inserts running now judged once for the cluster: a blocked
        insert fails the check even when no node is sampled or no node's counters moved."""
        if nodes:
            judged = worst_of(nodes)
        else:
            judged = Judgment(
                NOT_APPLICABLE, "no node sampled" + waits_text(inserts), self._figure({}, inserts)
            )
        waited, line = judge_wait(inserts, limits)
        judged.figures[INSERT_WAIT.name] = waited
        if line:
            judged.failures.append(f"{line}, above the maximum {INSERT_WAIT.shown(limits[INSERT_WAIT.name])}")
            if judged.verdict != OVER:
                judged.verdict, judged.line = OVER, line
        return judged

    @staticmethod
    def _figure(figures: dict, inserts: dict | None) -> dict:
        doc = {key: figures.get(key) for key in ("seconds_per_event", "events_per_batch", "batch_errors")}
        for key in ("lock_waits", "longest_seconds"):
            doc[f"running_inserts_{key}"] = (inserts or {}).get(key)
        return doc

    def diagnose(self, judged: Judgment, path: dict[str, Judgment]) -> Diagnosis | None:
        return Diagnosis(EVENT_TABLE_LOCKED if lock_waits(judged) else SLOW_INSERTS, judged.text)


def judge_wait(inserts: dict | None, limits: dict) -> tuple[float | None, str]:
    """The longest running insert's seconds (None where unmeasured), and the headline when it is
    over its threshold: how long, what it waits on and who blocks it."""
    if not inserts or not inserts["measured"]:
        return None, ""
    waited = inserts["longest_seconds"] if inserts["running"] else 0.0
    if waited <= limits[INSERT_WAIT.name]:
        return waited, ""
    line = f"an insert into the event tables has run {waited:.0f} s"
    if inserts["lock_waits"]:
        line += f", {inserts['lock_waits']} waiting on a lock"
    return waited, line + blocked_by(inserts)


def lock_waits(judged: Judgment | None) -> int:
    """The receiver's inserts waiting on a lock now, as the insert hop's judgment found them."""
    figure = judged.figure if judged is not None and isinstance(judged.figure, dict) else {}
    return figure.get("running_inserts_lock_waits") or 0
