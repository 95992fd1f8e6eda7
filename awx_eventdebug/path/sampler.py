"""Taking snapshots of this node into NodeSnapshot: once per interval per node, whichever of the
node's processes gets there first, and deleting old ones.

AWX runs many long-running processes per node, and each runs the maintenance thread
(maintenance/), which calls take_sample() at every slot. They share the work through the
database: time is cut into slots of SAMPLE_INTERVAL seconds aligned on the epoch; a process
samples a slot only while holding the node's PostgreSQL advisory lock (pg_try_advisory_lock: never
waits) and only when no snapshot of the node is as recent as the slot's start; the unique (node,
slot_start) constraint settles the rest (on SQLite, which has no advisory locks, it alone does).
Its Redis reads wait at most REDIS_TIMEOUT.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import IntegrityError, transaction

from ..conf import get_config
from ..db import app_tables_session, delete_oldest, try_lock
from ..db import lock_key as db_lock_key
from ..overflow.record import node_name
from ..timeutil import isoformat, utc_from_epoch
from .collect import collect

# Old snapshots purge_snapshots() deletes per call at most: a purge never holds many locks.
PURGE_BATCH = 1000
WRITTEN, SKIPPED = "written", "skipped"


def slot_start(now: float, interval: float) -> float:
    """Start, in epoch seconds, of the sampling slot holding ``now``."""
    return (now // interval) * interval


def lock_key(node: str) -> int:
    """The key of the node's sampling lock."""
    return db_lock_key(f"sample:{node}")


def node_lock(node: str):
    """True while this process holds the node's sampling lock, False when another one does."""
    return try_lock(f"sample:{node}")


@app_tables_session
def take_sample(interval: float, node: str | None = None) -> dict:
    """One snapshot of ``node`` (default this one) for the current slot, unless the slot is
    sampled already or being sampled by another process: {"status", "reason", "snapshot"}."""
    from ..models import NodeSnapshot

    node = node or node_name()
    config = get_config()
    started = time.time()
    slot = utc_from_epoch(slot_start(started, interval))
    with node_lock(node) as held:
        if not held:
            return {
                "status": SKIPPED,
                "reason": f"another process of {node} is sampling it",
                "snapshot": None,
            }
        previous = NodeSnapshot.objects.filter(node=node).order_by("-taken_at").first()
        if previous is not None and previous.taken_at >= slot:
            reason = f"{node} was sampled at {isoformat(previous.taken_at)}, in this interval"
            return {"status": SKIPPED, "reason": reason, "snapshot": None}
        seconds = started - previous.taken_at.timestamp() if previous is not None else None
        # Rates are taken against the previous snapshot only when it is recent.
        recent = previous is not None and seconds <= config["SAMPLE_STALE_INTERVALS"] * previous.interval
        data = collect(node, started, previous.data if recent else None, seconds if recent else None)
        try:
            with transaction.atomic():
                NodeSnapshot.objects.create(
                    node=node,
                    slot_start=slot,
                    taken_at=utc_from_epoch(started),
                    interval=interval,
                    seconds=round(time.time() - started, 3),
                    data=data,
                )
        except IntegrityError:  # SQLite: another process wrote this slot meanwhile
            return {"status": SKIPPED, "reason": f"{node} was sampled by another process", "snapshot": None}
    return {"status": WRITTEN, "reason": "", "snapshot": data}


def purge_snapshots(older_than: timedelta, batch_size: int = PURGE_BATCH) -> int:
    """Delete up to ``batch_size`` snapshots older than ``older_than``, of any node, oldest
    first: those of a node that stopped sampling (gone for good) go too."""
    from ..models import NodeSnapshot

    cutoff = utc_from_epoch(time.time()) - older_than
    return delete_oldest(NodeSnapshot.objects.filter(taken_at__lt=cutoff), "taken_at", batch_size)
