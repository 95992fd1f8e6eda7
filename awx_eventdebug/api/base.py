"""What every endpoint shares: permissions from settings, and errors mapped to status codes."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..conf import get_config
from ..db import CONNECTION_ERRORS, database_failed
from ..errors import EventDebugError
from ..jsondoc import rounded
from .markup import description_html
from .schema import EndpointSchema

# What AWX answers an unauthenticated API request with (awx/api/generics.py, APIView
# .get_authenticate_header): a 401 whose challenge is Bearer, never Basic, so a browser does not
# offer to store a password that a cross-site form could then reuse.
AWX_AUTHENTICATE = "Bearer realm=api authorization_url=/api/o/authorize/"
# The page answering 503 to a request for HTML (the dashboard, the browsable API).
UNAVAILABLE_PAGE = "awx_eventdebug/unavailable.html"


class EventDebugBrowsableAPIRenderer(BrowsableAPIRenderer):
    """DRF's browsable page without the project's rest_framework/api.html: AWX's reverses its own
    ``api:`` URL names, which are not in the app's URL list."""

    template = "awx_eventdebug/api.html"


class RoundedJSONRenderer(JSONRenderer):
    """JSON with floats rounded as ``--json`` rounds them (jsondoc.rounded)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return super().render(rounded(data), accepted_media_type, renderer_context)


# Outside AWX's request transaction (ATOMIC_REQUESTS): each read takes its locks for its own
# short transaction (db.py), not for the whole request, whose Redis reads may take seconds while
# AWX's hourly CREATE TABLE ... PARTITION OF of an event table waits for them.
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class EventDebugView(APIView):
    """Base view: EVENTDEBUG['PERMISSION_CLASSES'], AWX's 401 for unauthenticated requests,
    EventDebugError -> its HTTP status (a 503 to a request for HTML: a page that needs no
    database, which may be what failed), and the query string validated by
    ``query_serializer_class``, which the OpenAPI schema lists.

    A view declared ``class V(EventDebugView, query=Serializer, document=function)`` answers GET
    with ``function`` (a feature's, which the CLI calls too) of the validated query string, and
    the OpenAPI schema documents its answer from ``function``'s return annotation (a TypedDict);
    the others define get()."""

    query_serializer_class: type[serializers.Serializer] | None = None  # None: no query parameters
    document: Callable[[dict], dict]
    finds_jobs = False  # a job its query names may not exist: a 404

    def __init_subclass__(cls, query=None, document=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if query is not None:
            cls.query_serializer_class = query
            cls.document = staticmethod(document)

    schema = EndpointSchema(tags=["eventdebug"])
    renderer_classes = [RoundedJSONRenderer, EventDebugBrowsableAPIRenderer]

    def get_view_description(self, html=False):
        """The docstring; as HTML (the browsable page) with its code spans as code, markdown or
        not."""
        text = super().get_view_description(html=False)
        return description_html(text) if html else text

    def get_authenticate_header(self, request):
        return AWX_AUTHENTICATE

    def get_permissions(self):
        return [permission() for permission in get_config()["PERMISSION_CLASSES"]]

    def handle_exception(self, exc):
        if isinstance(exc, CONNECTION_ERRORS):
            exc = database_failed(exc)
        if isinstance(exc, EventDebugError):
            body = {"detail": exc.message}
            if exc.hint:
                body["hint"] = exc.hint
            if exc.http_status == 503 and self.answers_html():
                # Not a Response: its renderers would render with the request's context
                # processors, which authenticate the user again, from the database.
                return HttpResponse(render_to_string(UNAVAILABLE_PAGE, body), status=503)
            return Response(body, status=exc.http_status)
        return super().handle_exception(exc)

    def answers_html(self) -> bool:
        """Whether this request is answered with a page (the dashboard, the browsable API)."""
        renderer = getattr(self.request, "accepted_renderer", None)
        if renderer is None:  # failed before content negotiation
            renderer, _ = self.perform_content_negotiation(self.request, force=True)
        return renderer.media_type == "text/html"

    def validated_query(self) -> dict:
        """The query string validated by the view's ``query_serializer_class``; a 400 naming each
        bad field."""
        serializer = self.query_serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def get(self, request):
        return Response(self.document(self.validated_query()))


class FirstRendererOnly(BaseContentNegotiation):
    """For views with one output format (Prometheus text, the OpenAPI document): the view's first
    renderer whatever the Accept header says, never a 406 (curl without Accept, Prometheus's
    openmetrics request)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return None
