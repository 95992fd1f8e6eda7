"""GET overflow/ and overflow/summary/: the ChannelOverflow table (overflow.py)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.response import Response

from ..models import ChannelOverflow
from ..overflow.queries import (
    DEFAULT_GROUP_LIMIT,
    DEFAULT_PAGE_SIZE,
    MAX_GROUP_LIMIT,
    MAX_PAGE_SIZE,
    OverflowFilter,
    list_overflow,
    summarize_overflow,
)
from ..overflow.upsert import GROUP_MAX_LENGTH
from .base import EventDebugView
from .fields import MomentField


class OverflowFilterSerializer(serializers.Serializer):
    group = serializers.CharField(required=False, max_length=GROUP_MAX_LENGTH)
    node = serializers.CharField(required=False, max_length=GROUP_MAX_LENGTH)
    source = serializers.ChoiceField(required=False, choices=[s for s, _ in ChannelOverflow.SOURCES])
    since = MomentField(required=False)
    until = MomentField(required=False)

    def validate(self, attrs):
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": "must be later than since."})
        return attrs


class OverflowListSerializer(OverflowFilterSerializer):
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=1_000_000)
    page_size = serializers.IntegerField(
        required=False, default=DEFAULT_PAGE_SIZE, min_value=1, max_value=MAX_PAGE_SIZE
    )


class OverflowSummarySerializer(OverflowFilterSerializer):
    timeline = serializers.ChoiceField(required=False, choices=["minute", "hour"])
    limit = serializers.IntegerField(
        required=False, default=DEFAULT_GROUP_LIMIT, min_value=1, max_value=MAX_GROUP_LIMIT
    )


def _selection(query: dict) -> OverflowFilter:
    return OverflowFilter(
        group=query.get("group", ""),
        node=query.get("node", ""),
        source=query.get("source", ""),
        since=query.get("since"),
        until=query.get("until"),
    )


def overflow_page(query: dict) -> dict:
    """The document of GET overflow/ for a query validated by OverflowListSerializer."""
    return list_overflow(_selection(query), query["page"], query["page_size"])


def overflow_summary(query: dict) -> dict:
    """The document of GET overflow/summary/ for a query validated by OverflowSummarySerializer."""
    return summarize_overflow(_selection(query), query.get("timeline", ""), query["limit"])


class OverflowListView(EventDebugView):
    """Overflow rows per node, group and minute, newest first, one page at a time."""

    query_serializer_class = OverflowListSerializer

    def get(self, request):
        return Response(overflow_page(self.validated_query(OverflowListSerializer)))


class OverflowSummaryView(EventDebugView):
    """Drops per group, most first, with drops per minute and optionally a timeline."""

    query_serializer_class = OverflowSummarySerializer

    def get(self, request):
        return Response(overflow_summary(self.validated_query(OverflowSummarySerializer)))
