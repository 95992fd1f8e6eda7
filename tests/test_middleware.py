from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from awx_eventdebug.checks import W003_BAD_VALUE, check_settings
from awx_eventdebug.conf import DEFAULTS
from tests.support.awx_like import AWX_PATHS

pytestmark = pytest.mark.django_db

AWX_MIDDLEWARE = "tests.support.awx_like.SetURLConfMiddleware"
OURS = "awx_eventdebug.middleware.EventDebugMiddleware"
SUPPORT_TEMPLATES = str(Path(__file__).parent / "support" / "templates")


@pytest.fixture
def admin():
    client = APIClient()
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


@pytest.fixture
def awx(settings):
    """A project whose URLs are AWX's: its middleware replaces request.urlconf on every request."""
    settings.ROOT_URLCONF = "tests.support.awx_like"
    settings.MIDDLEWARE = [*django_settings.MIDDLEWARE, AWX_MIDDLEWARE]
    return settings


def test_without_the_middleware_awx_never_routes_to_the_app(awx, admin):
    assert admin.get("/api/v2/ping/").content == b"awx pong"
    assert admin.get("/api/eventdebug/lag/").status_code == 404


def test_middleware_after_awx_serves_the_prefix_and_nothing_else(awx, admin):
    awx.MIDDLEWARE = [*awx.MIDDLEWARE, OURS]
    response = admin.get("/api/eventdebug/lag/")
    assert response.status_code == 200 and "percentiles_seconds" in response.json()
    assert admin.get("/api/eventdebug/lag/", HTTP_ACCEPT="text/html").status_code == 200
    assert admin.get("/api/v2/ping/").content == b"awx pong"
    assert admin.get("/api/eventdebug/nothing-here/").status_code == 404
    assert APIClient().get("/api/eventdebug/lag/").status_code == 401


def test_prefix_without_its_slash_redirects_as_awx_does(awx, admin):
    awx.MIDDLEWARE = [*awx.MIDDLEWARE, OURS]
    for client in (admin, APIClient()):
        response = client.get("/api/eventdebug?since=1h")
        assert response.status_code == 301 and response["Location"] == "/api/eventdebug/?since=1h"
    assert admin.get("/api/eventdebugger").status_code == 404


BROWSABLE = ["lag/", "channels/", "overflow/", "overflow/summary/", "report/", "check/"]


@pytest.mark.parametrize("route", BROWSABLE)
def test_browsable_pages_render_under_awxs_own_api_template(awx, admin, route, redis_layer_settings):
    # AWX's rest_framework/api.html (tests/support/templates) shadows DRF's, as in AWX, and
    # reverses api: names the app's URL list does not have.
    awx.MIDDLEWARE = [*awx.MIDDLEWARE, OURS]
    awx.TEMPLATES = [{**awx.TEMPLATES[0], "DIRS": [SUPPORT_TEMPLATES]}]
    response = admin.get(f"/api/eventdebug/{route}", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "awx-eventdebug" in response.content.decode()


def test_prefix_comes_from_the_settings(awx, admin):
    awx.MIDDLEWARE = [*awx.MIDDLEWARE, OURS]
    awx.EVENTDEBUG = {"URL_PREFIX": "/diagnostics/events/"}
    assert admin.get("/diagnostics/events/lag/").status_code == 200
    assert admin.get("/api/eventdebug/lag/").status_code == 404
    assert admin.get("/api/v2/ping/").content == b"awx pong"


def test_ordinary_project_includes_the_urls(admin):
    # example_settings.urls mounts awx_eventdebug.urls with include(), no middleware needed.
    assert admin.get("/api/eventdebug/lag/").status_code == 200


def directories(route: str) -> list[str]:
    """ "api/v2/ping/" -> "/", "/api/", "/api/v2/", "/api/v2/ping/"; a file's own name is left."""
    parts = route.split("/")[:-1]
    return ["/" + "".join(part + "/" for part in parts[:i]) for i in range(len(parts) + 1)]


# AWX's URLs hold these two besides their own pages: the app may live under them.
CONTAINERS = {"/", "/api/"}


def shadowing_prefixes() -> list[str]:
    """Every directory of an AWX URL (so that URL's own and each parent) and a path inside each
    directory AWX routes whole: each would serve the app in place of an AWX URL."""
    found = set()
    for route in AWX_PATHS:
        found.update(directories(route))
        found.update(d + "eventdebug/" for d in directories(route) if d not in CONTAINERS)
    return sorted(found)


def assert_awx_answers_and_the_app_is_at(admin, prefix):
    for route in AWX_PATHS:
        assert admin.get("/" + route).content == f"awx /{route}".encode(), route
    assert admin.get("/api/v2/ping/").content == b"awx pong"
    assert admin.get(f"{prefix}lag/").status_code == 200


def refusal(prefix) -> str:
    [warning] = check_settings()
    assert warning.id == W003_BAD_VALUE and "['URL_PREFIX']" in warning.msg, warning.msg
    return warning.msg


@pytest.mark.parametrize("prefix", shadowing_prefixes())
def test_a_prefix_over_awxs_urls_is_refused_and_awx_keeps_them(awx, admin, prefix):
    awx.MIDDLEWARE = [*awx.MIDDLEWARE, OURS]
    awx.EVENTDEBUG = {"URL_PREFIX": prefix}
    message = refusal(prefix)
    assert "AWX's" in message and f"using the default {DEFAULTS['URL_PREFIX']!r}" in message
    assert_awx_answers_and_the_app_is_at(admin, DEFAULTS["URL_PREFIX"])


# Forms path() would read as a converter, or no request path can start with: the app would be
# silently unreachable.
UNREACHABLE = [
    "/api/<int:job>/",
    "/api/<slug>/",
    "/api/eventdebug/<path:rest>/",
    "/api/event.*/",
    "/api/(?P<name>[a-z]+)/",
    "/api/[eventdebug]/",
    "/api/eventdebug$/",
    "^/api/eventdebug/",
    "/api/event%20debug/",
    "/api/event debug/",
    "/api/eventdebug?x=1/",
    "/api/eventdebug#/",
    "/api//eventdebug/",
    "/api/./eventdebug/",
    "/api/../eventdebug/",
    "/api/eventdebug",
    "api/eventdebug/",
    "/api/\u00e9v\u00e9nements/",
]


@pytest.mark.parametrize("prefix", UNREACHABLE)
def test_a_prefix_no_request_can_reach_is_refused(awx, admin, prefix):
    awx.MIDDLEWARE = [*awx.MIDDLEWARE, OURS]
    awx.EVENTDEBUG = {"URL_PREFIX": prefix}
    assert "must be a path such as /api/eventdebug/" in refusal(prefix)
    assert_awx_answers_and_the_app_is_at(admin, DEFAULTS["URL_PREFIX"])


@pytest.mark.parametrize(
    ("setting", "value", "prefix"),
    [
        ("OPTIONAL_API_URLPATTERN_PREFIX", "controller", "/api/controller/"),
        ("STATIC_URL", "/assets/", "/assets/"),
    ],
)
def test_awxs_own_url_settings_are_its_urls_too(awx, setting, value, prefix):
    setattr(awx, setting, value)
    awx.EVENTDEBUG = {"URL_PREFIX": prefix}
    assert "AWX's" in refusal(prefix)
    awx.EVENTDEBUG = {"URL_PREFIX": prefix + "eventdebug/"}
    assert "AWX's" in refusal(prefix)


@pytest.mark.parametrize(
    "prefix", ["/api/eventdebug/", "/diagnostics/events/", "/api/eventdebug.v1/", "/api/v2x/", "/x_y-z~/"]
)
def test_a_path_of_its_own_is_taken(awx, admin, prefix):
    awx.MIDDLEWARE = [*awx.MIDDLEWARE, OURS]
    awx.EVENTDEBUG = {"URL_PREFIX": prefix}
    assert check_settings() == []
    assert_awx_answers_and_the_app_is_at(admin, prefix)
