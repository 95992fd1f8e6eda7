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

import pytest

from awx_eventdebug.checks import check_settings
from tests.support import ROOT

CONTRIB = ROOT / "contrib"
CONF_D = CONTRIB / "eventdebug.py"
DASHBOARD = CONTRIB / "grafana" / "awx-eventdebug.json"
RULES = CONTRIB / "prometheus" / "alerts.yml"
METRIC = re.compile(r"\bawx_eventdebug_[a-z_]+\b")
# Grafana's variables, as a query sees them once substituted.
VARIABLES = {"$__rate_interval": "5m", "$instance": ".*", "$kind": "job"}


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


def test_alert_rules_pass_promtool(promtool):
    assert "SUCCESS: 9 rules found" in run(promtool, "check", "rules", str(RULES))
    run(promtool, "test", "rules", "alerts_test.yml", cwd=RULES.parent)


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
    named = set(METRIC.findall(source.read_text()))
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
