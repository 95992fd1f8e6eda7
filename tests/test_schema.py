"""The OpenAPI document: every route of awx_eventdebug/urls.py with exactly the query parameters
its view validates, served at <prefix>schema/ (README, REST API)."""

import json

import pytest
from django.urls import reverse
from rest_framework.fields import empty
from rest_framework.schemas import openapi
from rest_framework.test import APIClient

from awx_eventdebug import urls
from awx_eventdebug.api.openapi import SchemaView

PREFIX = "/api/eventdebug/"  # where the example project includes the app's URLs
ENDPOINTS = [p for p in urls.urlpatterns if p.callback.view_class is not SchemaView]


def fields_of(view_class) -> dict:
    serializer = view_class.query_serializer_class
    return {} if serializer is None else serializer().fields


@pytest.fixture
def admin(db):
    from django.contrib.auth.models import User

    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    return client


@pytest.fixture
def document(admin):
    response = admin.get(reverse("awx_eventdebug:schema"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return json.loads(response.content)


@pytest.mark.parametrize("pattern", ENDPOINTS, ids=lambda p: p.name)
def test_each_endpoint_lists_its_serializers_fields(document, pattern):
    operation = document["paths"][PREFIX + str(pattern.pattern)]["get"]
    fields = fields_of(pattern.callback.view_class)
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert list(parameters) == list(fields)
    for name, field in fields.items():
        parameter = parameters[name]
        assert (parameter["in"], parameter["required"]) == ("query", field.required)
        if field.default is not empty:
            assert parameter["schema"]["default"] == field.default


def test_the_document_lists_every_route_but_itself(document):
    assert set(document["paths"]) == {PREFIX + str(p.pattern) for p in ENDPOINTS}
    assert document["info"]["title"] == "awx-eventdebug"


@pytest.mark.parametrize(
    "pattern", [p for p in ENDPOINTS if fields_of(p.callback.view_class)], ids=lambda p: p.name
)
def test_the_listed_parameters_are_the_ones_the_view_validates(admin, pattern, redis_layer_settings):
    # A NUL is invalid for every field type here (numbers, choices, text, times): each parameter
    # the document lists gets a 400 naming it, so the view validates with the serializer listed.
    url = reverse(f"awx_eventdebug:{pattern.name}")
    for name in fields_of(pattern.callback.view_class):
        response = admin.get(url, {name: "\x00"})
        assert response.status_code == 400, (name, response.content)
        # GET metrics/ answers in Prometheus text (a comment line), the others in JSON.
        json_body = response["Content-Type"].startswith("application/json")
        body = response.json() if json_body else response.content.decode()
        assert name in body, (name, body)


def test_served_without_uritemplate_which_awx_does_not_ship(admin, monkeypatch):
    monkeypatch.setattr(openapi, "uritemplate", None)
    response = admin.get(reverse("awx_eventdebug:schema"))
    assert response.status_code == 200
    assert PREFIX + "lag/" in json.loads(response.content)["paths"]


def test_paths_follow_the_prefix_inside_awx(admin, settings):
    # EventDebugMiddleware mounts the URLs at EVENTDEBUG['URL_PREFIX'] (AWX ignores ROOT_URLCONF).
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "awx_eventdebug.middleware.EventDebugMiddleware"]
    settings.EVENTDEBUG = {"URL_PREFIX": "/diagnostics/events/"}
    response = admin.get("/diagnostics/events/schema/")
    assert response.status_code == 200
    assert "/diagnostics/events/lag/" in json.loads(response.content)["paths"]
