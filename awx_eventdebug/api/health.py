"""GET report/, check/ and metrics/: the health of the critical path (health/), the same
documents as ``eventdebug report --json`` and ``eventdebug check --json``, and Prometheus text."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from ..conf import get_config
from ..health.cache import shared_reading
from ..health.params import (
    CheckQuerySerializer,
    MetricsQuerySerializer,
    ReportQuerySerializer,
    check_document,
    report_document,
)
from ..health.prometheus import exposition, metrics_reading
from ..overflow.record import node_name
from .base import EventDebugView, FirstRendererOnly


def query_key(view: str, request) -> tuple:
    """A reading's key in the shared readings (health/cache.py): the view and its query string as
    given (``since=15m`` is one key whenever it is asked, however far it reaches)."""
    given = sorted((name, tuple(values)) for name, values in request.query_params.lists() if name != "format")
    return (view, tuple(given))


class SharedDocumentView(EventDebugView):
    """A document view whose document is one shared reading per query (health/cache.py); the query
    string is still validated on every request."""

    def get(self, request):
        query = self.validated_query()
        key = query_key(type(self).__name__, request)
        return Response(shared_reading(key, lambda: self.document(query)))


class ReportView(SharedDocumentView, query=ReportQuerySerializer, document=report_document):
    """Doctor summary, lag percentiles and worst jobs, overflow and fullest queues, one window."""


class CheckView(SharedDocumentView, query=CheckQuerySerializer, document=check_document):
    """The thresholds checked over one window; always 200, the verdict is in `status`."""


class PrometheusTextRenderer(BaseRenderer):
    """The refusals and 400s of GET metrics/ as one comment line a human (and a scraper's log) can
    read; the metrics themselves are encoded by prometheus_client (health/prometheus.py)."""

    media_type = "text/plain; version=0.0.4"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accept_media_type=None, renderer_context=None):
        text = "; ".join(messages(data)) if isinstance(data, (dict, list)) else str(data)
        # One line whatever value it quotes: a newline would start a line a scraper reads as a sample.
        text = text.replace("\r", "\\r").replace("\n", "\\n")
        return f"# {text}\n".encode(self.charset)


def messages(detail, field: str = "") -> list[str]:
    """A refusal's messages as text: ``detail`` alone, a 400's each after the field it names
    (``metric: "x" is not one of ...``), as DRF nests them (a list item's by its index)."""
    if isinstance(detail, dict):
        if list(detail) == ["detail"]:
            return messages(detail["detail"], field)
        named = [(key if isinstance(key, str) else field, value) for key, value in detail.items()]
        return [line for key, value in named for line in messages(value, key)]
    if isinstance(detail, list):
        return [line for item in detail for line in messages(item, field)]
    return [f"{field}: {detail}" if field else str(detail)]


class MetricsView(EventDebugView):
    """The health figures over EVENTDEBUG['HEALTH_WINDOW'] for Prometheus: text 0.0.4, or
    OpenMetrics when the scraper asks for it."""

    renderer_classes = [PrometheusTextRenderer]
    content_negotiation_class = FirstRendererOnly
    query_serializer_class = MetricsQuerySerializer

    def get_permissions(self):
        if get_config()["METRICS_ALLOW_ANONYMOUS"]:
            return [AllowAny()]
        return super().get_permissions()

    def get(self, request):
        only = self.validated_query().get("metric", ())
        # The ?metric= filter only picks families from the reading: every scrape of this node
        # shares it.
        data = shared_reading(("metrics", node_name()), metrics_reading)
        body, content_type = exposition(data, request.headers.get("Accept", ""), only)
        return HttpResponse(body, content_type=content_type)
