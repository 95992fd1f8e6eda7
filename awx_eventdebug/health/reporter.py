"""Which node exports the cluster-wide series of GET metrics/.

Prometheus scrapes every web node of an AWX cluster, and every node reads the same database: the
lag, the drops and every node's snapshot would come once per scraped node, and a ``sum`` over them
would multiply the cluster's figures by the number of web nodes. So one node at a time exports
them: the node holding a lease in the database (MetricsReporter), taken by the first scrape and
renewed by each scrape of its node; after LEASE without a scrape of that node (a node stopped, or
taken out of the scrape), the next scrape of another node takes it over. Every node exports its
own figures (its queues, its build) and ``cluster_reporter`` (1 on the reporting node, 0 on the
others).

The lease also holds ``since``, the origin of the lag histogram's counters (lag/histogram.py):
the same for every process of the node, so a scrape answered by any uwsgi worker reads the same
counters. It moves to the present when it gets older than half of RETENTION (the rollups it sums
would be purged): Prometheus then sees a counter reset, as at a process restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from ..conf import get_config
from ..db import app_tables
from ..lag.rollup import MINUTE, floor_to
from ..models import MetricsReporter

# How long a reporting node keeps the lease without a scrape: above any usual scrape interval.
LEASE = timedelta(minutes=2)
# The one MetricsReporter row.
REPORTER_ROW = 1


@dataclass(frozen=True)
class Reporter:
    """The lease as one scrape of ``node`` found it: ``reporting`` when this node holds it."""

    node: str
    reporting: bool
    since: datetime | None = None  # the counters' origin, for the reporting node


@app_tables
def claim(node: str, now: datetime) -> Reporter:
    """Take or renew the lease for ``node`` at ``now`` unless another node holds one that has not
    expired. A lease with more than half its time left is only read: the row is written about
    once a minute, not at every scrape."""
    held = MetricsReporter.objects.filter(pk=REPORTER_ROW).first()
    if held is not None and held.until > now:
        if held.node != node:
            return Reporter(node, False)
        if held.until - now > LEASE / 2 and not _expired(held.since, now):
            return Reporter(node, True, held.since)
    origin = floor_to(now, MINUTE)
    try:
        with transaction.atomic():
            row = MetricsReporter.objects.select_for_update().filter(pk=REPORTER_ROW).first()
            if row is None:
                row = MetricsReporter.objects.create(
                    pk=REPORTER_ROW, node=node, since=origin, until=now + LEASE
                )
                return Reporter(node, True, row.since)
            if row.node != node and row.until > now:
                return Reporter(node, False)
            if row.node != node or _expired(row.since, now):
                row.since = origin
            row.node, row.until = node, now + LEASE
            row.save()
            return Reporter(node, True, row.since)
    except IntegrityError:  # another node created the row at the same moment: it holds the lease
        return Reporter(node, False)


def _expired(since: datetime, now: datetime) -> bool:
    """Whether the counters' origin is so old that the rollups they sum could be purged."""
    return since < now - get_config()["RETENTION"] / 2
