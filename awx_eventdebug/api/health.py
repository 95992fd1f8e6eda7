"""GET report/, check/ and metrics/: the health of the critical path (health/), the same
documents as ``eventdebug report --json`` and ``eventdebug check --json``, and Prometheus text."""

from __future__ import annotations

from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from ..conf import get_config
from ..health.params import CheckQuerySerializer, ReportQuerySerializer, check_document, report_document
from ..health.prometheus import CONTENT_TYPE, render_metrics
from ..health.report import health_window, metrics_sections
from .base import EventDebugView, FirstRendererOnly


class ReportView(EventDebugView, query=ReportQuerySerializer, document=report_document):
    """Doctor summary, lag percentiles and worst jobs, overflow and fullest queues, one window."""


class CheckView(EventDebugView, query=CheckQuerySerializer, document=check_document):
    """The thresholds checked over one window; always 200, the verdict is in `status`."""


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
        text = render_metrics(metrics_sections(health_window(timezone.now())))
        return Response(text, content_type=CONTENT_TYPE)
