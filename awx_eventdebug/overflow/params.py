"""The parameters of the overflow views and commands, validated once for both faces.

GET overflow/ and overflow/summary/ validate their query strings with these serializers, and
``eventdebug overflow`` and ``purge`` their options, so a bad value gets the same message from
both; overflow_page() and overflow_summary() turn a validated query into the document both show.
"""

from __future__ import annotations

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


def _selection(query: dict) -> OverflowFilter:
    return OverflowFilter(
        group=query.get("group", ""),
        node=query.get("node", ""),
        source=query.get("source", ""),
        since=query.get("since"),
        until=query.get("until"),
    )


def overflow_page(query: dict, url: str = "") -> dict:
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


def overflow_summary(query: dict) -> dict:
    """The document of GET overflow/summary/ for a query validated by OverflowSummarySerializer."""
    return summarize_overflow(_selection(query), query.get("timeline", ""), query["limit"])
