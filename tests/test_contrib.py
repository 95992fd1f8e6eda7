"""contrib/: the alert rules pass promtool (syntax and their unit tests), the Grafana dashboard's
queries are valid PromQL naming only metrics GET metrics/ exposes, and the conf.d file the README
shows is the one the Containerfile copies into AWX's image, with only what it copies in its build
context (.dockerignore).

promtool comes with Debian's prometheus package; `make test` installs it when missing
(scripts/ensure-promtool.sh)."""

import fnmatch
import json
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from awx_eventdebug.checks import check_settings
from awx_eventdebug.health.reporter import claim
from awx_eventdebug.path.registry import thresholds
from tests.health.test_api_metrics import drops_row
from tests.health.test_report import recent_job
from tests.support import ROOT

CONTRIB = ROOT / "contrib"
CONF_D = CONTRIB / "eventdebug.py"
DASHBOARD = CONTRIB / "grafana" / "awx-eventdebug.json"
RULES = CONTRIB / "prometheus" / "alerts.yml"
METRIC = re.compile(r"\bawx_eventdebug_[a-z_]+\b")
# Grafana's variables, as a query sees them once substituted.
VARIABLES = {"$__rate_interval": "5m", "$kind": "job"}
# A sample name -> its family's, as `# TYPE` names it.
SAMPLE_SUFFIX = re.compile(r"_(bucket|count|sum)$")


@pytest.fixture(scope="module")
def promtool():
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing; run scripts/ensure-promtool.sh (make test does)")
    return path


def run(promtool, *args, cwd=None):
    done = subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def dashboard_queries() -> list[str]:
    document = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in document["panels"] for target in panel["targets"]]
    queries += [v["definition"] for v in document["templating"]["list"] if v["type"] == "query"]
    return queries


def exposed_names(client) -> set[str]:
    text = client.get("/api/eventdebug/metrics/", HTTP_ACCEPT="text/plain").content.decode()
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def alerts() -> dict[str, str]:
    """{alert name: its expression} of contrib/prometheus/alerts.yml."""
    rules = RULES.read_text()
    return dict(re.findall(r"^\s+- alert: (\w+)\n\s+(?:#.*\n\s+)*expr: (.+)$", rules, flags=re.MULTILINE))


def alert_cases() -> dict[str, list[bool]]:
    """{alert name: [whether each of its cases in alerts_test.yml expects it firing]}."""
    tests = (RULES.parent / "alerts_test.yml").read_text()
    cases: dict[str, list[bool]] = {}
    for name, expected in re.findall(r"alertname: (\w+)\n\s+exp_alerts:(.*)$", tests, flags=re.MULTILINE):
        cases.setdefault(name, []).append(expected.strip() != "[]")
    return cases


def test_alert_rules_pass_promtool(promtool):
    assert f"SUCCESS: {len(alerts())} rules found" in run(promtool, "check", "rules", str(RULES))
    run(promtool, "test", "rules", "alerts_test.yml", cwd=RULES.parent)


def test_every_check_has_a_panel_an_alert_and_a_firing_and_a_quiet_rules_test():
    """Each threshold of the critical path (path/registry.py) and the stale snapshots: a Grafana
    panel graphs its metric, an alert compares it, and promtool tests that alert firing and
    quiet."""
    metrics = [f"awx_eventdebug_{t.metric}" for t in thresholds()] + ["awx_eventdebug_node_snapshot_stale"]
    queries, rules, cases = dashboard_queries(), alerts(), alert_cases()
    for metric in metrics:
        assert any(metric in query for query in queries), f"no Grafana panel graphs {metric}"
        named = [name for name, expr in rules.items() if metric in expr]
        assert named, f"no alert on {metric}"
        for name in named:
            assert sorted(set(cases.get(name, []))) == [False, True], f"{name}: no firing and quiet case"
    assert set(cases) == set(rules)


def test_no_alert_duplicates_a_cluster_fact_per_scraped_instance():
    """The cluster series come from one node at a time: a rule grouping them by instance would
    alert anew when the lease changes hands; only the node's own sections are per instance."""
    for name, expr in alerts().items():
        if "awx_eventdebug_up" not in expr:
            assert "instance" not in expr, name


def test_dashboard_queries_are_promql(promtool, tmp_path):
    rules = [
        {"record": f"dashboard:query_{index}", "expr": expr}
        for index, expr in enumerate(dashboard_queries())
        if not expr.startswith("label_values(")
    ]
    for rule in rules:
        for variable, value in VARIABLES.items():
            rule["expr"] = rule["expr"].replace(variable, value)
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))  # JSON is YAML
    run(promtool, "check", "rules", str(path))


@pytest.mark.django_db
@pytest.mark.parametrize("source", [DASHBOARD, RULES], ids=lambda p: p.name)
def test_contrib_names_only_exposed_metrics(admin_client, redis_layer_settings, source):
    exposed = exposed_names(admin_client)
    named = {SAMPLE_SUFFIX.sub("", name) for name in METRIC.findall(source.read_text())}
    assert named, source
    assert named <= exposed, named - exposed


def test_readme_shows_the_conf_d_file_verbatim():
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"^# /etc/tower/conf\.d/eventdebug\.py.*?^}\n", readme, re.M | re.S).group(0)
    assert shown == CONF_D.read_text()


def test_containerfile_copies_it_into_awxs_conf_d():
    containerfile = (ROOT / "contrib" / "Containerfile").read_text()
    assert "COPY contrib/eventdebug.py /etc/tower/conf.d/eventdebug.py" in containerfile


def kept_in_the_build_context(path: str) -> bool:
    """Whether ``path`` goes into the Containerfile's build context, as Docker and podman read
    .dockerignore: the last pattern matching the path or a folder above it decides, `!` keeps."""
    kept, parts = True, path.split("/")
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            pattern = line.strip().removeprefix("!")
            if any(fnmatch.fnmatchcase("/".join(parts[:n]), pattern) for n in range(1, len(parts) + 1)):
                kept = line.startswith("!")
    return kept


def test_the_build_context_holds_what_the_containerfile_copies_and_nothing_else():
    containerfile = (ROOT / "contrib" / "Containerfile").read_text()
    assert re.findall(r"^COPY (\S+) ", containerfile, re.MULTILINE) == [".", "contrib/eventdebug.py"]
    readme = (ROOT / "README.md").read_text()
    [wheel] = re.findall(r"--build-arg EVENTDEBUG_REQUIREMENT=(\S+)", readme)
    assert wheel.startswith("dist/") and wheel.endswith(".whl")
    for path in ("contrib/eventdebug.py", wheel):
        assert kept_in_the_build_context(path), path
    left_out = [".venv/bin/python", ".nox/lint/bin/ruff", ".git/HEAD", "artifacts/awx-tier/x/junit.xml"]
    left_out += ["dist/awx_eventdebug-0.1.0.tar.gz", "awx_eventdebug/apps.py", "example_settings/db.sqlite3"]
    for path in left_out:
        assert not kept_in_the_build_context(path), path


def test_conf_d_file_adds_the_app_and_valid_options(settings):
    # AWX execs conf.d files inside its settings module, where these lists already exist.
    scope = {"INSTALLED_APPS": ["awx.main"], "MIDDLEWARE": ["awx.main.middleware.URLModificationMiddleware"]}
    exec(CONF_D.read_text(), scope)
    assert scope["INSTALLED_APPS"][-1] == "awx_eventdebug"
    assert scope["MIDDLEWARE"][-1] == "awx_eventdebug.middleware.EventDebugMiddleware"
    settings.EVENTDEBUG = scope["EVENTDEBUG"]
    assert check_settings(None) == []


@pytest.mark.django_db
def test_a_scrape_passes_promtool_check_metrics(admin_client, redis_layer_settings, promtool):
    """promtool lints the text format (it reads no OpenMetrics): types, HELP, names, no quantile
    label on a gauge."""
    claim("example-node", timezone.now() - timedelta(minutes=10))
    recent_job([0.5, 1.0, 12.0])
    drops_row("example-node", "job_events-1", 1, 3)
    response = admin_client.get("/api/eventdebug/metrics/", HTTP_ACCEPT="text/plain")
    assert b"awx_eventdebug_event_lag_seconds_bucket" in response.content
    done = subprocess.run(
        [promtool, "check", "metrics"], input=response.content, capture_output=True, timeout=60
    )
    assert done.returncode == 0, (done.stdout + done.stderr).decode()
