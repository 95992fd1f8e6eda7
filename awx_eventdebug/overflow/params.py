"""The parameters of the overflow views and commands, validated once for both faces.

GET overflow/ and overflow/summary/ validate their query strings with these serializers, and
``eventdebug overflow`` and ``purge`` their options, so a bad value gets the same message from
both; overflow_page() and overflow_summary() turn a validated query into the document both show.
"""

from __future__ import annotations

from datetime import datetime
from typing import NotRequired, TypedDict

from rest_framework import serializers
from rest_framework.utils.urls import replace_query_param

from ..columns import NAME_MAX_LENGTH, SOURCES
from ..fields import ChoiceField, MomentField, validation_now
from ..timeutil import parse_duration
from ..window import WindowQuerySerializer
from .queries import (
    DEFAULT_GROUP_LIMIT,
    DEFAULT_PAGE_SIZE,
    MAX_GROUP_LIMIT,
    MAX_PAGE_SIZE,
    TIMELINE_TRUNC,
    OverflowFilter,
    list_overflow,
    summarize_overflow,
)

MAX_PAGE = 1_000_000


class OverflowFilterSerializer(WindowQuerySerializer):
    # LAG_MAX_WINDOW bounds the events a lag statistic sorts; overflow rows are coalesced per
    # CAPTURE_WINDOW, and their pages and summaries are limited.
    bounded = False

    group = serializers.CharField(required=False, max_length=NAME_MAX_LENGTH)
    node = serializers.CharField(required=False, max_length=NAME_MAX_LENGTH)
    source = ChoiceField(required=False, choices=[s for s, _ in SOURCES])
    since = MomentField(required=False)
    until = MomentField(required=False)

    def validate(self, attrs):
        self.window_bounds(attrs)
        return attrs


class OverflowListSerializer(OverflowFilterSerializer):
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=MAX_PAGE)
    page_size = serializers.IntegerField(
        required=False, default=DEFAULT_PAGE_SIZE, min_value=1, max_value=MAX_PAGE_SIZE
    )


class OverflowSummarySerializer(OverflowFilterSerializer):
    timeline = ChoiceField(required=False, choices=list(TIMELINE_TRUNC))
    limit = serializers.IntegerField(
        required=False, default=DEFAULT_GROUP_LIMIT, min_value=1, max_value=MAX_GROUP_LIMIT
    )


class AgeField(serializers.Field):
    """A duration such as 30d, meaning "older than that": a timedelta whose cutoff is a time."""

    def to_internal_value(self, data):
        try:
            age = parse_duration(data)
            # The cutoff must exist: 99999999d back from now is before year 1.
            validation_now(self) - age
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        except OverflowError as exc:
            raise serializers.ValidationError("out of range.") from exc
        return age


class PurgeSerializer(serializers.Serializer):
    older_than = AgeField()


class OverflowFilters(TypedDict):
    """The selection asked for; null: not asked."""

    group: str | None
    node: str | None
    source: str | None
    since: datetime | None
    until: datetime | None


class OverflowRow(TypedDict):
    """channels_redis's "over capacity" records of one group on one node in one capture window."""

    node: str
    group: str
    source: str
    window_start: datetime
    first_seen: datetime
    last_seen: datetime
    drops: int
    full_queues: int
    max_group_members: int


class OverflowPage(TypedDict):
    """A page of overflow rows, newest window first, as AWX's lists page."""

    filters: OverflowFilters
    count: int
    next: str | None
    previous: str | None
    results: list[OverflowRow]


class OverflowTotals(TypedDict):
    """Over every row selected."""

    drops: int
    full_queues: int
    rows: int


class TimelinePoint(TypedDict):
    """A group's drops in the minute or hour starting ``at``."""

    at: datetime
    drops: int


class OverflowGroup(TypedDict):
    """A group's drops over the selection (per node too when asked by node)."""

    group: str
    node: NotRequired[str]
    drops: int
    full_queues: int
    first_seen: datetime
    last_seen: datetime
    max_group_members: int
    nodes: int
    drops_per_minute: float
    timeline: NotRequired[list[TimelinePoint]]


class CaptureCounters(TypedDict):
    """A capture handler's counters in the process that answered (each AWX process counts its own)."""

    node: str
    seen_records: int
    parsed_records: int
    ignored_records: int
    bounded_records: int
    written_rows: int
    set_aside_rows: int
    flushes: int
    flush_failures: int
    pending_groups: int
    max_pending_groups: int
    flush_interval_seconds: float
    window_seconds: float
    flusher_running: bool
    last_flush: datetime | None
    last_error: str


class OverflowWindow(TypedDict):
    """Drops per group, most first, and the capture counters."""

    totals: OverflowTotals
    groups_total: int
    groups: list[OverflowGroup]
    capture: list[CaptureCounters]


class OverflowSummary(OverflowWindow):
    """Drops per group over the selection, most first, with drops per minute and a timeline when asked."""

    filters: OverflowFilters
    timeline: str | None
    shown_groups: int


def _selection(query: dict) -> OverflowFilter:
    return OverflowFilter(
        group=query.get("group", ""),
        node=query.get("node", ""),
        source=query.get("source", ""),
        since=query.get("since"),
        until=query.get("until"),
    )


def overflow_page(query: dict, url: str = "") -> OverflowPage:
    """The document of GET overflow/ for a query validated by OverflowListSerializer: ``count``,
    ``next``, ``previous`` and ``results`` as AWX's list endpoints give them (awx/api/pagination.py),
    ``next`` and ``previous`` being ``url`` (the request's path and query string; none for the
    CLI, which gives "?page=N") with the page replaced, or null."""
    page, size = query["page"], query["page_size"]
    doc = list_overflow(_selection(query), page, size)
    return {
        "filters": doc["filters"],
        "count": doc["count"],
        "next": replace_query_param(url, "page", page + 1) if page * size < doc["count"] else None,
        "previous": replace_query_param(url, "page", page - 1) if page > 1 else None,
        "results": doc["results"],
    }


def overflow_summary(query: dict) -> OverflowSummary:
    """The document of GET overflow/summary/ for a query validated by OverflowSummarySerializer."""
    return summarize_overflow(_selection(query), query.get("timeline", ""), query["limit"])
