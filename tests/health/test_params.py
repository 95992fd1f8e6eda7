"""The report's and the check's parameters: one moment per validation, the window they give."""

from datetime import timedelta

import pytest
from django.utils import timezone

from awx_eventdebug.health.params import CheckQuerySerializer, ReportQuerySerializer


def validated(serializer_class, **data):
    serializer = serializer_class(data=data)
    assert serializer.is_valid(), serializer.errors
    return serializer.validated_data


def test_the_window_ends_at_the_moment_of_validation(settings):
    before = timezone.now()
    window = validated(ReportQuerySerializer, since="15m")["window"]
    assert window.until - window.since == timedelta(minutes=15)
    assert before <= window.until <= timezone.now()
    settings.EVENTDEBUG = {"HEALTH_WINDOW": "2h"}
    window = validated(ReportQuerySerializer)["window"]
    assert window.until - window.since == timedelta(hours=2)


def test_check_keeps_its_thresholds_beside_the_window():
    query = validated(CheckQuerySerializer, since="1h", max_p99="2.5", max_drops="3")
    assert (query["max_p99"], query["max_drops"], "max_fill" in query) == (2.5, 3, False)
    assert query["window"].until - query["window"].since == timedelta(hours=1)


@pytest.mark.parametrize(
    "since, message",
    [
        ("2999-01-01T00:00:00Z", "must be in the past."),
        ("0s", "must be longer than zero"),
        ("40d", "longer than the maximum 31d"),
        ("later", "neither an ISO 8601 time nor a duration"),
    ],
)
def test_a_bad_since_is_named(since, message):
    serializer = CheckQuerySerializer(data={"since": since, "max_fill": "101"})
    assert not serializer.is_valid()
    assert message in " ".join(serializer.errors["since"])
    assert "max_fill" in serializer.errors  # every bad field at once
