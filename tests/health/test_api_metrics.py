"""GET metrics/: the exposition read back with prometheus_client's own parsers."""

import re
from datetime import timedelta
from importlib import metadata
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from awx_eventdebug import __version__
from awx_eventdebug.api.base import AWX_AUTHENTICATE
from awx_eventdebug.awx.messages import GROUP_KINDS
from awx_eventdebug.awx.tables import KINDS
from awx_eventdebug.columns import SOURCE_INGEST
from awx_eventdebug.health import prometheus
from awx_eventdebug.health.cache import READINGS
from awx_eventdebug.health.prometheus import FAMILIES, PREFIX
from awx_eventdebug.health.reporter import LEASE, claim
from awx_eventdebug.lag import reuse
from awx_eventdebug.lag.histogram import BOUNDS
from awx_eventdebug.models import LagRollup
from awx_eventdebug.overflow.queries import cumulative_drops, purge_overflow
from awx_eventdebug.overflow.upsert import Counts, add_counts
from tests.health.test_report import dead_redis, fill_queue, nodes_one_ahead, recent_job
from tests.support import ROOT
from tests.support.workloads import add_job

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
    claim("awx-1", timezone.now() - timedelta(minutes=10))  # the lag counters count from then
    recent_job([1.0, 2.0, 3.0, 4.0])
    fill_queue(redis_layer_settings["CONFIG"]["prefix"], 10, 6)
    drops_row("awx-1", 'job_events-"9"', 2, 7)
    drops_row("awx-2", "job_events-9", 2, 2)
    drops_row("awx-1", "broadcast-group_send", 3, 4)
    drops_row("awx-1", "job_events-1", 24 * 60, 50)  # outside any window: still counted

    text, families = scrape(admin_client)
    assert "# TYPE awx_eventdebug_event_lag_seconds histogram" in text
    assert "# TYPE awx_eventdebug_overflow_drops_total counter" in text
    assert "quantile" not in text
    lag = families["awx_eventdebug_event_lag_seconds"]
    buckets = {s.labels["le"]: s.value for s in samples(lag, kind="job") if s.name.endswith("_bucket")}
    assert [buckets[le] for le in ("0.5", "1.0", "2.5", "5.0", "+Inf")] == [0, 1, 2, 4, 4]
    assert list(buckets.values()) == sorted(buckets.values())
    assert value(lag, "awx_eventdebug_event_lag_seconds_count", kind="job") == 4
    assert value(lag, "awx_eventdebug_event_lag_seconds_sum", kind="job") == pytest.approx(10.0)
    assert value(lag, "awx_eventdebug_event_lag_seconds_count", kind="system_job") == 0
    # A help naming a sample says one that is written: the histogram writes no _created.
    assert "_created" not in lag.documentation and not any(s.name.endswith("_created") for s in lag.samples)
    assert "15m" in families["awx_eventdebug_event_lag_events"].documentation
    assert value(families["awx_eventdebug_event_lag_events"], kind="job") == 4
    assert value(families["awx_eventdebug_event_lag_events"], kind="system_job") == 0
    assert value(families["awx_eventdebug_cluster_reporter"], node="awx-1") == 1

    drops = families["awx_eventdebug_overflow_drops"]
    assert drops.type == "counter"
    assert {(s.labels["node"], s.labels["group_kind"]): s.value for s in drops.samples if s.value} == {
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
        assert value(families["awx_eventdebug_overflow_drops"], node="awx-1", group_kind="job_events") == 8


def test_the_drops_counter_reads_the_totals_not_the_rows(admin_client, redis_layer_settings):
    """The counter is read from the totals the writers keep: a scrape costs the same whatever
    the capture's table holds (a month of a persistent overflow is millions of rows); the rows it
    reads are the window's, for the check's figures."""
    for minutes_ago in range(0, 40 * 24 * 60, 24 * 60):
        drops_row("awx-1", "job_events-1", minutes_ago, 2)
    with CaptureQueriesContext(connection) as captured:
        _, families = scrape(admin_client)
    assert value(families["awx_eventdebug_overflow_drops"], node="awx-1", group_kind="job_events") == 80
    rows = [q["sql"] for q in captured.captured_queries if "awx_eventdebug_channeloverflow" in q["sql"]]
    assert all('"last_seen" >=' in sql for sql in rows), rows
    assert any("awx_eventdebug_overflowtotal" in q["sql"] for q in captured.captured_queries)


def test_a_thousand_jobs_groups_make_one_series(admin_client, redis_layer_settings):
    start = timezone.now() - timedelta(minutes=1)
    add_counts(
        {("awx-1", f"job_events-{job}", start, "live"): Counts(start, start, 1, 1, 2) for job in range(1000)}
        | {("awx-1", "someone-elses", start, "live"): Counts(start, start, 1, 1, 2)}
    )
    _, families = scrape(admin_client)
    drops = families["awx_eventdebug_overflow_drops"].samples
    assert [(s.labels["group_kind"], s.value) for s in drops if s.value] == [
        ("job_events", 1000),
        ("other", 1),
    ]
    histograms = len(KINDS) * (len(BOUNDS) + 3)  # a bucket per bound, +Inf, _count and _sum per kind
    assert len(drops) == 2 * len(GROUP_KINDS) + 2  # each group kind of awx-1 and this node, at 0 or not
    assert sum(len(family.samples) for family in families.values()) < 100 + histograms


def test_openmetrics_when_the_scraper_asks_for_it(admin_client, redis_layer_settings):
    drops_row("awx-1", "job_events-1", 1, 3)
    text, families = scrape(admin_client, PROMETHEUS_ACCEPT)
    assert text.endswith("# EOF\n")
    assert (
        value(
            families["awx_eventdebug_overflow_drops"],
            "awx_eventdebug_overflow_drops_total",
            node="awx-1",
            group_kind="job_events",
        )
        == 3
    )
    for accept in ("text/plain;version=0.0.4", "application/json", "*/*", ""):
        scrape(admin_client, accept)


def test_metric_filter_as_awx_has_it(admin_client, redis_layer_settings):
    query = "?metric=awx_eventdebug_up&metric=awx_eventdebug_overflow_drops_total"
    _, families = scrape(admin_client, query=query)
    assert set(families) == {"awx_eventdebug_up", "awx_eventdebug_overflow_drops"}
    _, families = scrape(admin_client, query="?metric=awx_eventdebug_event_lag_seconds_bucket")
    assert set(families) == {"awx_eventdebug_event_lag_seconds"}


def test_a_bad_metric_is_a_400_naming_the_field_in_one_comment_line(admin_client, redis_layer_settings):
    response = admin_client.get(URL + "?metric=awx_eventdebug_nope&metric=awx_eventdebug_up")
    assert response.status_code == 400
    text = response.content.decode()
    assert text.startswith('# metric: "awx_eventdebug_nope" is not one of awx_eventdebug_build_info, ')
    assert text.count("\n") == 1 and text.endswith("\n") and "ErrorDetail" not in text


def test_capture_counters_of_one_process_are_not_exported(admin_client, redis_layer_settings):
    """Behind AWX's uwsgi each scrape reaches another worker: one process's counters would jump
    from worker to worker. The drops every process wrote are the per-node figure."""
    _, families = scrape(admin_client)
    assert not [name for name in families if "capture" in name]


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
            assert set(family.labels) <= {"section", "kind", "node", "group_kind"}, family
        assert (PREFIX + family.name).replace("_", "").isalnum()


def test_docs_list_every_family():
    table = (ROOT / "docs" / "report.md").read_text().split("| metric | type | labels | meaning |", 1)[1]
    listed = set()
    for name in re.findall(r"^\| `(awx_eventdebug_[\w{},]+)`", table, re.MULTILINE):
        stem, _, rest = name.partition("{")
        alternatives, _, suffix = rest.partition("}")
        listed |= {stem + part + suffix for part in alternatives.split(",")} if rest else {name}
    # A counter is listed by its sample name (_total), every other family by its name.
    exposed = {PREFIX + f.name + ("_total" if f.kind == "counter" else "") for f in prometheus.families()}
    assert listed == exposed


def test_one_node_at_a_time_exports_the_cluster_series(admin_client, redis_layer_settings, settings):
    """Two web nodes scraped: the lease's node exports the database's figures, the other only its
    own, so sum() over the instances counts each drop once; a stopped reporter is replaced."""
    drops_row("awx-1", "job_events-1", 1, 5)
    settings.CLUSTER_HOST_ID = "web-1"
    _, first = scrape(admin_client)
    settings.CLUSTER_HOST_ID = "web-2"
    _, second = scrape(admin_client)
    assert value(first["awx_eventdebug_cluster_reporter"], node="web-1") == 1
    assert value(second["awx_eventdebug_cluster_reporter"], node="web-2") == 0
    assert value(first["awx_eventdebug_overflow_drops"], node="awx-1", group_kind="job_events") == 5
    for name in (
        "awx_eventdebug_overflow_drops",
        "awx_eventdebug_event_lag_seconds",
        "awx_eventdebug_window_seconds",
    ):
        assert name not in second, name
    assert {s.labels["section"] for s in second["awx_eventdebug_up"].samples} == {"reporter", "channel_layer"}
    assert "awx_eventdebug_queues" in second  # its own queues
    assert "web-2" in {s.labels.get("node") for s in second["awx_eventdebug_queue_max_fill_ratio"].samples}

    later = timezone.now() + LEASE + timedelta(seconds=1)  # web-1 not scraped for a whole lease
    assert claim("web-2", later).reporting
    assert not claim("web-1", later).reporting


@pytest.mark.parametrize("retention", ["30d"])
def test_the_counters_origin_moves_when_the_rollups_it_sums_could_be_purged(settings, retention):
    settings.EVENTDEBUG = {"RETENTION": retention}
    start = timezone.now() - timedelta(days=20)
    first = claim("web-1", start)
    assert claim("web-1", start + timedelta(days=10)).since == first.since  # renewed, same origin
    moved = claim("web-1", start + timedelta(days=16))  # older than RETENTION / 2
    assert moved.since > first.since


def test_lag_counters_only_grow(admin_client, redis_layer_settings):
    claim("example-node", timezone.now() - timedelta(minutes=10))
    recent_job([0.2, 12.0])
    _, before = scrape(admin_client)
    add_job("job", timezone.now() - timedelta(seconds=30), [0.3])  # stored now: AWX stamps modified on insert
    READINGS.clear()  # the next scrape of the HEALTH_CACHE period would share the first's reading
    _, after = scrape(admin_client)

    def buckets(families):
        lag = families["awx_eventdebug_event_lag_seconds"]
        return [s.value for s in samples(lag, kind="job") if s.name.endswith("_bucket")]

    assert buckets(before)[-1] == 2 and buckets(after)[-1] == 3
    assert all(b <= a for b, a in zip(buckets(before), buckets(after), strict=True))
    assert (
        value(
            before["awx_eventdebug_event_lag_seconds"],
            "awx_eventdebug_event_lag_seconds_bucket",
            kind="job",
            le="10.0",
        )
        == 1
    )


def test_values_are_rounded(admin_client, redis_layer_settings):
    claim("example-node", timezone.now() - timedelta(minutes=10))
    recent_job([0.1, 0.2, 0.7])  # their float sum is 0.9999999999999999
    text, _ = scrape(admin_client)
    assert 'awx_eventdebug_event_lag_seconds_sum{kind="job"} 1.0' in text
    assert not re.search(r"\d\.\d{7,}", text)


def test_ingested_old_logs_never_raise_the_live_drops_counter(admin_client, redis_layer_settings, tmp_path):
    drops_row("awx-1", "job_events-1", 1, 5)
    _, before = scrape(admin_client)
    log = tmp_path / "tower.log"
    log.write_text(
        "".join(
            f"2020-04-28 20:53:{second:02d},000 INFO     channels_redis.core 1 of 2 channels over capacity "
            f"in group job_events-{second}\n"
            for second in range(25)
        )
    )
    call_command("eventdebug", "ingest", str(log), "--node", "awx-1", stdout=StringIO())
    _, after_ingest = scrape(admin_client)
    purge_overflow(timedelta(days=30))  # the maintenance thread purges the 2020 rows at once
    _, after_purge = scrape(admin_client)
    for families in (before, after_ingest, after_purge):
        assert value(families["awx_eventdebug_overflow_drops"], node="awx-1", group_kind="job_events") == 5
    assert cumulative_drops(SOURCE_INGEST) == {("awx-1", "job_events"): 25}


def test_drops_counters_start_at_0_before_the_first_drop(admin_client, redis_layer_settings, settings):
    """A counter born with its first drops would hide them from increase() and the alert."""
    settings.CLUSTER_HOST_ID = "web-1"
    _, families = scrape(admin_client)
    drops = families["awx_eventdebug_overflow_drops"]
    assert value(drops, node="web-1", group_kind="job_events") == 0
    assert {s.labels["group_kind"] for s in drops.samples} == {*GROUP_KINDS, "other"}


def test_a_scrape_reads_only_the_minutes_final_since_the_last_one(admin_client, redis_layer_settings):
    """Final minutes never change: what a process summed stays summed, and the next scrape adds
    only what became final since (a row stored behind its back is not read again)."""
    claim("example-node", timezone.now() - timedelta(minutes=10))
    recent_job([1.0, 2.0])
    _, first = scrape(admin_client)
    # Behind the summed minutes' back: their rows gone, an event added to them. A scrape reading
    # them again would compute them anew from the events, and count 3.
    LagRollup.objects.all().delete()
    recent_job([3.0])
    _, second = scrape(admin_client)
    for families in (first, second):
        lag = families["awx_eventdebug_event_lag_seconds"]
        assert value(lag, "awx_eventdebug_event_lag_seconds_count", kind="job") == 2


def test_a_scrape_computes_the_open_minutes_once(admin_client, redis_layer_settings, monkeypatch):
    """The lag of the window and the histogram's counters end at the same moment: the minutes not
    final yet are computed from the events for the first and read from memory for the second
    (lag/reuse.py). What each computation of minutes ending off a minute (the open ones; a fill's
    end on one) found in memory, in order."""
    found, known = [], reuse.computed_minutes

    def recorded(kinds, stretches, minute_of):
        minutes = known(kinds, stretches, minute_of)
        if stretches[-1][1].second or stretches[-1][1].microsecond:
            found.append(minutes is not None)
        return minutes

    monkeypatch.setattr(reuse, "computed_minutes", recorded)
    claim("example-node", timezone.now())
    recent_job([0.5, 1.5])
    assert admin_client.get(URL).status_code == 200
    assert found == [False, True]


def test_a_scrape_makes_none_of_the_reads_that_only_explain_a_figure(admin_client, redis_layer_settings):
    """The execution nodes' clock estimate (hop 1, inside hop 4's lag) explains the check's lines;
    the metrics export figures only, and do not pay for it. GET check/ does."""
    claim("example-node", timezone.now())
    nodes_one_ahead()
    statements = {}
    for name, url in (("metrics", URL), ("check", "/api/eventdebug/check/")):
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code in (200, 503)
        statements[name] = [q["sql"] for q in captured.captured_queries if "execution_node" in q["sql"]]
    assert not statements["metrics"] and statements["check"], statements
