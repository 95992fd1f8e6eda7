"""LAG_MAX_WINDOW, enforced by one rule on every path: GET lag/ and ``eventdebug lag``, GET
report/ and check/ and their commands, the default windows (LAG_WINDOW, HEALTH_WINDOW) and the
system checks. A window someone gives is refused past the maximum (400 naming since, exit 2);
a default window from settings is cut to it, and the system check says so. The same rule
refuses a window that ends where it starts, on lag and on overflow (which has no maximum)."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils.dateparse import parse_datetime

from awx_eventdebug.checks import ALL_CHECKS, W010_LAG_WINDOW_OVER_MAX, W060_HEALTH_WINDOW_OVER_MAX
from awx_eventdebug.window import WindowTooLong, check_window, default_over_max, default_since

pytestmark = pytest.mark.django_db

UNTIL = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MAXIMUM = {"LAG_MAX_WINDOW": "1d"}
REFUSED = "the window is longer than the maximum 1d (EVENTDEBUG['LAG_MAX_WINDOW'])."


def warning_ids():
    return {message.id for check in ALL_CHECKS for message in check()}


def length(document):
    window = document.get("window", document)
    return parse_datetime(window["until"]) - parse_datetime(window["since"])


def command(*args):
    """(exit code, error) of ``eventdebug`` with --json output thrown away."""
    try:
        call_command("eventdebug", *args, "--json", stdout=StringIO())
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, ""


def test_check_window_accepts_the_maximum_and_refuses_longer(settings):
    settings.EVENTDEBUG = MAXIMUM
    check_window(UNTIL - timedelta(days=1), UNTIL)
    with pytest.raises(WindowTooLong, match=r"maximum 1d \(EVENTDEBUG\['LAG_MAX_WINDOW'\]\)"):
        check_window(UNTIL - timedelta(days=1, microseconds=1), UNTIL)


def test_default_windows_are_cut_to_the_maximum(settings):
    settings.EVENTDEBUG = {**MAXIMUM, "LAG_WINDOW": "2d", "HEALTH_WINDOW": "1d"}
    assert default_since(UNTIL, "LAG_WINDOW") == UNTIL - timedelta(days=1)
    assert default_since(UNTIL, "HEALTH_WINDOW") == UNTIL - timedelta(days=1)
    assert (default_over_max("LAG_WINDOW"), default_over_max("HEALTH_WINDOW")) == (True, False)


@pytest.mark.parametrize(
    "path, since",
    [("lag", "25h"), ("lag", "2026-11-01T00:00:00Z"), ("report", "25h"), ("check", "25h")],
)
def test_a_window_given_past_the_maximum_is_refused_on_every_face(admin_client, settings, path, since):
    settings.EVENTDEBUG = MAXIMUM
    response = admin_client.get(f"/api/eventdebug/{path}/", {"since": since})
    assert response.status_code == 400
    assert response.json() == {"since": [REFUSED]}
    assert command(path, "--since", since) == (2, f"--since: {REFUSED}")


@pytest.mark.parametrize("path", ["lag", "report", "check"])
def test_a_window_given_at_the_maximum_is_accepted_on_every_face(
    admin_client, settings, redis_layer_settings, path
):
    settings.EVENTDEBUG = MAXIMUM
    response = admin_client.get(f"/api/eventdebug/{path}/", {"since": "1d"})
    assert response.status_code == 200
    assert length(response.json()) == timedelta(days=1)  # since and until from one moment
    # check fails on thresholds or finds nothing to judge, never on the window
    assert command(path, "--since", "1d")[0] in (0, 1, 3)


def test_a_lag_window_given_with_until_is_measured_from_until(admin_client, settings):
    settings.EVENTDEBUG = MAXIMUM
    until = "2026-11-27T12:00:00Z"
    ok = admin_client.get("/api/eventdebug/lag/", {"since": "2026-11-26T12:00:00Z", "until": until})
    assert ok.status_code == 200
    refused = admin_client.get("/api/eventdebug/lag/", {"since": "2026-11-26T11:59:59Z", "until": until})
    assert refused.json() == {"since": [REFUSED]}


def test_default_windows_past_the_maximum_are_cut_and_reported(admin_client, settings, redis_layer_settings):
    settings.EVENTDEBUG = {**MAXIMUM, "LAG_WINDOW": "2d", "HEALTH_WINDOW": "3d"}
    assert {W010_LAG_WINDOW_OVER_MAX, W060_HEALTH_WINDOW_OVER_MAX} <= warning_ids()
    assert length(admin_client.get("/api/eventdebug/lag/").json()) == timedelta(days=1)
    until = "2026-11-27T12:00:00Z"
    assert length(admin_client.get("/api/eventdebug/lag/", {"until": until}).json()) == timedelta(days=1)
    for path in ("report", "check"):
        assert length(admin_client.get(f"/api/eventdebug/{path}/").json()) == timedelta(days=1)
    metrics = admin_client.get("/api/eventdebug/metrics/").content.decode()
    assert "\nawx_eventdebug_window_seconds 86400.0\n" in metrics
    settings.EVENTDEBUG = {**MAXIMUM, "LAG_WINDOW": "1d", "HEALTH_WINDOW": "1d"}
    assert not {W010_LAG_WINDOW_OVER_MAX, W060_HEALTH_WINDOW_OVER_MAX} & warning_ids()


@pytest.mark.parametrize("path", ["lag", "overflow", "overflow/summary"])
def test_a_window_ending_where_it_starts_is_refused_alike(admin_client, path):
    response = admin_client.get(
        f"/api/eventdebug/{path}/", {"since": UNTIL.isoformat(), "until": UNTIL.isoformat()}
    )
    assert response.status_code == 400
    assert response.json() == {"until": ["must be later than since."]}


@pytest.mark.parametrize("path", ["lag", "report", "check", "path"])
def test_a_since_in_the_future_is_blamed_not_the_until_nobody_gave(admin_client, path):
    response = admin_client.get(f"/api/eventdebug/{path}/", {"since": "2030-01-01"})
    assert (response.status_code, response.json()) == (400, {"since": ["must be in the past."]})
    assert command(path, "--since", "2030-01-01") == (2, "--since: must be in the past.")


def test_overflow_windows_have_no_maximum(admin_client, settings):
    # Overflow rows are coalesced per CAPTURE_WINDOW and paged: no events to sort.
    settings.EVENTDEBUG = MAXIMUM
    assert admin_client.get("/api/eventdebug/overflow/", {"since": "25h"}).status_code == 200
    assert command("overflow", "--since", "25h") == (0, "")
