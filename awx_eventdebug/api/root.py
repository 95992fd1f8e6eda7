"""The app's root to a JSON client: its endpoints by name, as AWX's /api/v2/ lists its own."""

from __future__ import annotations

from django.urls import get_resolver, reverse

# The app's URL list, named rather than imported (urls.py imports the views, this among them),
# as Django's include() and DRF's SchemaGenerator name it.
URLCONF = "awx_eventdebug.urls"
NAMESPACE = "awx_eventdebug"


def endpoint_key(url_name: str) -> str:
    """An endpoint's key in the listing: its URL name in AWX's spelling (``overflow_summary``)."""
    return url_name.replace("-", "_")


def endpoints(root_name: str) -> dict[str, str]:
    """Each route of the app but the root ``root_name`` -> its path as this request reaches it
    (under the example project's include, or EVENTDEBUG['URL_PREFIX'] inside AWX), in urls.py's
    order. Paths from the server's root, as AWX's root gives them."""
    return {
        endpoint_key(pattern.name): reverse(f"{NAMESPACE}:{pattern.name}")
        for pattern in get_resolver(URLCONF).url_patterns
        if pattern.name != root_name
    }
