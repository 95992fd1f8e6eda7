"""The hop registry: a hop is one module plus one line of path/registry.py, and every face shows
it (check, path, report, metrics, the dashboard, the settings); the hops' declarations are what
the docs and the alert rules say."""

import json
import re

import pytest

from awx_eventdebug.conf import OPTIONS, get_config
from awx_eventdebug.path import registry
from awx_eventdebug.path.sampler import take_sample
from tests.health.test_report import run
from tests.path.conftest import node_named
from tests.path.widget_hop import WIDGETS_KEY
from tests.support import ROOT

WIDGET_HOP = "tests.path.widget_hop.WidgetQueue"


@pytest.fixture
def widget_hop(monkeypatch):
    """The widget hop registered after the callback queue: the one registry line."""
    paths = list(registry.HOPS)
    paths.insert(paths.index("awx_eventdebug.path.hops.callback_queue.CallbackQueue") + 1, WIDGET_HOP)
    monkeypatch.setattr(registry, "HOPS", paths)
    registry.hops()
    yield
    monkeypatch.undo()
    registry.hops()  # the settings' table without the hop's threshold again
    assert "CHECK_MAX_WIDGETS" not in OPTIONS


@pytest.fixture
def node(settings, redis_layer_settings):
    with node_named(settings, "node-w") as client:
        yield client


LENIENT = ("--max-p99", "1000", "--max-fill", "100", "--max-drops", "1000")


@pytest.mark.django_db
def test_a_new_hop_is_in_every_face(widget_hop, node, admin_client, settings):
    node.rpush(WIDGETS_KEY, *range(5))
    assert take_sample(10)["snapshot"]["widgets"] == {"error": "", "length": 5}

    # Its threshold is a setting, a query parameter and a CLI flag.
    assert OPTIONS["CHECK_MAX_WIDGETS"].default == 10 and get_config()["CHECK_MAX_WIDGETS"] == 10
    code, out, _ = run("check", *LENIENT)
    assert code == 0 and "widgets queued (worst node) 5" in out
    code, out, _ = run("check", *LENIENT, "--max-widgets", "3")
    assert code == 1 and "FAILED: widget queue on node-w holds 5 widgets, above the maximum 3 widgets" in out
    settings.EVENTDEBUG = {"CHECK_MAX_WIDGETS": 4}
    check = admin_client.get("/api/eventdebug/check/").json()
    assert check["thresholds"]["max_widgets"] == 4 and check["figures"]["widgets"] == 5
    assert "widget queue on node-w holds 5 widgets, above the maximum 4 widgets" in check["failures"]
    response = admin_client.get("/api/eventdebug/check/", {"max_widgets": "-1"})
    assert response.status_code == 400 and "max_widgets" in response.json()

    # Its place on the path: the hops after it move down one.
    code, out, _ = run("path")
    assert "4    widget queue       node-w: 5 widgets" in out
    assert "in the event lag of hop 5 (modified - created covers hops 1-5)" in out
    path = admin_client.get("/api/eventdebug/path/").json()
    assert [h["name"] for h in path["cluster"]][2:5] == [
        "callback queue",
        "widget queue",
        "callback receiver",
    ]
    assert path["first_over"] == {"hop": 4, "node": "node-w"}
    widgets = path["cluster"][3]
    # Its cause (by default its first, with its figure as evidence) on the row and in the check.
    found = {key: widgets[key] for key in ("cause", "evidence", "remedy", "runbook")}
    assert found == {
        "cause": "Too few widget workers",
        "evidence": "node-w: 5 widgets",
        "remedy": "raise WIDGET_WORKERS",
        "runbook": "/api/eventdebug/runbook/#too-few-widget-workers",
    }
    assert "cause" not in path["cluster"][2]  # a hop within its threshold
    check = admin_client.get("/api/eventdebug/check/", {"max_widgets": 3}).json()
    assert {"hop": 4, "name": "widget queue", "node": "node-w", **found} in check["causes"]
    assert path["headline"].startswith("widget queue on node-w holds 5 widgets")
    report = admin_client.get("/api/eventdebug/report/").json()
    assert report["path"]["cluster"][3]["name"] == "widget queue"

    # A per-node metric family, its help from the hop.
    metrics = admin_client.get("/api/eventdebug/metrics/").content.decode()
    assert "# HELP awx_eventdebug_widget_queue_length Widgets waiting on the node." in metrics
    assert 'awx_eventdebug_widget_queue_length{node="node-w"} 5.0' in metrics
    only = admin_client.get("/api/eventdebug/metrics/", {"metric": "awx_eventdebug_widget_queue_length"})
    assert only.status_code == 200 and "callback_queue_length" not in only.content.decode()

    # The dashboard's verdict row and its path card.
    page = admin_client.get("/api/eventdebug/").content.decode()
    assert "<dt>Widgets queued (worst node)</dt><dd>5 widgets · max 4 widgets</dd>" in page
    assert (
        'data-label="Name">widget queue</td><td class="figure" data-label="Figure">node-w: 5 widgets</td>'
        in page
    )
    spec = json.loads(re.search(r'id="verdict-thresholds"[^>]*>(.*?)</script>', page).group(1))
    assert [t["name"] for t in spec][:3] == ["max_backlog", "max_backlog_age", "max_widgets"]
    assert spec[2] == {
        "name": "max_widgets",
        "figure": "widgets",
        "limit": "max_widgets",
        "label": "Widgets queued (worst node)",
        "unit": "widgets",
        "digits": 1,
        "count": True,
    }


def test_every_threshold_is_documented_as_its_hop_declares_it():
    settings_doc = (ROOT / "docs" / "settings.md").read_text()
    path_doc = (ROOT / "docs" / "path.md").read_text()
    for number, hop in enumerate(registry.hops(), 1):
        assert f"| {number} {hop.label} |" in path_doc, hop.key
        for threshold in hop.thresholds:
            section = settings_doc.split(f"### `{threshold.setting}`", 1)[1].split("\n### ", 1)[0]
            assert threshold.flag in section, threshold.setting
            assert f"Default: `{threshold.default!r}`" in section
            row = f"| `{threshold.name}` | `{threshold.setting}` | `{threshold.flag}` | {threshold.default!r}"
            assert (
                row in path_doc
                and f"| {number} {hop.label} | `awx_eventdebug_{threshold.metric}`" in path_doc
            )


def test_every_threshold_has_an_alert_on_its_metric_at_its_default():
    """contrib/prometheus/alerts.yml compares each threshold's metric with the threshold's default
    (scaled as the metric is)."""
    rules = (ROOT / "contrib" / "prometheus" / "alerts.yml").read_text()
    expressions = re.findall(r"^\s+expr: (.+)$", rules, flags=re.MULTILINE)
    for threshold in registry.thresholds():
        metric = f"awx_eventdebug_{threshold.metric}"
        bound = f"> {threshold.default * threshold.metric_scale:g}"
        assert any(metric in expr and expr.rstrip().endswith(bound) for expr in expressions), (
            f"no alert compares {metric} with {bound}"
        )


@pytest.mark.parametrize(
    "shared, message",
    [
        ("key", "share a key: ['callback_queue']"),
        ("threshold", "share a threshold: ['max_backlog', 'max_backlog_age']"),
        ("snapshot_key", "share a snapshot_key: ['backlog']"),
    ],
)
def test_hops_that_would_shadow_each_other_are_refused(monkeypatch, shared, message):
    from django.core.exceptions import ImproperlyConfigured

    from awx_eventdebug.path.hops.callback_queue import CallbackQueue

    copy = type("Copy", (CallbackQueue,), {"key": "copy"} if shared != "key" else {})
    if shared == "snapshot_key":
        copy.thresholds = ()
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        registry.validate((CallbackQueue(), copy()))


def test_a_hop_inside_no_hop_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    from awx_eventdebug.path.hops.callback import Callback

    stray = type("Stray", (Callback,), {"key": "stray", "inside": "nowhere"})
    with pytest.raises(ImproperlyConfigured, match="stray is inside 'nowhere'"):
        registry.validate((stray(),))


@pytest.mark.django_db
def test_a_snapshot_without_a_hops_figures_is_unknown_not_an_error(widget_hop, node, admin_client):
    """A node sampled before a hop was added (an upgrade under way) has no figures for it: that
    hop is unknown on the node, every view still answers, and the path says what it could not read."""
    from awx_eventdebug.models import NodeSnapshot

    take_sample(10)
    snapshot = NodeSnapshot.objects.get()
    del snapshot.data["widgets"], snapshot.data["relay"]
    snapshot.save()
    code, out, _ = run("check", *LENIENT)
    assert code == 2
    assert "UNKNOWN: hop 4 on node-w: the node's snapshot has no widget queue figures" in out
    assert "UNKNOWN: hop 9 on node-w: the node's snapshot has no wsrelay figures" in out
    path = admin_client.get("/api/eventdebug/path/").json()
    assert path["verdict"] == "unknown" and path["headline"].startswith("could not read hop 4 widget queue")
    for url in ("check/", "path/", "report/", "metrics/", ""):
        assert admin_client.get("/api/eventdebug/" + url).status_code == 200, url
    assert run("path")[0] == 0
