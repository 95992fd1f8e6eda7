"""The OpenAPI document: every route of awx_eventdebug/urls.py with exactly the query parameters
its view validates and the responses it answers, served at <prefix>schema/ (README, REST API)."""

import asyncio
import json
from datetime import timedelta

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from rest_framework.fields import empty
from rest_framework.schemas import openapi
from rest_framework.test import APIClient

from awx_eventdebug import urls
from awx_eventdebug.api.openapi import SchemaView
from awx_eventdebug.api.schema import REFUSAL_SCHEMAS
from awx_eventdebug.channels.backends import PUBSUB_LAYER
from awx_eventdebug.overflow.upsert import Counts, add_counts
from tests.conftest import REDIS_URL
from tests.health.test_report import dead_redis, fill_queue, nodes_one_ahead, recent_job, run
from tests.overflow.test_api import rows  # noqa: F401 (a fixture)
from tests.path.conftest import node_named
from tests.path.hops.test_receiver_buffer import save_metrics
from tests.support.awx_callback import CALLBACK_QUEUE, STATS_KEY, backlog_events, dispatch, wsrelay_stats
from tests.support.channel_layers import fill_groups, use_layer
from tests.support.openapi import Validator
from tests.support.workloads import add_job, required_query
from tests.test_units import VARIANTS

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


@pytest.fixture
def seeded(settings, rows, redis_layer_settings, key_prefix, capture_installed):  # noqa: F811
    """Data in every part of every document: lag of every kind on execution nodes, one ahead;
    overflow rows old and in the health window; groups with members and a full queue; and two
    nodes' snapshots, node-a's with AWX's metrics, wsrelay's stats and a callback queue backlog,
    node-b's from a Redis whose keys AWX would not write (each hop's read failed); a setting the
    doctor warns about; a job faster than AWX's websocket rate."""
    settings.CSRF_COOKIE_HTTPONLY = True
    recent_job([0.5, 1.0, 40.0])
    add_job("job", timezone.now() - timedelta(minutes=1), [0.5] * 300, duration=3.0)
    nodes_one_ahead()
    now = timezone.now()
    add_counts({("node-a", "job_events-9", now - timedelta(minutes=2), "live"): Counts(now, now, 4, 8, 2)})
    fill_queue(key_prefix, 100, 90)
    fill_groups(redis_layer_settings["CONFIG"])
    with node_named(settings, "node-a") as node:
        save_metrics(node, popped=900, in_memory=50, inserted=800, insert_seconds=0.4, batches=8)
        node.set(STATS_KEY, wsrelay_stats("node-a", {"awx-2": (True, 42), "awx-3": (False, 7)}))
        dispatch(node, backlog_events(5, oldest_age=20.0))
        assert run("sample")[0] == 0
    with node_named(settings, "node-b") as node:
        node.set(CALLBACK_QUEUE, "not a list")
        node.hset(STATS_KEY, "not", "a string")
        node.set("awx_metrics", "not a hash")
        assert run("sample")[0] == 0


def documented(operation: dict, status: str, response) -> dict:
    """The schema ``operation`` documents for ``response``'s status and media type."""
    content = operation["responses"][status]["content"]
    media = response["Content-Type"].split(";")[0]
    [schema] = [c["schema"] for name, c in content.items() if name.split(";")[0] == media]
    return schema


def check(validator: Validator, operation: dict, status: str, response) -> list[str]:
    """Where ``response`` departs from what ``operation`` documents for it; text (a page,
    Prometheus) is documented as a string."""
    schema = documented(operation, status, response)
    if response["Content-Type"].startswith("application/json"):
        return validator.mismatches(response.json(), schema)
    return [] if schema == {"type": "string"} else [f"text documented as {schema}"]


def pubsub_groups(admin, settings, key_prefix):
    """GET channels/ of a pub/sub layer whose groups have subscribers (while they have them)."""
    config = {"hosts": [REDIS_URL], "prefix": key_prefix}
    use_layer(settings, config, backend=PUBSUB_LAYER)

    async def subscribed():
        layer = RedisPubSubChannelLayer(**config)
        await layer.group_add("job_events-7", await layer.new_channel())
        response = await asyncio.to_thread(admin.get, reverse("awx_eventdebug:channels"))
        await layer.flush()
        return response

    return asyncio.run(subscribed())


def test_every_endpoint_answers_its_documented_schema(admin, document, seeded, settings, key_prefix):
    # Every field of every real answer documented with its type, every required field there,
    # and every part the document declares reached by some answer (no schema the data misses).
    validator = Validator(document)
    answers = []
    for pattern in ENDPOINTS:
        operation = document["paths"][PREFIX + str(pattern.pattern)]["get"]
        for extra in ({}, *VARIANTS.get(pattern.name, ())):
            query = {**required_query(pattern.name), **extra}
            answers.append(
                (operation, pattern.name, admin.get(reverse(f"awx_eventdebug:{pattern.name}"), query))
            )
    channels = document["paths"][PREFIX + "channels/"]["get"]
    answers.append((channels, "channels (pub/sub)", pubsub_groups(admin, settings, key_prefix)))
    for operation, name, response in answers:
        assert response.status_code == 200, (name, response.content[:500])
        found = check(validator, operation, "200", response)
        assert found == [], (name, found)
    assert set(document["components"]["schemas"]) - set(REFUSAL_SCHEMAS) - validator.seen == set()


def test_every_refusal_answers_its_documented_schema(admin, document, settings, redis_layer_settings):
    validator = Validator(document)
    auditor = APIClient()
    auditor.force_authenticate(User.objects.create_user("someone", "someone@example.com", "pw"))
    for pattern in ENDPOINTS:
        operation = document["paths"][PREFIX + str(pattern.pattern)]["get"]
        url = reverse(f"awx_eventdebug:{pattern.name}")
        fields = fields_of(pattern.callback.view_class)
        # Asked as the documented refusals are answered: the root answers a browser with pages.
        media = {m for r in operation["responses"].values() for m in r.get("content", {})}
        accept = {"HTTP_ACCEPT": "application/json"} if "application/json" in media else {}
        refused = {"401": APIClient().get(url, **accept), "403": auditor.get(url, **accept)}
        if fields:
            refused["400"] = admin.get(url, {next(iter(fields)): "\x00"}, **accept)
        statuses = set(operation["responses"]) - {"200", "404", "503"}
        # The API's refusals, or none for a page.
        assert statuses in (set(refused), set()), pattern.name
        for status in statuses:
            response = refused[status]
            assert str(response.status_code) == status, (pattern.name, response.content[:300])
            found = check(validator, operation, status, response)
            assert found == [], (pattern.name, status, found)
    response = admin.get(reverse("awx_eventdebug:lag"), {"job": 99999})
    assert response.status_code == 404
    assert check(validator, document["paths"][PREFIX + "lag/"]["get"], "404", response) == []
    dead_redis(settings)
    response = admin.get(reverse("awx_eventdebug:channels"))
    assert response.status_code == 503
    assert check(validator, document["paths"][PREFIX + "channels/"]["get"], "503", response) == []
    assert set(REFUSAL_SCHEMAS) <= validator.seen


def test_a_figures_description_says_the_unit_its_name_ends_with(document):
    components = document["components"]["schemas"]

    def description(component, field):
        schema = components[component]["properties"][field]
        return schema.get("description", "")

    assert description("LagDocument", "mean_seconds") == "Unit: seconds."
    assert description("LagDocument", "percentiles_seconds").endswith(" Unit: seconds.")
    assert description("OverflowGroup", "drops_per_minute") == "Unit: drops per minute."
    assert description("LayerQueue", "fill_percent") == "Unit: percent (0-100)."
    assert description("GroupsSummary", "stale_members") == "Unit: members (a count)."
    assert description("Thresholds", "max_p99_seconds").endswith(". Unit: seconds.")
    assert description("LagGroup", "key") == "The job, event type, node, or start of the minute or hour."


def test_the_validator_finds_an_undocumented_field_and_a_wrong_type(document):
    validator = Validator(document)
    row = {"node": "a", "group": "g", "source": "live", "drops": 1, "full_queues": 2, "max_group_members": 3}
    row.update(window_start="2026-11-27T10:00:00Z", first_seen="2026-11-27T10:00:00Z", last_seen=None)
    schema = {"$ref": "#/components/schemas/OverflowRow"}
    assert validator.mismatches(row, schema) == [".last_seen: null, which is not nullable"]
    assert validator.mismatches({**row, "last_seen": "2026-11-27T10:00:30Z", "extra_seconds": 1}, schema) == [
        ".extra_seconds: not documented"
    ]
    assert validator.mismatches({**row, "last_seen": "2026-11-27T10:00:30Z", "drops": "1"}, schema) == [
        ".drops: '1' is not of type integer"
    ]
    del row["drops"]
    assert ".drops: required, absent" in validator.mismatches(row, schema)
