"""The lag query's parameters as both faces hand them in (strings), validated once."""

from datetime import timedelta
from decimal import Decimal

import pytest

from awx_eventdebug.awx.tables import MAX_JOB_ID
from awx_eventdebug.lag.params import LagQuerySerializer


def validate(**data):
    serializer = LagQuerySerializer(data=data)
    return serializer.validated_data if serializer.is_valid() else serializer.errors


def test_defaults_come_from_the_parsed_settings(settings):
    settings.EVENTDEBUG = {"LAG_WINDOW": "90m", "LAG_PERCENTILES": [99.5, "75"]}
    query = validate()
    assert query["until"] - query["since"] == timedelta(minutes=90)
    assert query["percentiles"] == (Decimal(75), Decimal("99.5"))
    assert (query["kind"], query["by"], query["job"], query["event"]) == ("job", "none", None, None)


def test_since_and_until_come_from_one_moment():
    query = validate(since="2h")
    assert query["until"] - query["since"] == timedelta(hours=2)
    query = validate(since="3h", until="1h")
    assert query["until"] - query["since"] == timedelta(hours=2)


def test_a_job_leaves_the_window_open():
    query = validate(job="7")
    assert (query["job"], query["since"], query["until"]) == (7, None, None)


@pytest.mark.parametrize("job", ["0", "-1", str(MAX_JOB_ID + 1), "1.5", "seven"])
def test_a_job_id_outside_awx_ids_is_refused(job):
    assert "job" in validate(job=job)


def test_a_job_id_at_the_bound_is_accepted():
    assert validate(job=str(MAX_JOB_ID))["job"] == MAX_JOB_ID


def test_a_default_window_before_year_one_is_out_of_range():
    assert validate(until="0001-01-01T00:30:00Z") == {"until": ["out of range."]}
