"""GET report/, check/ and metrics/: the health of the critical path (health.py), the same
documents as ``eventdebug report --json`` and ``eventdebug check --json``, and Prometheus text."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from ..conf import get_config
from ..health.prometheus import CONTENT_TYPE, render_metrics
from ..health.report import Thresholds, health_check, health_report, metrics_sections, window_ending_now
from ..timeutil import parse_duration
from .base import EventDebugView, FirstRendererOnly
from .fields import MomentField


class ReportQuerySerializer(serializers.Serializer):
    since = MomentField(
        required=False,
        help_text="Window start: ISO 8601 or a duration ago (15m). Default: EVENTDEBUG['HEALTH_WINDOW'] ago.",
    )

    def validate_since(self, value):
        now = timezone.now()
        if value >= now:
            raise serializers.ValidationError("must be in the past.")
        maximum = get_config()["LAG_MAX_WINDOW"]
        if now - value > parse_duration(maximum):
            raise serializers.ValidationError(
                f"the window is longer than the maximum {maximum} (EVENTDEBUG['LAG_MAX_WINDOW'])."
            )
        return value


class CheckQuerySerializer(ReportQuerySerializer):
    max_p99 = serializers.FloatField(
        required=False, min_value=0, help_text="Seconds. Default: EVENTDEBUG['CHECK_MAX_P99']."
    )
    max_fill = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=100,
        help_text="Percent. Default: EVENTDEBUG['CHECK_MAX_FILL'].",
    )
    max_drops = serializers.IntegerField(
        required=False, min_value=0, help_text="Drops in the window. Default: EVENTDEBUG['CHECK_MAX_DROPS']."
    )


def report_document(query: dict) -> dict:
    """The document of GET report/ for a query validated by ReportQuerySerializer."""
    return health_report(window_ending_now(query.get("since")))


def check_document(query: dict) -> dict:
    """The document of GET check/ for a query validated by CheckQuerySerializer."""
    thresholds = Thresholds.from_settings(**{k: query.get(k) for k in ("max_p99", "max_fill", "max_drops")})
    return health_check(window_ending_now(query.get("since")), thresholds)


class ReportView(EventDebugView):
    """Doctor summary, lag percentiles and worst jobs, overflow and fullest queues, one window."""

    query_serializer_class = ReportQuerySerializer

    def get(self, request):
        return Response(report_document(self.validated_query(ReportQuerySerializer)))


class CheckView(EventDebugView):
    """The thresholds checked over one window; always 200, the verdict is in `status`."""

    query_serializer_class = CheckQuerySerializer

    def get(self, request):
        return Response(check_document(self.validated_query(CheckQuerySerializer)))


class PrometheusTextRenderer(BaseRenderer):
    media_type = "text/plain; version=0.0.4"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode(self.charset)
        # An error body ({"detail": ...}) as one comment line a human can read.
        return f"# {data.get('detail', data) if isinstance(data, dict) else data}\n".encode(self.charset)


class MetricsView(EventDebugView):
    """Prometheus text exposition 0.0.4 of the health figures over EVENTDEBUG['HEALTH_WINDOW']."""

    renderer_classes = [PrometheusTextRenderer]
    content_negotiation_class = FirstRendererOnly

    def get_permissions(self):
        if get_config()["METRICS_ALLOW_ANONYMOUS"]:
            return [AllowAny()]
        return super().get_permissions()

    def get(self, request):
        text = render_metrics(metrics_sections(window_ending_now()))
        return Response(text, content_type=CONTENT_TYPE)
