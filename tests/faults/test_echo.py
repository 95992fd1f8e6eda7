"""A refused value is quoted cut (errors.quoted: 60 characters and an ellipsis), never echoed
whole: in every endpoint's 400, every subcommand's exit 2 line and every settings warning. The
endpoints, options and settings are enumerated from the code, as tests/faults/test_numbers.py
does."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from awx_eventdebug.checks import ALL_CHECKS
from awx_eventdebug.conf import OPTIONS
from awx_eventdebug.errors import QUOTED_MAX
from tests.faults.test_numbers import api_fields, cli_options, run

pytestmark = pytest.mark.django_db

HUGE = ["x" * 100_000, "9" * 100_000, "1h" + "x" * 100_000, "5-" + "1" * 100_000]
# A refusal names the field and why in a few lines, with the choices where there are some (the
# metrics' 26 names take 950 characters): far less than this, however long the value.
MOST = 2000


@pytest.mark.parametrize(("route", "field"), list(api_fields()), ids=lambda pair: ":".join(pair))
def test_every_endpoint_quotes_a_refused_value_cut(redis_layer_settings, route, field):
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("admin", "a@example.com", "pw"))
    for value in HUGE:
        response = client.get(reverse(f"awx_eventdebug:{route}"), {field: value})
        assert response.status_code in (200, 400), response.content[:300]
        if response.status_code == 400:
            assert len(response.content) < MOST, response.content[:MOST]
            assert value[:QUOTED_MAX].encode() not in response.content


@pytest.mark.parametrize(("subcommand", "option"), list(cli_options()), ids=" ".join)
def test_every_option_quotes_a_refused_value_cut(redis_layer_settings, subcommand, option):
    for value in HUGE[:2]:
        code, message = run(subcommand, option, value)
        if code == 2:
            assert len(message) < MOST and value[:QUOTED_MAX] not in message, message[:MOST]


def warnings(settings, value: dict) -> list:
    settings.EVENTDEBUG = value
    return [warning for check in ALL_CHECKS for warning in check()]


@pytest.mark.parametrize("name", OPTIONS)
def test_every_setting_warning_quotes_a_value_cut(settings, name):
    for value in (HUGE[0], ["a." + HUGE[0]], {"x": HUGE[0]}):
        for warning in warnings(settings, {name: value}):
            assert len(warning.msg) < MOST and HUGE[0][:QUOTED_MAX] not in warning.msg, warning.msg[:MOST]


def test_an_unknown_setting_is_named_cut(settings):
    [warning] = warnings(settings, {HUGE[0]: 1})
    assert warning.id == "awx_eventdebug.W002" and len(warning.msg) < MOST
