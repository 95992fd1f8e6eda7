"""GET listen/gaps/: the gauge's counter gaps classified on the stand-in schema."""

import pytest
from rest_framework.test import APIClient

from awx_eventdebug.listen.params import MAX_MISSING_RANGES, parse_ranges
from tests.support.workloads import BASE, add_job_with_quiet_events

pytestmark = pytest.mark.django_db

URL = "/api/eventdebug/listen/gaps/"


def job_with_quiet_events():
    """Ten events a second apart; counters 3 and 6 have no output."""
    return add_job_with_quiet_events(BASE, 10, quiet=(3, 6))


def test_the_gauge_learns_which_gaps_are_losses(admin_client):
    job = job_with_quiet_events()
    response = admin_client.get(URL, {"job": job, "missing": "3-4,6,11"})
    assert response.status_code == 200
    assert response.json() == {
        "kind": "job",
        "job": job,
        "missing_counters": 4,
        "cause_counters": {
            "no_output": 2,
            "live_updates_off": 0,
            "rate_limited": 0,
            "not_stored": 1,
            "lost": 1,
        },
        "lost_counters": 1,
        "awx": {"max_websocket_events_per_second": 30, "ui_live_updates_enabled": True},
    }


def test_awx_settings_are_read_as_awx_reads_them(admin_client, settings):
    job = job_with_quiet_events()
    settings.UI_LIVE_UPDATES_ENABLED = False
    body = admin_client.get(URL, {"job": job, "missing": "2-4"}).json()
    assert (body["cause_counters"]["live_updates_off"], body["lost_counters"]) == (3, 0)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"missing": "1"}, "job"),
        ({"job": "0", "missing": "1"}, "job"),
        ({"job": "1", "missing": "9-3"}, "missing"),
        ({"job": "1", "missing": "a,b"}, "missing"),
        ({"job": "1", "missing": "0"}, "missing"),
        ({"job": "1", "missing": ",".join(str(c * 2) for c in range(1, MAX_MISSING_RANGES + 2))}, "missing"),
        ({"job": "1", "missing": "1-2147483647"}, "missing"),  # billions of rows for one request
        ({"job": "1", "missing": "1", "kind": "playbook"}, "kind"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(admin_client, params, field):
    response = admin_client.get(URL, params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_job_under_the_wrong_kind_or_unknown_is_a_400_naming_job(admin_client):
    """As ``listen --job`` refuses them (tests/listen/test_cli.py), and lag words them."""
    job = job_with_quiet_events()
    response = admin_client.get(URL, {"kind": "system_job", "job": job, "missing": "2"})
    assert response.status_code == 400
    assert response.json() == {"job": [f"job {job} is of kind job, not system_job. Ask with kind job."]}
    response = admin_client.get(URL, {"job": 4242, "missing": "2"})
    assert (response.status_code, response.json()) == (
        400,
        {"job": ["no job with id 4242 in main_unifiedjob."]},
    )


def test_anonymous_is_refused():
    assert APIClient().get(URL, {"job": 1, "missing": "2"}).status_code in (401, 403)


def test_ranges_are_sorted_and_merged():
    assert parse_ranges("12, 5-9,10,3") == [(3, 3), (5, 10), (12, 12)]
