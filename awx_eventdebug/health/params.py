"""The parameters of the report, the check and the path, validated once for both faces (GET
report/, check/ and path/, ``eventdebug report``, ``check`` and ``path``), and the documents
they give: each a view of one HealthSnapshot."""

from __future__ import annotations

from rest_framework import serializers

from ..fields import ChoiceField, FiniteFloatField, MomentField
from ..path.registry import thresholds
from ..window import WindowQuerySerializer
from .prometheus import metric_names
from .report import WORST_DETAIL, health_window
from .snapshot import HealthSnapshot


class ReportQuerySerializer(WindowQuerySerializer):
    """``since`` -> ``window``, the Window from since to the moment of this validation."""

    since = MomentField(
        required=False,
        help_text="Window start: ISO 8601 or a duration ago (15m). Default: EVENTDEBUG['HEALTH_WINDOW'] ago.",
    )

    def validate(self, attrs):
        since, until = self.window_bounds(attrs)
        return {**attrs, "window": health_window(until, since)}


class PathQuerySerializer(ReportQuerySerializer):
    """``since``: start of the window of the cluster-wide figures (event lag, overflow drops)."""


def threshold_field(threshold):
    """The query parameter of a threshold of the check: optional, from 0 to its maximum."""
    field_class = serializers.IntegerField if threshold.is_count else FiniteFloatField
    return field_class(
        required=False,
        min_value=0,
        max_value=threshold.maximum,
        help_text=f"{threshold.help}. Default: EVENTDEBUG['{threshold.setting}'].",
    )


class CheckQuerySerializer(ReportQuerySerializer):
    """``since`` and each threshold of the hops (path/registry.py), by its name."""

    def get_fields(self):
        return {**super().get_fields(), **{t.name: threshold_field(t) for t in thresholds()}}


class MetricsQuerySerializer(serializers.Serializer):
    """``?metric=NAME`` (repeatable), as AWX's /api/v2/metrics/ takes it: only those families."""

    def get_fields(self):
        metric = serializers.ListField(
            child=ChoiceField(choices=metric_names()),
            required=False,
            help_text="A metric name to export (repeat for more); default: all.",
        )
        return {"metric": metric}


def report_document(query: dict) -> dict:
    """The document of GET report/ for a query validated by ReportQuerySerializer."""
    return HealthSnapshot(query["window"], detail=WORST_DETAIL).report()


def check_document(query: dict) -> dict:
    """The document of GET check/ for a query validated by CheckQuerySerializer."""
    given = {t.name: query.get(t.name) for t in thresholds()}
    return HealthSnapshot(query["window"], **given).check()


def path_document(query: dict) -> dict:
    """The document of GET path/ for a query validated by ReportQuerySerializer."""
    return HealthSnapshot(query["window"]).path()
