"""A CHANNEL_LAYERS entry channels itself could not load (not a dict, no BACKEND, a BACKEND that
does not import or is not a class, a CONFIG or hosts of the wrong type; or a CHANNEL_LAYERS that
is not a dict) is a check warning
(W005), a doctor problem, and one line from every subcommand reading the layer, which exits 2 or
reports it: never a traceback, never "healthy"."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from awx_eventdebug import urls
from awx_eventdebug.checks import W005_UNUSABLE_LAYER, check_channel_layer, check_dashboard
from tests.faults.test_numbers import deadline
from tests.faults.test_ranges import RUNS

pytestmark = pytest.mark.django_db

REDIS = "channels_redis.core.RedisChannelLayer"
# (CHANNEL_LAYERS, what every report of it says)
UNUSABLE = [
    ({"default": "redis://127.0.0.1:6379"}, "CHANNEL_LAYERS['default'] must be a dict"),
    ({"default": ["redis://127.0.0.1:6379"]}, "CHANNEL_LAYERS['default'] must be a dict"),
    ({"default": None}, "CHANNEL_LAYERS['default'] must be a dict"),
    ({"default": {"CONFIG": {}}}, "CHANNEL_LAYERS['default'] has no BACKEND"),
    ({"default": {"BACKEND": ""}}, "CHANNEL_LAYERS['default'] has no BACKEND"),
    ({"default": {"BACKEND": "no_such_module.Layer"}}, "'no_such_module.Layer' does not import"),
    (
        {"default": {"BACKEND": "channels_redis.core.NoSuchLayer"}},
        "'channels_redis.core.NoSuchLayer' does not import",
    ),
    ({"default": {"BACKEND": "os.path"}}, "'os.path' is not a class"),
    (
        {"default": {"BACKEND": REDIS, "CONFIG": "redis://127.0.0.1"}},
        "CHANNEL_LAYERS['default']['CONFIG'] must be a dict",
    ),
    ({"default": {"BACKEND": REDIS, "CONFIG": {"hosts": 6379}}}, "hosts must be a list"),
    (["default"], "settings.CHANNEL_LAYERS must be a dict"),
]
# Subcommands that never read the layer.
NOT_READING = {"lag", "overflow", "ingest", "purge"}


def run(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        with deadline(30):
            call_command("eventdebug", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, f"{out.getvalue()}\nEXIT: {exc}"
    return 0, out.getvalue()


@pytest.mark.parametrize(("layers", "said"), UNUSABLE, ids=[repr(e)[:40] for e, _ in UNUSABLE])
def test_an_unusable_layer_is_said_by_every_face(settings, layers, said):
    settings.CHANNEL_LAYERS = layers
    found = check_channel_layer() + check_dashboard()
    assert [w.id for w in found] == [W005_UNUSABLE_LAYER] and said in found[0].msg
    # path after sample, which writes the snapshot path shows
    for subcommand in [*(name for name in RUNS if name != "path"), "path"]:
        code, text = run(subcommand, *RUNS[subcommand])
        if subcommand in NOT_READING:
            assert code == 0, text
            continue
        assert said in text, (subcommand, text)
        if code == 2 and subcommand != "check":
            [line] = text.split("EXIT: ")[1:]
            assert "\n" not in line, line
    assert run("doctor")[0] == 1


@pytest.mark.parametrize(
    ("layers", "said"), [UNUSABLE[i] for i in (0, 3, 5, -1)], ids=["str", "no BACKEND", "no module", "list"]
)
def test_every_endpoint_answers_an_unusable_layer_without_a_500(settings, layers, said):
    settings.CHANNEL_LAYERS = layers
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("admin", "a@example.com", "pw"))
    for pattern in urls.urlpatterns:
        response = client.get(reverse(f"awx_eventdebug:{pattern.name}"), {"job": 1, "missing": "1"})
        assert response.status_code in (200, 400, 404, 503), (pattern.name, response.content[:300])
    response = client.get(reverse("awx_eventdebug:channels"))
    assert response.status_code == 503 and said in response.json()["detail"]
