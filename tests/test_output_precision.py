"""Times in text output to the second (the millisecond for watch samples), floats in every JSON
document rounded to the microsecond."""

import json
import re

import pytest

from awx_eventdebug.cli.base import when
from awx_eventdebug.jsondoc import rounded
from tests.health.test_report import recent_job, run

pytestmark = pytest.mark.django_db

LONG_FLOAT = re.compile(r"\d\.\d{7,}")
MICROSECONDS = re.compile(r"\d\d:\d\d:\d\d\.\d{4,}")
LAGS = [0.1 + 0.2, 1 / 3, 0.054876000000000036, 2.0]


def test_rounded_reaches_every_float():
    doc = {"a": 0.054876000000000036, "b": [1 / 3, {"c": (2 / 3,)}], "d": 7, "e": "0.1234567", "f": None}
    assert rounded(doc) == {
        "a": 0.054876,
        "b": [0.333333, {"c": [0.666667]}],
        "d": 7,
        "e": "0.1234567",
        "f": None,
    }


def test_when_shows_seconds_or_milliseconds():
    assert when("2026-11-30T05:14:09.954512Z") == "2026-11-30T05:14:09Z"
    assert when("2026-11-30T05:14:09.954512Z", milliseconds=True) == "2026-11-30T05:14:09.954Z"
    assert when("2026-11-30T05:14:09Z", milliseconds=True) == "2026-11-30T05:14:09.000Z"
    assert when("2026-11-30T05:14:09+02:00") == "2026-11-30T05:14:09+02:00"
    assert (when(None), when("job_events-1")) == ("-", "job_events-1")


def test_api_json_floats_are_rounded(admin_client, redis_layer_settings):
    recent_job(LAGS)
    for url in ("/api/eventdebug/lag/?since=1h&by=job", "/api/eventdebug/report/?since=1h"):
        text = admin_client.get(url, HTTP_ACCEPT="application/json").content.decode()
        assert json.loads(text) and not LONG_FLOAT.search(text), text


def test_cli_json_floats_are_rounded_and_text_times_are_to_the_second(redis_layer_settings):
    recent_job(LAGS)
    _, out, _ = run("lag", "--since", "1h", "--by", "job", "--json")
    assert json.loads(out)["count"] == 4 and not LONG_FLOAT.search(out)
    for args in (("lag", "--since", "1h"), ("report", "--since", "1h"), ("check", "--since", "1h")):
        _, out, error = run(*args)
        assert re.search(r"\d\d:\d\d:\d\dZ", out + error), (args, out)
        assert not MICROSECONDS.search(out + error), (args, out)
    _, out, _ = run("purge", "--dry-run")
    assert re.search(r"older than \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", out), out
