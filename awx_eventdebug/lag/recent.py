"""The start of a window's latest events of a kind: the figures read per job or per execution node
(the worst jobs, the clock estimate), which the per-kind rollups do not hold, are read exactly over
the latest RECENT_EVENTS events of the window, so that a health reading costs the same however
many events its window holds."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from ..awx.jobs import aware
from ..awx.tables import KINDS
from ..db import diagnostic_cursor

# Events a per-job or per-node reading reads at most: enough for a node's clock (lag/nodes.py
# wants 20 a node) and a job's p99, a few milliseconds of sorting.
RECENT_EVENTS = 5_000


def recent_since(kind: str, since: datetime, until: datetime) -> datetime:
    """Where the latest RECENT_EVENTS events of ``kind`` stored in [since, until) start: the
    ``modified`` of the RECENT_EVENTS-th latest, read backwards on the ``modified`` index; ``since``
    when the window holds fewer. AWX's legacy unpartitioned table (lag/sources.py) holds only
    events older than any of its partitioned table, and no index on ``modified``: not read."""
    adapt = connection.ops.adapt_datetimefield_value
    with diagnostic_cursor("Ask for a shorter window.", event_tables=True) as cursor:
        cursor.execute(
            f"SELECT modified FROM {KINDS[kind].table} WHERE modified >= %s AND modified < %s "
            "ORDER BY modified DESC LIMIT 1 OFFSET %s",
            [adapt(since), adapt(until), RECENT_EVENTS - 1],
        )
        row = cursor.fetchone()
    if row is None:
        return since
    latest = row[0]
    return aware(datetime.fromisoformat(latest) if isinstance(latest, str) else latest)
