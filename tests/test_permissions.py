"""Every endpoint follows AWX's rule for diagnostics (IsSystemAdminOrAuditor): anonymous users
and ordinary users are refused, system auditors may read, superusers may do anything; who is not
authenticated gets AWX's own answer, a 401 with its WWW-Authenticate challenge."""

import base64

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.permissions import BasePermission
from rest_framework.test import APIClient

from awx_eventdebug import urls
from awx_eventdebug.api.base import AWX_AUTHENTICATE
from awx_eventdebug.checks import W003_BAD_VALUE, check_settings
from tests.support.workloads import required_query

pytestmark = pytest.mark.django_db

ROUTES = [pattern.name for pattern in urls.urlpatterns]
PAGES = ("dashboard", "runbook")  # to the login form rather than a bare 401 or 403


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


def auditor():
    # AWX's User has is_system_auditor as a property; set on the instance here.
    user = User.objects.create_user("auditor", password="pw")
    user.is_system_auditor = True
    return user


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_and_ordinary_users_are_refused(route, redis_layer_settings):
    url = reverse(f"awx_eventdebug:{route}")
    anonymous = client_for().get(url)
    if route in PAGES:
        assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    else:
        assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == AWX_AUTHENTICATE
    ordinary = client_for(User.objects.create_user("ordinary", password="pw"))
    assert ordinary.get(url).status_code == 403


@pytest.mark.parametrize("route", [route for route in ROUTES if route not in PAGES])
def test_a_bad_password_gets_awxs_401(route, redis_layer_settings):
    User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"admin:wrong").decode())
    response = client.get(reverse(f"awx_eventdebug:{route}"))
    assert response.status_code == 401 and response["WWW-Authenticate"] == AWX_AUTHENTICATE


@pytest.mark.parametrize("route", ROUTES)
def test_auditors_read_and_superusers_too_but_only_superusers_write(route, redis_layer_settings):
    url = reverse(f"awx_eventdebug:{route}")
    query = required_query(route)
    reader = client_for(auditor())
    assert reader.get(url, query).status_code == 200
    assert reader.post(url).status_code == 403
    superuser = client_for(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    assert superuser.get(url, query).status_code == 200
    assert superuser.post(url).status_code == 405  # read-only endpoints: allowed, but no POST


class NeedsArguments(BasePermission):
    def __init__(self, level):
        self.level = level


UNUSABLE_PERMISSIONS = [
    [],
    (),
    "",
    ["no_such_module.Permission"],
    ["awx_eventdebug.permissions.Nope"],
    ["os.sep"],
    ["collections.OrderedDict"],  # a class, not a permission: no has_permission
    [f"{__name__}.NeedsArguments"],  # DRF makes each permission without arguments
]


@pytest.mark.parametrize("classes", UNUSABLE_PERMISSIONS)
def test_an_empty_or_unusable_permission_setting_keeps_the_default_rule(settings, classes):
    settings.EVENTDEBUG = {"PERMISSION_CLASSES": classes}
    [warning] = check_settings()
    assert warning.id == W003_BAD_VALUE and "PERMISSION_CLASSES" in warning.msg
    for route in ROUTES:
        assert client_for().get(reverse(f"awx_eventdebug:{route}")).status_code in (302, 401, 403), route
    superuser = client_for(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    assert superuser.get(reverse("awx_eventdebug:lag")).status_code == 200
