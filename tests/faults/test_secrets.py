"""No output shows a credential: each form redis-py and psycopg accept for a password goes
through every output that names a connection target (every endpoint, every subcommand that reads
the layer or the database), and the secret appears in none of them, nor in any error."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from awx_eventdebug import urls
from awx_eventdebug.secrets import mask_secrets
from tests.health.test_report import run
from tests.support.workloads import required_query

pytestmark = pytest.mark.django_db

SECRET = "Hunter2-s3cret"

# One CHANNEL_LAYERS hosts entry per credential form; 127.0.0.1:6379 has no password, so each
# also makes redis answer with an error, which must not quote the secret either.
HOST_FORMS = {
    "url userinfo": f"redis://:{SECRET}@127.0.0.1:6379/0",
    "url user and password": f"redis://awx:{SECRET}@127.0.0.1:6379/0",
    "url password query": f"redis://127.0.0.1:6379/0?password={SECRET}",
    "dict password": {"host": "127.0.0.1", "port": 6379, "password": SECRET},
    "dict address and password": {"address": "redis://127.0.0.1:6379/0", "password": SECRET},
    "sentinel kwargs": {
        "sentinels": [("127.0.0.1", 1)],
        "master_name": "mymaster",
        "password": SECRET,
        "sentinel_kwargs": {"password": SECRET},
    },
}

ROUTES = [pattern.name for pattern in urls.urlpatterns if pattern.name != "schema"]
SUBCOMMANDS = [
    ("doctor",),
    ("groups",),
    ("queues",),
    ("watch", "--count", "1"),
    ("listen", "--group", "edtest-secrets", "--duration", "0.2"),
    ("cleanup",),
    ("path",),
    ("sample", "--interval", "60"),
    ("report",),
    ("check",),
    ("lag",),
    ("overflow",),
]


@pytest.fixture(params=list(HOST_FORMS), ids=list(HOST_FORMS))
def secret_everywhere(request, settings, monkeypatch):
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": 0.5}
    # The node's Redis (path, sample): AWX's BROKER_URL may carry the password too.
    settings.BROKER_URL = f"redis://:{SECRET}@127.0.0.1:6379/0"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [HOST_FORMS[request.param]], "prefix": "edtest-secrets"},
        }
    }
    # psycopg's forms: the PASSWORD setting and a password in OPTIONS (trust auth ignores both).
    monkeypatch.setitem(connection.settings_dict, "PASSWORD", SECRET)
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {**connection.settings_dict["OPTIONS"]})


def test_no_endpoint_shows_a_credential(secret_everywhere):
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("admin", "a@example.com", "pw"))
    for route in ROUTES:
        response = client.get(reverse(f"awx_eventdebug:{route}"), required_query(route))
        assert response.status_code in (200, 503), route
        assert SECRET not in response.content.decode(), route


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: a[0])
def test_no_subcommand_shows_a_credential(secret_everywhere, args):
    for output in ("--json", None):
        code, out, error = run(*args, *([output] if output else []))
        assert SECRET not in out + error, (args, output)


@pytest.mark.parametrize(
    "text",
    [
        f"redis://:{SECRET}@h:6379/0",
        f"rediss://awx:{SECRET}@h/0",
        f"redis://:p@{SECRET}@h/0",
        f"redis://h:6379/0?db=1&password={SECRET}",
        f"unix://:{SECRET}@/run/redis.sock?db=0",
        f"host=h password={SECRET} dbname=awx",
        f"host=h password='{SECRET} x' dbname=awx",
        f"postgresql://awx:{SECRET}@h:5432/awx",
        repr({"host": "h", "password": SECRET}),
        repr({"sentinel_kwargs": {"password": SECRET.encode()}}),
        f'{{"password": "{SECRET}"}}',
    ],
)
def test_mask_secrets_knows_every_form(text):
    masked = mask_secrets(text)
    assert SECRET not in masked and "****" in masked
