import socket

import pytest
from django.contrib.auth import get_user_model

from awx_eventdebug.channels.groups import inspect_groups
from tests.conftest import REDIS_URL
from tests.support.channel_layers import fill_groups, layer_config, ttls_count_down, use_layer, without_times

pytestmark = pytest.mark.django_db

URL = "/api/eventdebug/channels/"


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("admin", "a@example.com", "pw"))
    return client


def test_same_document_as_the_command(admin_client, settings, key_prefix):
    config = layer_config([REDIS_URL], key_prefix)
    use_layer(settings, config)
    fill_groups(config)
    response = admin_client.get(URL, {"pattern": "job_events-*", "limit": 1})
    assert response.status_code == 200
    body = response.json()
    assert [g["name"] for g in body["groups"]] == ["job_events-1"]
    assert body["summary"]["members"] == 9
    expected = inspect_groups(pattern="job_events-*", limit=1)
    assert body.pop("age_seconds") >= 0  # seconds since the reading, which requests share (recent.py)
    for member in (m for g in body["groups"] + expected["groups"] for q in g["queues"] for m in q["members"]):
        member.pop("joined_age_seconds")
    assert without_times(body) == without_times(expected)
    assert ttls_count_down(body, expected)


@pytest.mark.parametrize(
    "query, field",
    [({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"), ({"pattern": "a" * 300}, "pattern")],
)
def test_bad_query_is_a_400_naming_the_field(admin_client, query, field):
    response = admin_client.get(URL, query)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_anonymous_is_refused(client):
    assert client.get(URL).status_code == 401


def test_redis_down_is_a_503_naming_the_host(admin_client, settings, key_prefix):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": 0.3}
    use_layer(settings, layer_config([f"redis://:hunter2@127.0.0.1:{port}/0"], key_prefix))
    response = admin_client.get(URL)
    silent.close()
    assert response.status_code == 503
    assert response.json()["detail"].startswith(f"redis redis://:****@127.0.0.1:{port}/0 unreachable")
    assert "hunter2" not in response.content.decode()


def test_unknown_layer_is_a_503(admin_client, settings):
    settings.EVENTDEBUG = {"LAYER": "nope"}
    response = admin_client.get(URL)
    assert response.status_code == 503
    assert "no channel layer 'nope'" in response.json()["detail"]
