"""A stand-in for AWX's URL handling: its own URL list, and a middleware that sets
``request.urlconf`` on every request (as awx.main.middleware.OptionalURLPrefixPath does), so the
project's ROOT_URLCONF and any app's urls.py are never consulted."""

from django.http import HttpResponse
from django.urls import path
from django.utils.deprecation import MiddlewareMixin


def ping(request):
    return HttpResponse("awx pong")


urlpatterns = [path("api/v2/ping/", ping)]


class SetURLConfMiddleware(MiddlewareMixin):
    def process_request(self, request):
        request.urlconf = tuple(urlpatterns)
