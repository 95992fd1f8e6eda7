"""One slot of the maintenance thread: the node's snapshot (path/sampler.py), then the upkeep of
the app's tables: the lag rollups of the minutes that became final stored (lag/rollup.py), the
execution nodes' clock estimate once a minute (lag/nodes.py), and one batch of every retention
purge (snapshots, rollups, overflow rows and ingest fingerprints).

Every process of a node runs a slot at the same moments (slots are aligned on the epoch). The one
that writes the node's snapshot does the upkeep; with sampling off, the one holding the node's
lock does. Each purge deletes a bounded batch per slot, oldest first, and skips rows another
node's purge holds, so nodes purging at once never count a row twice; what is left goes in the
next slots.
"""

from __future__ import annotations

from ..conf import get_config
from ..db import bound_session_statements
from ..errors import first_line
from ..lag.nodes import store_clocks
from ..lag.rollup import fill_rollups, purge_rollups
from ..overflow.queries import purge_overflow
from ..path.sampler import WRITTEN, node_lock, purge_snapshots, take_sample

# Slot length when SAMPLE_INTERVAL is 0: no snapshots, the upkeep still runs this often.
UNSAMPLED_SLOT = 60.0


def upkeep() -> dict:
    """Store the final lag rollups and the clock estimate, then run one batch of each retention
    purge. Each task fails on its own (the statement timeout, a missing table) and the next slot
    retries it:
    {"done": {task: its result}, "errors": {task: one line}}."""
    config = get_config()
    tasks = {
        "lag_rollups_left": fill_rollups,
        "clock_estimate_stored": store_clocks,
        "snapshots_purged": lambda: purge_snapshots(config["SAMPLE_RETENTION"]),
        "lag_rollups_purged": lambda: purge_rollups(config["RETENTION"]),
        "overflow_purged": lambda: purge_overflow(config["RETENTION"], max_batches=1)["removed"],
    }
    done, errors = {}, {}
    for name, task in tasks.items():
        try:
            done[name] = task()
        except Exception as exc:  # one task's failure never stops the others
            errors[name] = first_line(exc)
    return {"done": done, "errors": errors}


def run_slot(slot: float, node: str, sample: bool = True) -> dict:
    """One slot of ``slot`` seconds on ``node``: with ``sample``, its snapshot, and the upkeep
    when this process wrote it; without, the upkeep when this process holds the node's lock.
    {"sample": take_sample()'s result or None, "upkeep": upkeep()'s or None (not this process's
    turn)}."""
    bound_session_statements()
    if sample:
        taken = take_sample(slot, node)
        return {"sample": taken, "upkeep": upkeep() if taken["status"] == WRITTEN else None}
    with node_lock(node) as held:
        return {"sample": None, "upkeep": upkeep() if held else None}
