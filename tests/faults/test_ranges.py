"""Every number and duration option declares the range its consumers honour (conf.Option's
minimum and maximum), and the sweep is derived from those declarations: a value just outside is
refused (W003) and the default used; the bounds are taken, and every subcommand, endpoint and
the capture run with every option at a bound, never with a traceback, a 500 or a value that
PostgreSQL, Redis or a timer refuses.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from awx_eventdebug import urls
from awx_eventdebug.checks import W003_BAD_VALUE, check_settings
from awx_eventdebug.cli import SUBCOMMANDS
from awx_eventdebug.conf import OPTIONS, effective_settings, get_config
from awx_eventdebug.db import diagnostic_cursor
from awx_eventdebug.errors import Unavailable
from awx_eventdebug.maintenance.slot import run_slot
from awx_eventdebug.models import ChannelOverflow
from awx_eventdebug.overflow.handler import OverflowCaptureHandler
from awx_eventdebug.path.sampler import WRITTEN
from awx_eventdebug.timeutil import parse_duration
from tests.faults.test_numbers import deadline

pytestmark = pytest.mark.django_db

RANGED = [name for name, option in OPTIONS.items() if option.minimum is not None]
ENDS = ("minimum", "maximum")


def test_every_number_and_duration_declares_its_range():
    for name, option in OPTIONS.items():
        number = bool({int, float} & set(option.types)) and bool not in option.types
        duration = option.parse is parse_duration
        declared = option.minimum is not None and option.maximum is not None
        assert declared == (number or duration), name
    assert {"STATEMENT_TIMEOUT", "REDIS_TIMEOUT", "CAPTURE_FLUSH_INTERVAL", "CHECK_MAX_FILL"} <= set(RANGED)


def beyond(option, bound, direction: int):
    """The nearest value past ``bound`` (direction -1: below, +1: above) of the option's type."""
    if option.parse is parse_duration:
        return f"{parse_duration(bound).total_seconds() + direction * 0.001:.3f}s"
    if float not in option.types:
        return bound + direction
    return math.nextafter(float(bound), direction * math.inf)


@pytest.mark.parametrize("name", RANGED)
def test_a_value_just_outside_the_range_is_refused_and_the_default_used(settings, name):
    option = OPTIONS[name]
    for value in (beyond(option, option.minimum, -1), beyond(option, option.maximum, +1)):
        settings.EVENTDEBUG = {name: value}
        [warning] = check_settings()
        assert warning.id == W003_BAD_VALUE, warning.msg
        assert f"EVENTDEBUG[{name!r}]" in warning.msg and f"must be {option.range_text()}" in warning.msg
        assert effective_settings()[name] == option.default


@pytest.mark.parametrize("name", RANGED)
def test_the_bounds_are_taken(settings, name):
    option = OPTIONS[name]
    for value in (option.minimum, option.maximum) + (() if option.off is None else (option.off,)):
        settings.EVENTDEBUG = {name: value}
        assert check_settings() == []
        assert effective_settings()[name] == value


LOG = tempfile.NamedTemporaryFile("w", suffix=".log")  # noqa: SIM115 - lives as long as the module
LOG.write("2021-04-28 20:53:51,230 INFO channels_redis.core 1 of 4 channels over capacity in group g\n")
LOG.flush()
# What each subcommand runs with: finite, and reading what the options bound.
RUNS = {
    "doctor": [],
    "lag": [],
    "overflow": ["--summary"],
    "ingest": [LOG.name],
    "purge": ["--dry-run"],
    "groups": [],
    "queues": [],
    "watch": ["--count", "1", "--interval", "0.01"],
    "listen": ["--group", "edtest-ranges", "--duration", "0.2"],
    "cleanup": [],
    "report": [],
    "check": [],
    "path": [],
    "sample": [],
}


def test_the_sweep_runs_every_subcommand():
    assert set(RUNS) == {subcommand.name for subcommand in SUBCOMMANDS}


def run(args) -> tuple[int, str]:
    """Exit status and message; any other exception (a traceback) fails the test."""
    try:
        with deadline(30):
            call_command("eventdebug", *args, stdout=StringIO(), stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, ""


def at(end: str) -> dict:
    return {name: getattr(OPTIONS[name], end) for name in RANGED}


@pytest.mark.parametrize("subcommand", RUNS)
def test_every_subcommand_runs_with_every_option_at_a_bound(redis_layer_settings, settings, subcommand):
    args = [subcommand, *RUNS[subcommand]]
    settings.EVENTDEBUG = {}
    usual, _ = run(args)
    # At the maximum nothing changes but what the wider bounds let through: never a failure
    # of a value PostgreSQL or a socket refuses (exit 2), and no threshold exceeded.
    settings.EVENTDEBUG = at("maximum")
    code, message = run(args)
    assert code == (0 if subcommand == "check" and usual == 1 else usual), message
    # At the minimum a statement may run out of its millisecond: said so, as any exit 2 is.
    settings.EVENTDEBUG = at("minimum")
    code, message = run(args)
    assert code in (0, 1, 2, 3) and "Traceback" not in message, message


@pytest.mark.parametrize("end", ENDS)
def test_every_endpoint_answers_with_every_option_at_a_bound(redis_layer_settings, settings, end):
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("admin", "a@example.com", "pw"))
    settings.EVENTDEBUG = at(end)
    for pattern in urls.urlpatterns:
        if pattern.pattern.converters:
            continue  # a page of one object: the sweep reads the collections
        response = client.get(reverse(f"awx_eventdebug:{pattern.name}"), {"job": 1, "missing": "1"})
        assert response.status_code in (200, 400, 404, 503), (pattern.name, response.content[:300])


@pytest.mark.postgres_only(reason="statement_timeout")
@pytest.mark.parametrize(("end", "shown"), [("minimum", "1ms"), ("maximum", "1d")])
def test_postgresql_takes_the_statement_timeout_at_its_bounds(settings, end, shown):
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": getattr(OPTIONS["STATEMENT_TIMEOUT"], end)}
    with diagnostic_cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == shown  # never 0, which turns it off


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("end", ENDS)
def test_the_capture_writes_with_its_options_at_a_bound(settings, end):
    # Every option at its bound but STATEMENT_TIMEOUT: at 1 ms a loaded machine may cancel the
    # write itself (the handler keeps it and retries; the commands' tests above take that case).
    settings.EVENTDEBUG = {**at(end), "STATEMENT_TIMEOUT": OPTIONS["STATEMENT_TIMEOUT"].default}
    config = get_config()
    logger = logging.Logger(f"tests.ranges.{end}", logging.INFO)
    handler = OverflowCaptureHandler(node=f"ranges-{end}")
    logger.addHandler(handler)
    try:
        logger.info("1 of 4 channels over capacity in group ranges")
        if end == "minimum":  # written by the flusher's own interval
            until = time.monotonic() + 10
            while not ChannelOverflow.objects.filter(node=f"ranges-{end}").exists():
                assert time.monotonic() < until, handler.stats()
                time.sleep(0.05)
        else:
            assert handler.flush(timeout=10), handler.stats()
    finally:
        logger.removeHandler(handler)
        handler.close()
    row = ChannelOverflow.objects.get(node=f"ranges-{end}")
    assert row.drops == 1 and row.window_start.timestamp() % config["CAPTURE_WINDOW"] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("end", ENDS)
def test_a_maintenance_slot_runs_with_every_option_at_a_bound(redis_layer_settings, settings, end):
    settings.EVENTDEBUG = at(end)
    try:
        result = run_slot(get_config()["SAMPLE_INTERVAL"], f"ranges-{end}")
    except Unavailable as exc:  # a statement ran out of the shortest timeout, 1 ms: said so
        assert end == "minimum" and "statement timeout" in str(exc), exc
        return
    finally:
        connection.close()  # the slot put the session under STATEMENT_TIMEOUT, as its thread's
    assert result["sample"]["status"] == WRITTEN, result
    if end == "maximum":
        assert result["upkeep"]["errors"] == {}, result
