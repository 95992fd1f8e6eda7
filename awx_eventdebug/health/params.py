"""The parameters of the report and the check, validated once for both faces (GET report/ and
check/, ``eventdebug report`` and ``check``), and the documents they give."""

from __future__ import annotations

from rest_framework import serializers

from ..fields import FiniteFloatField, MomentField
from ..timeutil import MAX_SECONDS
from ..window import WindowQuerySerializer
from .prometheus import METRIC_NAMES
from .report import Thresholds, health_check, health_report, health_window

# What a count can reach (the drops column is a bigint, Redis's integers are 64-bit): a larger
# threshold is a typo.
MAX_COUNT = 2**63 - 1


class ReportQuerySerializer(WindowQuerySerializer):
    """``since`` -> ``window``, the Window from since to the moment of this validation."""

    since = MomentField(
        required=False,
        help_text="Window start: ISO 8601 or a duration ago (15m). Default: EVENTDEBUG['HEALTH_WINDOW'] ago.",
    )

    def validate(self, attrs):
        since, until = self.window_bounds(attrs)
        return {**attrs, "window": health_window(until, since)}


def threshold(field_class, maximum, help_text: str):
    """An optional threshold of the check, from 0 to ``maximum``."""
    return field_class(required=False, min_value=0, max_value=maximum, help_text=help_text)


class CheckQuerySerializer(ReportQuerySerializer):
    max_p99 = threshold(FiniteFloatField, MAX_SECONDS, "Seconds. Default: EVENTDEBUG['CHECK_MAX_P99'].")
    max_fill = threshold(FiniteFloatField, 100, "Percent. Default: EVENTDEBUG['CHECK_MAX_FILL'].")
    max_drops = threshold(
        serializers.IntegerField, MAX_COUNT, "Drops in the window. Default: EVENTDEBUG['CHECK_MAX_DROPS']."
    )
    max_backlog = threshold(
        serializers.IntegerField,
        MAX_COUNT,
        "Events queued on any node. Default: EVENTDEBUG['CHECK_MAX_BACKLOG'].",
    )
    max_backlog_age = threshold(
        FiniteFloatField,
        MAX_SECONDS,
        "Seconds, oldest queued event on any node. Default: EVENTDEBUG['CHECK_MAX_BACKLOG_AGE'].",
    )
    max_relay_down = threshold(
        serializers.IntegerField,
        MAX_COUNT,
        "wsrelay connections down on any node. Default: EVENTDEBUG['CHECK_MAX_RELAY_DOWN'].",
    )

    THRESHOLDS = ("max_p99", "max_fill", "max_drops", "max_backlog", "max_backlog_age", "max_relay_down")


class MetricsQuerySerializer(serializers.Serializer):
    """``?metric=NAME`` (repeatable), as AWX's /api/v2/metrics/ takes it: only those families."""

    metric = serializers.ListField(
        child=serializers.ChoiceField(choices=METRIC_NAMES),
        required=False,
        help_text="A metric name to export (repeat for more); default: all.",
    )


def report_document(query: dict) -> dict:
    """The document of GET report/ for a query validated by ReportQuerySerializer."""
    return health_report(query["window"])


def check_document(query: dict) -> dict:
    """The document of GET check/ for a query validated by CheckQuerySerializer."""
    thresholds = Thresholds.from_settings(**{k: query.get(k) for k in CheckQuerySerializer.THRESHOLDS})
    return health_check(query["window"], thresholds)
