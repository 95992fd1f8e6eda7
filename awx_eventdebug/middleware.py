"""EventDebugMiddleware: serves the app's URLs under EVENTDEBUG['URL_PREFIX'] inside AWX.

AWX builds its URL list itself and its own middleware sets ``request.urlconf`` on every request
(awx.main.middleware.OptionalURLPrefixPath), so an app's urls.py is never consulted there. Placed
after AWX's middleware, this one replaces ``request.urlconf`` for paths under the prefix only and
leaves every other request exactly as it found it, but the prefix without its slash, which it
redirects to the prefix.
"""

from __future__ import annotations

from functools import cache

from django.http import HttpResponsePermanentRedirect
from django.urls import include, path
from django.utils.deprecation import MiddlewareMixin

from .conf import get_config


@cache
def prefixed_urlconf(prefix: str) -> tuple:
    """URL patterns mounting awx_eventdebug.urls at ``prefix``.

    A tuple, like AWX's own: Django caches resolvers by urlconf, which must be hashable, and the
    same tuple for the same prefix keeps that cache at one entry.
    """
    return (path(prefix.lstrip("/"), include("awx_eventdebug.urls")),)


class EventDebugMiddleware(MiddlewareMixin):
    def process_request(self, request):
        prefix = get_config()["URL_PREFIX"]
        if request.path_info.startswith(prefix):
            request.urlconf = prefixed_urlconf(prefix)
        elif request.path_info == prefix.rstrip("/"):
            # AWX's APPEND_SLASH cannot see the app's URLs; AWX answers its own slashless URLs so.
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
