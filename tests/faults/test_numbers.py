"""Every numeric and time option and query parameter rejects non-finite, out-of-range and
overflowing values with a clear error: exit 2 naming the option (never a traceback, never a
loop without sleep or a run without end), 400 naming the field (never a 500).

The options are enumerated from the ``eventdebug`` parsers and the views' query serializers
themselves, so a new option is swept without a new test.
"""

from __future__ import annotations

import argparse
import signal
import tempfile
from contextlib import contextmanager
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework import serializers
from rest_framework.test import APIClient

from awx_eventdebug import urls
from awx_eventdebug.management.commands.eventdebug import Command

pytestmark = pytest.mark.django_db

NON_FINITE = ["nan", "inf", "-inf", "1e309", "99999999999999999999999"]
OUT_OF_RANGE = ["-1", "0001-01-01", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "99999999999d"]
# Options whose values are names, globs or choices: "nan" may be a fine group name.
TEXT_OPTIONS = {
    "--group",
    "--node",
    "--pattern",
    "--event",
    "--kind",
    "--by",
    "--source",
    "--timeline",
    "--layer",
}
# ...and GET metrics/'s family names, which it refuses in its own format (text), not JSON.
TEXT_FIELDS = {name.lstrip("-").replace("-", "_") for name in TEXT_OPTIONS} | {"metric"}
# What keeps each run short whatever the option under test: one sample, a bounded listen.
FINITE = {
    "watch": ["--count", "1", "--interval", "0.01"],
    "listen": ["--group", "edtest-sweep", "--duration", "0.2"],
}
SECONDS = 20  # no run may take longer


def cli_options():
    parser = Command().create_parser("manage.py", "eventdebug")
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            if action.option_strings and action.nargs != 0 and "--json" not in action.option_strings:
                yield name, action.option_strings[-1]


def api_fields():
    for pattern in urls.urlpatterns:
        serializer_class = getattr(pattern.callback.view_class, "query_serializer_class", None)
        if serializer_class is not None:
            for field in serializer_class().fields:
                yield pattern.name, field


@contextmanager
def deadline(seconds):
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(subcommand, option, value):
    args = [subcommand]
    if subcommand == "ingest":
        args.append(LOG.name)
    for fixed in range(0, len(FINITE.get(subcommand, [])), 2):
        if FINITE[subcommand][fixed] != option:
            args += FINITE[subcommand][fixed : fixed + 2]
    err = StringIO()
    try:
        with deadline(SECONDS):
            call_command("eventdebug", *args, f"{option}={value}", stdout=StringIO(), stderr=err)
    except CommandError as exc:
        # call_command turns argparse's usage error (exit 2 from a shell) into this.
        return 2 if str(exc).startswith("Error: argument") else exc.returncode, str(exc)
    except SystemExit as exc:  # argparse's own usage error
        return exc.code, err.getvalue()
    return 0, ""


LOG = tempfile.NamedTemporaryFile("w", suffix=".log")  # noqa: SIM115 - lives as long as the module


@pytest.mark.parametrize(
    ("subcommand", "option"),
    list(cli_options()),
    ids=lambda pair: f"{pair[0]} {pair[1]}" if isinstance(pair, tuple) else None,
)
@pytest.mark.parametrize("value", NON_FINITE + OUT_OF_RANGE)
def test_every_option_rejects_what_no_number_or_time_can_be(redis_layer_settings, subcommand, option, value):
    code, message = run(subcommand, option, value)
    assert code in (0, 1, 2), message
    if option not in TEXT_OPTIONS and value in NON_FINITE:
        assert code == 2 and option in message, message


@pytest.mark.parametrize(
    ("route", "field"),
    list(api_fields()),
    ids=lambda pair: f"{pair[0]}:{pair[1]}" if isinstance(pair, tuple) else None,
)
@pytest.mark.parametrize("value", NON_FINITE + OUT_OF_RANGE)
def test_every_query_parameter_rejects_what_no_number_or_time_can_be(
    redis_layer_settings, route, field, value
):
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("admin", "a@example.com", "pw"))
    response = client.get(reverse(f"awx_eventdebug:{route}"), {field: value})
    assert response.status_code in (200, 400), response.content[:300]
    if field not in TEXT_FIELDS and value in NON_FINITE:
        assert response.status_code == 400 and field in refused_fields(response), response.content[:300]


def refused_fields(response) -> set[str]:
    """The fields a 400 names: the API's JSON keys, the dashboard page's "field: why" lines."""
    if response["Content-Type"].startswith("application/json"):
        return set(response.json())
    return {line.split(":", 1)[0] for line in response.content.decode().splitlines()}


def test_the_sweep_sees_the_options():
    options = set(cli_options())
    assert {("watch", "--interval"), ("listen", "--duration"), ("purge", "--older-than")} <= options
    assert {("check", "--max-backlog-age"), ("sample", "--interval"), ("path", "--since")} <= options
    assert {
        ("overflow", "since"),
        ("check", "max_backlog"),
        ("path", "since"),
        ("listen-gaps", "job"),
    } <= set(api_fields())
    assert serializers  # the fields come from the serializers themselves
