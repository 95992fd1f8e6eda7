"""The parameters of the report and the check, validated once for both faces (GET report/ and
check/, ``eventdebug report`` and ``check``), and the documents they give."""

from __future__ import annotations

from rest_framework import serializers

from ..fields import MomentField, validation_now
from ..lag.window import WindowTooLong, check_window
from ..timeutil import MAX_SECONDS
from .report import Thresholds, health_check, health_report, health_window

# What the drops column can hold (bigint): a larger threshold is a typo.
MAX_DROPS = 2**63 - 1


class ReportQuerySerializer(serializers.Serializer):
    """``since`` -> ``window``, the Window from since to the moment of this validation."""

    since = MomentField(
        required=False,
        help_text="Window start: ISO 8601 or a duration ago (15m). Default: EVENTDEBUG['HEALTH_WINDOW'] ago.",
    )

    def validate_since(self, value):
        now = validation_now(self)
        if value >= now:
            raise serializers.ValidationError("must be in the past.")
        try:
            check_window(value, now)
        except WindowTooLong as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate(self, attrs):
        return {**attrs, "window": health_window(validation_now(self), attrs.get("since"))}


class CheckQuerySerializer(ReportQuerySerializer):
    max_p99 = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=MAX_SECONDS,
        help_text="Seconds. Default: EVENTDEBUG['CHECK_MAX_P99'].",
    )
    max_fill = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=100,
        help_text="Percent. Default: EVENTDEBUG['CHECK_MAX_FILL'].",
    )
    max_drops = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_DROPS,
        help_text="Drops in the window. Default: EVENTDEBUG['CHECK_MAX_DROPS'].",
    )


def report_document(query: dict) -> dict:
    """The document of GET report/ for a query validated by ReportQuerySerializer."""
    return health_report(query["window"])


def check_document(query: dict) -> dict:
    """The document of GET check/ for a query validated by CheckQuerySerializer."""
    thresholds = Thresholds.from_settings(**{k: query.get(k) for k in ("max_p99", "max_fill", "max_drops")})
    return health_check(query["window"], thresholds)
