from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from rest_framework.test import APIClient

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
    assert response.status_code == 200 and "percentiles" in response.json()
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
