"""Every figure carries its unit: every numeric field of every JSON document (each endpoint's
real response, each subcommand's --json) is named with one of jsondoc.UNIT_SUFFIXES, or its map
is; text output shows the units of the figures the issue found bare."""

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from awx_eventdebug.cli import SUBCOMMANDS
from awx_eventdebug.jsondoc import has_unit
from awx_eventdebug.lag.summary import P99_KEY
from awx_eventdebug.path.judge import limits
from awx_eventdebug.path.registry import hops
from awx_eventdebug.urls import urlpatterns
from tests.conftest import REDIS_URL
from tests.health.test_report import fill_queue, recent_job, run
from tests.listen.test_cli import listen
from tests.overflow.test_api import rows  # noqa: F401 (a fixture)
from tests.overflow.test_ingest import ingest, line
from tests.support.channel_layers import fill_groups, layer_config
from tests.support.workloads import required_query

pytestmark = pytest.mark.django_db

# Not JSON: Prometheus text, the OpenAPI document (its own vocabulary), the page.
NOT_DOCUMENTS = {"metrics", "schema", "dashboard", "runbook"}
# Query strings that add parts to a document (groups, timelines).
VARIANTS = {
    "lag": ({"by": "job"}, {"by": "minute"}),
    "overflow-summary": ({"timeline": "minute"}, {"by_node": "true"}),
}
# Maps keyed by a setting's name: docs/settings.md gives each its unit.
SETTINGS_MAPS = {"settings"}


def unnamed_units(doc, where="", parent=""):
    """The paths of the numbers in ``doc`` whose name, and whose map's name, carry no unit."""
    if isinstance(doc, dict):
        # A map's name says its values' unit; a record in a list (a group of "groups") is no map.
        own = "" if where.endswith("[]") else where.rsplit(".", 1)[-1]
        found = []
        for name, value in doc.items():
            if name not in SETTINGS_MAPS:
                found += unnamed_units(value, f"{where}.{name}", own)
        return found
    if isinstance(doc, list):
        return [path for item in doc for path in unnamed_units(item, f"{where}[]", parent)]
    if isinstance(doc, int | float) and not isinstance(doc, bool):
        name = where.rsplit(".", 1)[-1].removesuffix("[]")
        return [] if has_unit(name) or has_unit(parent) else [where]
    return []


@pytest.fixture
def everything(rows, redis_layer_settings, key_prefix, capture_installed):  # noqa: F811
    """Lag of every kind, overflow rows, a queue with messages, groups whose members' queues hold
    messages (each group's, member's and queue's fields), a node snapshot, a capture handler."""
    recent_job([0.5, 1.0, 40.0])
    fill_queue(key_prefix, 100, 90)
    # Below every queue's capacity: a drop would reach the capture, whose rows outlive the test.
    fill_groups(layer_config([REDIS_URL], key_prefix, capacity=100), sends=2)
    run("sample")


def test_the_documents_have_groups_members_and_queues_to_sweep(admin_client, everything):
    """The sweep sees every part of the channels document: a group's, a member's, a queue's."""
    [group, *_] = admin_client.get(reverse("awx_eventdebug:channels")).json()["groups"]
    [queue, *_] = group["queues"]
    assert queue["members"] and queue["depth_messages"] > 0
    assert group["ttl_seconds"] > 0 and queue["members"][0]["joined_age_seconds"] is not None


def test_every_endpoint_names_its_units(admin_client, everything):
    seen = []
    for pattern in urlpatterns:
        if pattern.name in NOT_DOCUMENTS:
            continue
        for extra in ({}, *VARIANTS.get(pattern.name, ())):
            query = {**required_query(pattern.name), **extra}
            response = admin_client.get(reverse(f"awx_eventdebug:{pattern.name}"), query)
            assert response.status_code == 200, (pattern.name, response.content)
            assert unnamed_units(response.json(), pattern.name) == []
            seen.append(pattern.name)
    assert len(set(seen)) >= 8


def json_of(subcommand, *args, tmp_path=None):
    if subcommand == "listen":
        out, _ = listen("--group", "job_events-3", "--duration", "0.3", "--interval", "0.1", "--json")
        return [json.loads(text) for text in out.splitlines()]
    if subcommand == "ingest":
        report = ingest(tmp_path, line(1, "job_events-1"))
        return {key: value for key, value in report.items() if key not in ("stderr", "returncode")}
    out = StringIO()
    try:
        call_command("eventdebug", subcommand, *args, "--json", stdout=out)
    except CommandError as exc:  # check exits 1 with its document on stdout
        assert subcommand == "check", exc
    text = out.getvalue()
    try:
        return json.loads(text)
    except json.JSONDecodeError:  # JSON lines (watch)
        return [json.loads(line) for line in text.splitlines()]


# Each subcommand's options that add parts to its document.
ARGUMENTS = {
    "lag": (("--since", "1h"), ("--since", "1h", "--by", "job")),
    "overflow": ((), ("--summary", "--timeline", "minute")),
    "watch": (("--count", "2", "--interval", "0.1"),),
    "report": (("--since", "1h"),),
    "check": (("--since", "1h"),),
}


def test_every_subcommand_json_names_its_units(everything, tmp_path):
    for subcommand in SUBCOMMANDS:
        for args in ARGUMENTS.get(subcommand.name, ((),)):
            doc = json_of(subcommand.name, *args, tmp_path=tmp_path)
            assert doc, (subcommand.name, args)
            assert unnamed_units(doc, subcommand.name) == [], (subcommand.name, args, unnamed_units(doc))


def test_the_rule_finds_bare_figures():
    doc = {
        "oldest_age": 3.0,
        "fill_percent": 80,
        "percentiles_seconds": {"p99": 1.0},
        "job": 4,
        "ok": True,
        # A list's name says what it holds, not the unit of its records' fields.
        "groups": [{"ttl": 1, "members": 2}],
    }
    assert unnamed_units(doc) == [".oldest_age", ".groups[].ttl"]


# Per hop with thresholds, how to judge it over them: (judge_node or judge_cluster, its arguments
# after the limits' place is taken). A hop added to the registry needs its case here.
OVER_THEM = {
    "callback_queue": ("node", {"error": "", "note": "", "length_events": 20000, "oldest_age_seconds": 30.0}),
    "receiver": (
        "cluster",
        {"errors": {}, "kinds": {"job": {"percentiles_seconds": {P99_KEY: 40.0}, "count": 9}}},
    ),
    "receiver_buffer": (
        "node",
        {
            "error": "",
            "present": True,
            "events_in_memory": 5000,
            "grown_events": 100,
            "popped_per_second": 60.0,
            "inserted_per_second": 50.0,
            "processing_avg_seconds": None,
        },
    ),
    "event_insert": (
        "node",
        {
            "error": "",
            "present": True,
            "seconds_per_event": 0.05,
            "events_per_batch": None,
            "batch_errors": 0,
        },
    ),
    "group_send": ("drops", {"node-a": {"drops": 5, "group": "job_events-1", "group_drops": 5}}),
    "wsrelay": (
        "node",
        {
            "error": "",
            "present": True,
            "down_connections": 1,
            "remotes": [{"host": "node-b", "state": "gone"}],
        },
    ),
    "channel_layer": ("node", {"error": "", "note": "", "queues": [{"key": "q", "fill_percent": 100.0}]}),
}


@pytest.mark.parametrize("hop", [hop for hop in hops() if hop.thresholds], ids=lambda hop: hop.key)
def test_every_failure_line_of_every_hop_names_the_unit_of_its_maximum(hop):
    """``above the maximum 4,000 events`` / ``0 drops`` / ``10 s`` / ``80%``, never a bare number."""
    how, given = OVER_THEM[hop.key]
    if how == "cluster":
        judged = hop.judge_cluster(given, limits(), [])
    elif how == "drops":
        judged = hop.judge_node("node-a", None, limits(), given)
    else:
        judged = hop.judge_node("node-a", given, limits(), None)
    units = {t.unit or t.counts for h in hops() for t in h.thresholds} | {"ms"}
    with_unit = rf"[\d,.]+(%|\s({'|'.join(sorted(units - {'%'}))})\b)"
    assert judged.failures
    for failure in judged.failures:
        maxima = failure.split("above the maximum ", 1)[1].split(" or ")
        assert all(re.match(with_unit, maximum) for maximum in maxima), failure
