"""Queries of the ChannelOverflow table, shared by the REST API and ``eventdebug``, and purge.

Every function returns plain JSON-ready dicts: the API returns them as they are and the command
prints them with --json, so both show the same document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Max, Min, Q, QuerySet, Sum, Value
from django.db.models.functions import Greatest, TruncHour, TruncMinute
from django.utils import timezone

from ..columns import SOURCE_LIVE, SOURCES
from ..conf import OPTIONS, get_config
from ..db import app_tables_read, delete_oldest
from ..models import ChannelOverflow, IngestedRecord, IngestHorizon, OverflowTotal
from ..timeutil import isoformat
from .handler import capture_stats

GLOB_CHARACTERS = "*?"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DEFAULT_GROUP_LIMIT = 50
MAX_GROUP_LIMIT = 1000
# Timeline points per group at most: a day of minutes, or two months of hours.
MAX_TIMELINE_POINTS = 1440
PURGE_BATCH = 5000
# The primary key of the one IngestHorizon row.
INGEST_HORIZON_ROW = 1
TIMELINE_TRUNC = {"minute": TruncMinute, "hour": TruncHour}


@dataclass(frozen=True)
class OverflowFilter:
    """What both views select on; ``group`` is an exact name or a glob (``job_events-*``)."""

    group: str = ""
    node: str = ""
    source: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, rows: QuerySet) -> QuerySet:
        if self.group:
            rows = rows.filter(group_condition(self.group))
        if self.node:
            rows = rows.filter(node=self.node)
        if self.source:
            rows = rows.filter(source=self.source)
        # A row counts a whole window: it is selected when its last record is in range. The
        # window_start bound adds nothing to that but lets the window_start index narrow it.
        if self.since is not None:
            widest = timedelta(seconds=max(3600, get_config()["CAPTURE_WINDOW"]))
            # Near year 1 the bound would fall before the first date there is.
            earliest = max(self.since, datetime.min.replace(tzinfo=UTC) + widest) - widest
            rows = rows.filter(last_seen__gte=self.since, window_start__gte=earliest)
        if self.until is not None:
            rows = rows.filter(window_start__lt=self.until)
        return rows

    def as_dict(self) -> dict:
        return {
            "group": self.group or None,
            "node": self.node or None,
            "source": self.source or None,
            "since": isoformat(self.since),
            "until": isoformat(self.until),
        }


def group_condition(pattern: str) -> Q:
    """Exact name; ``prefix*`` as an indexable prefix match; other globs (``*`` any text, ``?``
    one character) as an anchored regex both PostgreSQL and Python read alike."""
    if not any(c in pattern for c in GLOB_CHARACTERS):
        return Q(group=pattern)
    head, star, tail = pattern.partition("*")
    if star and not tail and "?" not in head:
        return Q(group__startswith=head)
    wildcard = {"*": ".*", "?": "."}
    regex = "".join(wildcard.get(c) or re.escape(c) for c in pattern)
    return Q(group__regex=f"^{regex}$")


def row_dict(row: ChannelOverflow) -> dict:
    return {
        "node": row.node,
        "group": row.group,
        "source": row.source,
        "window_start": isoformat(row.window_start),
        "first_seen": isoformat(row.first_seen),
        "last_seen": isoformat(row.last_seen),
        "drops": row.drops,
        "full_queues": row.queues_over,
        "max_group_members": row.max_group_size,
    }


@app_tables_read
def list_overflow(selection: OverflowFilter, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE) -> dict:
    """One page of rows, newest window first."""
    rows = selection.apply(ChannelOverflow.objects.all())
    count = rows.count()
    offset = (page - 1) * page_size
    ordered = rows.order_by("-window_start", "group", "node", "source")[offset : offset + page_size]
    return {"filters": selection.as_dict(), "count": count, "results": [row_dict(row) for row in ordered]}


@app_tables_read
def summarize_overflow(
    selection: OverflowFilter, timeline: str = "", limit: int = DEFAULT_GROUP_LIMIT, by_node: bool = False
) -> dict:
    """Per group (with ``by_node``: per group and node), most drops first: totals, first and
    last seen, the largest group, drops per minute over the time the group was seen overflowing
    (at least one minute), and with ``timeline`` ("minute" or "hour") the drops per bucket."""
    rows = selection.apply(ChannelOverflow.objects.all())
    keys = ("group", "node") if by_node else ("group",)
    per_group = (
        rows.values(*keys)
        .annotate(
            drops=Sum("drops"),
            full_queues=Sum("queues_over"),
            first_seen=Min("first_seen"),
            last_seen=Max("last_seen"),
            max_group_members=Max("max_group_size"),
            nodes=Count("node", distinct=True),
        )
        .order_by("-drops", *keys)
    )
    total_groups = per_group.count()
    groups = []
    for entry in per_group[:limit]:
        minutes = max(1.0, (entry["last_seen"] - entry["first_seen"]).total_seconds() / 60)
        groups.append(
            {
                "group": entry["group"],
                **({"node": entry["node"]} if by_node else {}),
                "drops": entry["drops"],
                "full_queues": entry["full_queues"],
                "first_seen": isoformat(entry["first_seen"]),
                "last_seen": isoformat(entry["last_seen"]),
                "max_group_members": entry["max_group_members"],
                "nodes": entry["nodes"],
                "drops_per_minute": round(entry["drops"] / minutes, 3),
            }
        )
    if timeline and groups and not by_node:
        points = _timeline(rows, [g["group"] for g in groups], timeline)
        for group in groups:
            group["timeline"] = points.get(group["group"], [])
    totals = rows.aggregate(drops=Sum("drops"), full_queues=Sum("queues_over"), rows=Count("id"))
    return {
        "filters": selection.as_dict(),
        "timeline": timeline or None,
        "groups_total": total_groups,
        "shown_groups": len(groups),
        "totals": {name: value or 0 for name, value in totals.items()},
        "groups": groups,
        # This process's capture counters (the API's: each AWX process counts its own records).
        "capture": capture_stats(),
    }


def _timeline(rows: QuerySet, groups: list[str], unit: str) -> dict[str, list[dict]]:
    trunc = TIMELINE_TRUNC[unit]
    buckets = (
        rows.filter(group__in=groups)
        .annotate(at=trunc("window_start"))
        .values("group", "at")
        .annotate(drops=Sum("drops"))
        .order_by("group", "-at")
    )
    points: dict[str, list[dict]] = {}
    for bucket in buckets:
        series = points.setdefault(bucket["group"], [])
        if len(series) < MAX_TIMELINE_POINTS:  # the most recent points of a long range
            series.append({"at": isoformat(bucket["at"]), "drops": bucket["drops"]})
    for series in points.values():
        series.reverse()
    return points


@app_tables_read
def cumulative_drops(source: str = SOURCE_LIVE) -> dict[tuple[str, str], int]:
    """{(node, group kind): drops} ever recorded from ``source``, rows purged or not: the totals
    the writers keep (OverflowTotal), a few rows whatever the table holds, read on every scrape.
    GET metrics/ counts the live ones only: an import of old logs (`eventdebug ingest`) is no new
    drop."""
    totals = OverflowTotal.objects.filter(source=source).values_list("node", "group_kind", "drops")
    return {(node, kind): drops for node, kind, drops in totals}


@app_tables_read
def table_totals() -> dict:
    """What every process on every node recorded, rows purged or not, by source, and when the
    latest record was: from the totals and the newest rows, so that the doctor can show it beside
    one process's counters at the same cost whatever the table holds."""
    by_source = {source: 0 for source, _ in SOURCES}
    nodes = set()
    for node, source, drops in OverflowTotal.objects.values_list("node", "source", "drops"):
        by_source[source] += drops
        nodes.add(node)
    newest = ChannelOverflow.objects.order_by("-window_start").values_list("window_start", flat=True).first()
    last_seen = None
    if newest is not None:
        # A row counts records of its window, CAPTURE_WINDOW long (an hour at most, whatever it
        # was when the row was written): the latest record is in a row of the last hour's windows.
        longest = timedelta(seconds=OPTIONS["CAPTURE_WINDOW"].maximum)
        latest = ChannelOverflow.objects.filter(window_start__gt=newest - longest)
        last_seen = latest.aggregate(last=Max("last_seen"))["last"]
    return {
        "drops": sum(by_source.values()),
        "drops_by_source": by_source,
        "nodes": len(nodes),
        "last_seen": isoformat(last_seen),
    }


def advance_ingest_horizon(fingerprints: QuerySet) -> None:
    """Move IngestHorizon up to the newest record time of ``fingerprints`` (about to be deleted,
    locked by the caller), in the caller's transaction: ingest must see the new horizon no later
    than the fingerprints gone."""
    newest = fingerprints.aggregate(newest=Max("logged_at"))["newest"]
    horizon, created = IngestHorizon.objects.select_for_update().get_or_create(
        pk=INGEST_HORIZON_ROW, defaults={"purged_through": newest}
    )
    if not created:
        IngestHorizon.objects.filter(pk=horizon.pk).update(
            purged_through=Greatest("purged_through", Value(newest))
        )


def purge_overflow(
    older_than: timedelta,
    dry_run: bool = False,
    batch_size: int = PURGE_BATCH,
    max_batches: int | None = None,
) -> dict:
    """Delete rows and ingest fingerprints older than ``older_than``, ``batch_size`` at a time,
    each batch its own transaction (delete_oldest), so no statement or transaction holds locks on
    many rows, and at most ``max_batches`` batches of each (None: until none is left); with
    ``dry_run`` only count them and the batches a purge would run. Deleted rows' drops stay
    counted in OverflowTotal, which their writers added them to."""
    cutoff = timezone.now() - older_than
    # What each kind of row leaves behind when deleted: the ingest horizon.
    targets = (
        ("overflow_rows", ChannelOverflow.objects.filter(window_start__lt=cutoff), "window_start", None),
        (
            "ingest_fingerprints",
            IngestedRecord.objects.filter(logged_at__lt=cutoff),
            "logged_at",
            advance_ingest_horizon,
        ),
    )
    removed = {}
    batches = 0
    for name, rows, age_field, before_delete in targets:
        if dry_run:
            removed[name] = count_rows(rows)
            batches += -(-removed[name] // batch_size)
            continue
        removed[name] = 0
        ran = 0
        while max_batches is None or ran < max_batches:
            deleted = delete_oldest(rows, age_field, batch_size, before_delete)
            if not deleted:
                break
            removed[name] += deleted
            ran += 1
        batches += ran
    return {
        "cutoff": isoformat(cutoff),
        "older_than_seconds": older_than.total_seconds(),
        "dry_run": dry_run,
        "batches": batches,
        "removed": removed,
    }


@app_tables_read
def count_rows(rows: QuerySet) -> int:
    return rows.count()
