"""GET metrics/: the exposition read back with prometheus_client's own parsers."""

import re
from datetime import timedelta
from importlib import metadata

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from awx_eventdebug import __version__
from awx_eventdebug.api.base import AWX_AUTHENTICATE
from awx_eventdebug.health.prometheus import FAMILIES, PREFIX, metric_names
from awx_eventdebug.lag.sketch import RELATIVE_ERROR
from awx_eventdebug.overflow.handler import OverflowCaptureHandler
from awx_eventdebug.overflow.queries import purge_overflow
from awx_eventdebug.overflow.record import OVERFLOW_FORMAT
from awx_eventdebug.overflow.upsert import Counts, add_counts
from tests.health.test_report import dead_redis, fill_queue, recent_job
from tests.support import ROOT
from tests.support.capture_helpers import make_record

pytestmark = pytest.mark.django_db

URL = "/api/eventdebug/metrics/"
TEXT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"  # then "; escaping=" on 0.21+
# What Prometheus 2.x and 3.x send.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


def scrape(client, accept="text/plain", query=""):
    response = client.get(URL + query, HTTP_ACCEPT=accept)
    assert response.status_code == 200, response.content
    text = response.content.decode()
    if response["Content-Type"].startswith(OPENMETRICS):
        parsed = openmetrics_families(text)
    else:
        assert response["Content-Type"] == TEXT
        parsed = text_string_to_metric_families(text)
    return text, {family.name: family for family in parsed}


def samples(family, **labels):
    return [s for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items())]


def value(family, name=None, **labels):
    [sample] = [s for s in samples(family, **labels) if name is None or s.name == name]
    return sample.value


def drops_row(node, group, minutes_ago, drops):
    start = timezone.now() - timedelta(minutes=minutes_ago)
    add_counts({(node, group, start, "live"): Counts(start, start, drops, drops, 2)})


def test_every_family_parses_with_the_expected_samples(admin_client, redis_layer_settings, settings):
    settings.CLUSTER_HOST_ID = "awx-1"
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] = 10
    recent_job([1.0, 2.0, 3.0, 4.0])
    fill_queue(redis_layer_settings["CONFIG"]["prefix"], 10, 6)
    drops_row("awx-1", 'job_events-"9"', 2, 7)
    drops_row("awx-2", "job_events-9", 2, 2)
    drops_row("awx-1", "broadcast-group_send", 3, 4)
    drops_row("awx-1", "job_events-1", 24 * 60, 50)  # outside any window: still counted

    text, families = scrape(admin_client)
    assert "# TYPE awx_eventdebug_event_lag_seconds gauge" in text
    assert "# TYPE awx_eventdebug_overflow_drops_total counter" in text
    lag = families["awx_eventdebug_event_lag_seconds"]
    assert "15m" in lag.documentation
    # From the rollups' histograms: within their stated error.
    assert value(lag, kind="job", quantile="0.5") == pytest.approx(2.5, rel=RELATIVE_ERROR)
    assert value(lag, kind="job", quantile="0.99") == pytest.approx(3.97, rel=RELATIVE_ERROR)
    assert {s.labels["quantile"] for s in samples(lag, kind="job")} == {"0.5", "0.9", "0.95", "0.99"}
    assert samples(lag, kind="system_job") == []  # no events: no quantiles, a count of 0
    assert value(families["awx_eventdebug_event_lag_events"], kind="job") == 4
    assert value(families["awx_eventdebug_event_lag_events"], kind="system_job") == 0

    drops = families["awx_eventdebug_overflow_drops"]
    assert drops.type == "counter"
    assert {(s.labels["node"], s.labels["group_kind"]): s.value for s in drops.samples} == {
        ("awx-1", "job_events"): 57,
        ("awx-1", "broadcast"): 4,
        ("awx-2", "job_events"): 2,
    }

    assert value(families["awx_eventdebug_queue_max_fill_ratio"], node="awx-1") == pytest.approx(0.6)
    assert value(families["awx_eventdebug_queues"], node="awx-1") == 1
    assert value(families["awx_eventdebug_queue_messages"], node="awx-1") == 6
    assert value(families["awx_eventdebug_queues_full"], node="awx-1") == 0
    assert 0 <= value(families["awx_eventdebug_queue_max_oldest_message_age_seconds"]) < 60
    assert value(families["awx_eventdebug_window_seconds"]) == 900
    assert all(s.value == 1 for s in families["awx_eventdebug_up"].samples)
    assert not any("80" in name or "percent" in name for name in families)  # no threshold in a name


@pytest.mark.parametrize("accept", [TEXT, PROMETHEUS_ACCEPT], ids=["text", "openmetrics"])
def test_build_info_is_1_with_the_versions_in_its_labels(admin_client, redis_layer_settings, accept):
    _, families = scrape(admin_client, accept)
    [sample] = families["awx_eventdebug_build_info"].samples
    assert families["awx_eventdebug_build_info"].type == "gauge"
    assert sample.name == "awx_eventdebug_build_info"
    assert sample.value == 1
    assert sample.labels == {
        "version": __version__,
        "django": metadata.version("Django"),
        "channels": metadata.version("channels"),
        "channels_redis": metadata.version("channels-redis"),
    }
    assert all(sample.labels.values())
    _, only = scrape(admin_client, accept, "?metric=awx_eventdebug_build_info")
    assert set(only) == {"awx_eventdebug_build_info"}


def test_drops_total_never_goes_down_when_rows_are_purged(admin_client, redis_layer_settings):
    drops_row("awx-1", "job_events-1", 40 * 24 * 60, 5)
    drops_row("awx-1", "job_events-2", 1, 3)
    _, before = scrape(admin_client)
    purge_overflow(timedelta(days=30))
    _, after = scrape(admin_client)
    for families in (before, after):
        assert value(families["awx_eventdebug_overflow_drops"], group_kind="job_events") == 8


def test_a_thousand_jobs_groups_make_one_series(admin_client, redis_layer_settings):
    start = timezone.now() - timedelta(minutes=1)
    add_counts(
        {("awx-1", f"job_events-{job}", start, "live"): Counts(start, start, 1, 1, 2) for job in range(1000)}
        | {("awx-1", "someone-elses", start, "live"): Counts(start, start, 1, 1, 2)}
    )
    _, families = scrape(admin_client)
    assert [(s.labels["group_kind"], s.value) for s in families["awx_eventdebug_overflow_drops"].samples] == [
        ("job_events", 1000),
        ("other", 1),
    ]
    assert sum(len(family.samples) for family in families.values()) < 100


def test_openmetrics_when_the_scraper_asks_for_it(admin_client, redis_layer_settings):
    drops_row("awx-1", "job_events-1", 1, 3)
    text, families = scrape(admin_client, PROMETHEUS_ACCEPT)
    assert text.endswith("# EOF\n")
    assert value(families["awx_eventdebug_overflow_drops"], "awx_eventdebug_overflow_drops_total") == 3
    for accept in ("text/plain;version=0.0.4", "application/json", "*/*", ""):
        scrape(admin_client, accept)


def test_metric_filter_as_awx_has_it(admin_client, redis_layer_settings):
    query = "?metric=awx_eventdebug_up&metric=awx_eventdebug_overflow_drops_total"
    _, families = scrape(admin_client, query=query)
    assert set(families) == {"awx_eventdebug_up", "awx_eventdebug_overflow_drops"}
    response = admin_client.get(URL + "?metric=awx_eventdebug_nope")
    assert response.status_code == 400
    assert response.content.decode().startswith("# {'metric': ")


@pytest.mark.django_db(transaction=True)  # the handler writes its row from its own thread on close
def test_capture_counters_are_counters(admin_client, redis_layer_settings):
    handler = OverflowCaptureHandler(node='node "a"', flush_interval=3600)
    try:
        handler.emit(make_record(OVERFLOW_FORMAT, (1, 3, "job_events-1")))
        handler.emit(make_record("something else", ()))
        _, families = scrape(admin_client)
    finally:
        handler.close()
    parsed = families["awx_eventdebug_capture_parsed"]
    assert parsed.type == "counter"
    assert "this process" in parsed.documentation
    assert value(parsed, "awx_eventdebug_capture_parsed_total", node='node "a"') == 1
    assert value(families["awx_eventdebug_capture_ignored"], node='node "a"') == 1


def test_redis_down_is_up_0_and_the_rest_is_served(admin_client, settings):
    dead_redis(settings)
    recent_job([1.0])
    _, families = scrape(admin_client)
    up = families["awx_eventdebug_up"]
    assert value(up, section="channel_layer") == 0
    assert value(up, section="lag") == 1
    assert families["awx_eventdebug_queues"].samples == []
    assert value(families["awx_eventdebug_event_lag_events"], kind="job") == 1


def test_anonymous_scrape_is_a_401_as_awx_answers_it(settings, redis_layer_settings):
    anonymous = APIClient()
    response = anonymous.get(URL, HTTP_ACCEPT=PROMETHEUS_ACCEPT)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == AWX_AUTHENTICATE
    assert response.content.decode().startswith("# Authentication credentials were not provided.")
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Basic bm9ib2R5Om5vcGU=")  # nobody:nope
    assert wrong.get(URL).status_code == 401

    plain = APIClient()
    plain.force_authenticate(User.objects.create_user("plain", password="pw"))
    assert plain.get(URL).status_code == 403
    auditor_user = User.objects.create_user("auditor", password="pw")
    auditor_user.is_system_auditor = True
    auditor = APIClient()
    auditor.force_authenticate(auditor_user)
    assert auditor.get(URL).status_code == 200
    assert auditor.post(URL).status_code == 403

    settings.EVENTDEBUG = {"METRICS_ALLOW_ANONYMOUS": True}
    scrape(anonymous)
    # The opt-in opens metrics only.
    assert anonymous.get("/api/eventdebug/report/").status_code == 401


def test_every_family_has_a_bounded_label_set():
    for family in FAMILIES:
        if family.name == "build_info":  # one series per process: its versions
            assert family.labels == ("version", "django", "channels", "channels_redis")
        else:
            assert set(family.labels) <= {"section", "kind", "quantile", "node", "group_kind"}, family
        assert (PREFIX + family.name).replace("_", "").isalnum()


def test_docs_list_every_family():
    table = (ROOT / "docs" / "report.md").read_text().split("| metric | type | labels | meaning |", 1)[1]
    listed = set()
    for name in re.findall(r"^\| `(awx_eventdebug_[\w{},]+)`", table, re.MULTILINE):
        stem, _, rest = name.partition("{")
        alternatives, _, suffix = rest.partition("}")
        listed |= {stem + part + suffix for part in alternatives.split(",")} if rest else {name}
    # A counter is listed by its sample name (_total), every other family by its name.
    exposed = {name for name in metric_names() if f"{name}_total" not in metric_names()}
    assert listed == exposed
