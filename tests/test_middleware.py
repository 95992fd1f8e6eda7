import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

AWX_MIDDLEWARE = "tests.support.awx_like.SetURLConfMiddleware"
OURS = "awx_eventdebug.middleware.EventDebugMiddleware"


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
    assert APIClient().get("/api/eventdebug/lag/").status_code in (401, 403)


def test_prefix_comes_from_the_settings(awx, admin):
    awx.MIDDLEWARE = [*awx.MIDDLEWARE, OURS]
    awx.EVENTDEBUG = {"URL_PREFIX": "/diagnostics/events/"}
    assert admin.get("/diagnostics/events/lag/").status_code == 200
    assert admin.get("/api/eventdebug/lag/").status_code == 404
    assert admin.get("/api/v2/ping/").content == b"awx pong"


def test_ordinary_project_includes_the_urls(admin):
    # example_settings.urls mounts awx_eventdebug.urls with include(), no middleware needed.
    assert admin.get("/api/eventdebug/lag/").status_code == 200
