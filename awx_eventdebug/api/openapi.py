"""GET schema/: the OpenAPI document of the app's endpoints, each with its query parameters and
its responses (api/schema.py)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework.renderers import JSONOpenAPIRenderer
from rest_framework.response import Response
from rest_framework.schemas.openapi import SchemaGenerator

from .. import __version__
from .base import EventDebugView, FirstRendererOnly
from .root import NAMESPACE, URLCONF


class SchemaView(EventDebugView):
    """OpenAPI 3 as JSON, with paths under the prefix this request came through (the example
    project's include or EVENTDEBUG['URL_PREFIX'] inside AWX)."""

    renderer_classes = [JSONOpenAPIRenderer]
    content_negotiation_class = FirstRendererOnly  # JSON whatever Accept says
    schema = None  # the document, not an endpoint it lists

    def get(self, request):
        generator = SchemaGenerator(
            title="awx-eventdebug",
            version=__version__,
            description="Find out why AWX job output shows up late in the UI.",
            url=reverse(f"{NAMESPACE}:dashboard"),
            urlconf=URLCONF,
        )
        return Response(generator.get_schema(request=request, public=True))
