"""docs/runbook.md has a section for every cause a hop of the registry can name, each as the
cause's runbook link finds it, with the five parts an admin needs; the app serves that one text at
runbook/, where the causes' links and the alert rules' runbook_url lead."""

import re
import sys

import pytest

from awx_eventdebug.dashboard.runbook import RUNBOOK
from awx_eventdebug.path import registry
from awx_eventdebug.path.hop import Cause, anchor
from tests.support import ROOT

# Where contrib/prometheus/alerts.yml says the runbook is: AWX's address for its admin to replace,
# and the default URL_PREFIX.
ALERTS_RUNBOOK = "https://awx.example.com/api/eventdebug/runbook/#"

PARTS = (
    "**Symptoms.**",
    "**How the tool detects it.**",
    "**AWX source.**",
    "**What to change.**",
    "**How to confirm.**",
)


def sections() -> dict[str, str]:
    """The runbook's sections by their anchor, as GitHub makes it from the heading."""
    text = (ROOT / "docs" / "runbook.md").read_text()
    found = {}
    for heading, body in re.findall(r"^## ([^\n]+)\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL):
        found[anchor(heading)] = body
    return found


def test_every_cause_a_hop_can_name_has_its_section():
    causes = {cause for hop in registry.hops() for cause in hop.causes}
    assert causes, "no hop declares a cause"
    written = sections()
    for cause in causes:
        assert cause.anchor in written, f"docs/runbook.md has no section '## {cause.title}'"
        missing = [part for part in PARTS if part not in written[cause.anchor]]
        assert not missing, f"the section of {cause.title!r} lacks {missing}"


def test_the_anchor_is_the_one_github_makes_and_the_link_the_apps_page(settings):
    cause = Cause("A websocket consumer's queue is filling", "")
    assert cause.anchor == "a-websocket-consumers-queue-is-filling"
    assert cause.runbook == "/api/eventdebug/runbook/#a-websocket-consumers-queue-is-filling"
    settings.EVENTDEBUG = {"AWX_UI_URL": "https://awx.corp.example/", "URL_PREFIX": "/eventdebug/"}
    assert (
        cause.runbook == "https://awx.corp.example/eventdebug/runbook/#a-websocket-consumers-queue-is-filling"
    )


def test_the_package_carries_the_one_runbook():
    # awx_eventdebug/runbook.md points to docs/runbook.md: the wheel copies what it points to.
    assert RUNBOOK.resolve() == (ROOT / "docs" / "runbook.md").resolve()


@pytest.mark.parametrize("renderer", ["markdown", "plain"])
def test_the_app_serves_the_runbook_with_every_section_at_its_anchor(admin_client, monkeypatch, renderer):
    if renderer == "markdown":
        pytest.importorskip("markdown", reason="AWX ships Markdown; this virtualenv has none")
    else:
        monkeypatch.setitem(sys.modules, "markdown", None)  # import markdown raises ImportError
    response = admin_client.get("/api/eventdebug/runbook/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    ids = re.findall(r'<h2 id="([\w-]+)">', page)
    assert ids == list(sections())
    assert (
        '<h2 id="a-lock-on-the-event-tables-holds-the-receivers-inserts">A lock on the event tables' in page
    )
    causes = {cause.anchor for hop in registry.hops() for cause in hop.causes}
    assert causes <= set(ids)
    if renderer == "markdown":  # the table of causes links to the sections
        assert '<a href="#a-node-takes-no-snapshot">A node takes no snapshot</a>' in page


@pytest.mark.parametrize("ask", [{"HTTP_ACCEPT": "application/json"}, {"data": {"format": "json"}}])
def test_a_json_client_gets_the_text_and_each_section_by_its_anchor(admin_client, ask):
    response = admin_client.get("/api/eventdebug/runbook/", **ask)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["markdown"] == (ROOT / "docs" / "runbook.md").read_text()
    assert set(sections()) <= set(body["sections"])
    assert body["sections"]["a-node-takes-no-snapshot"] == "A node takes no snapshot"


def alert_links() -> list[tuple[str, str, str | None]]:
    """(name, expression, runbook_url or None) of each rule of contrib/prometheus/alerts.yml."""
    rules = (ROOT / "contrib" / "prometheus" / "alerts.yml").read_text()
    found = []
    for rule in re.split(r"^\s+- alert: ", rules, flags=re.MULTILINE)[1:]:
        url = re.search(r'^\s+runbook_url: "([^"]+)"', rule, flags=re.MULTILINE)
        expr = re.search(r"^\s+expr: (.+)$", rule, flags=re.MULTILINE).group(1)
        found.append((rule.split()[0], expr, url and url.group(1)))
    return found


def test_every_alert_links_to_a_section_that_says_what_to_do():
    """Each alert of the path links to a section with the five parts; to the table of causes only
    an alert on a threshold whose hop can name several causes (the check says which)."""
    written = sections()
    several = [
        f"awx_eventdebug_{t.metric}" for hop in registry.hops() if len(hop.causes) > 1 for t in hop.thresholds
    ]
    links = alert_links()
    assert len(links) > 10
    for name, expr, url in links:
        if name == "AWXEventDebugSectionDown":  # the app cannot read a section: report/ says why
            continue
        assert url is not None, f"{name} has no runbook_url"
        assert url.startswith(ALERTS_RUNBOOK), f"{name}: {url} is not the app's runbook page"
        section = url.removeprefix(ALERTS_RUNBOOK)
        assert section in written, f"{name}: docs/runbook.md has no section #{section}"
        if section == "causes":
            assert any(metric in expr for metric in several), f"{name} links to the table of causes"
        else:
            missing = [part for part in PARTS if part not in written[section]]
            assert not missing, f"{name}: the section #{section} lacks {missing}"
