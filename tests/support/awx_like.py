"""A stand-in for AWX's URL handling: its own URL list, and a middleware that sets
``request.urlconf`` on every request (as awx.main.middleware.OptionalURLPrefixPath does), so the
project's ROOT_URLCONF and any app's urls.py are never consulted."""

from django.http import HttpResponse
from django.urls import path
from django.utils.deprecation import MiddlewareMixin

# A URL under each root AWX routes, as its awx/urls.py, awx/api/urls/urls.py (with
# django-ansible-base's) and websocket routing of 24.6.1 and devel (2024) list them; the
# development-only ones too (debug/, swagger, __debug__/).
AWX_PATHS = (
    "",
    "migrations_notran/",
    "ui_next/jobs/",
    "api/",
    "api/v2/",
    "api/v2/jobs/1/job_events/",
    "api/v2/service-index/metadata/",
    "api/login/",
    "api/logout/",
    "api/o/",
    "api/o/token/",
    "api/debug/dependency_manager/",
    "api/swagger/",
    "api/swagger.json/",
    "api/redoc/",
    "api/400.html",
    "api/websocket/",
    "websocket/",
    "websocket/relay/",
    "sso/complete/",
    "static/awx/index.html",
    "login/",
    "csp-violation/",
    "__debug__/render_panel/",
    "400.html",
)


def ping(request):
    return HttpResponse("awx pong")


def page(request):
    return HttpResponse(f"awx {request.path}")


urlpatterns = [path("api/v2/ping/", ping)] + [path(route, page) for route in AWX_PATHS]


class SetURLConfMiddleware(MiddlewareMixin):
    def process_request(self, request):
        request.urlconf = tuple(urlpatterns)
