"""docs/runbook.md has a section for every cause a hop of the registry can name, each as the
cause's runbook link finds it, with the five parts an admin needs."""

import re

from awx_eventdebug.path import registry
from awx_eventdebug.path.hop import Cause
from tests.support import ROOT

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
        found[Cause(heading, "").runbook.split("#", 1)[1]] = body
    return found


def test_every_cause_a_hop_can_name_has_its_section():
    causes = {cause for hop in registry.hops() for cause in hop.causes}
    assert causes, "no hop declares a cause"
    written = sections()
    for cause in causes:
        path, anchor = cause.runbook.split("#", 1)
        assert path == "docs/runbook.md"
        assert anchor in written, f"docs/runbook.md has no section '## {cause.title}'"
        missing = [part for part in PARTS if part not in written[anchor]]
        assert not missing, f"the section of {cause.title!r} lacks {missing}"


def test_the_anchor_is_the_one_github_makes():
    assert Cause("A websocket consumer's queue is filling", "").runbook == (
        "docs/runbook.md#a-websocket-consumers-queue-is-filling"
    )


def test_every_alert_links_to_a_section():
    rules = (ROOT / "contrib" / "prometheus" / "alerts.yml").read_text()
    written = sections()
    links = re.findall(r"runbook_url: \"?[^\"\n]*docs/runbook\.md#([\w-]+)", rules)
    alerts = re.findall(r"^\s+- alert: (\w+)", rules, flags=re.MULTILINE)
    path_alerts = [name for name in alerts if name != "AWXEventDebugSectionDown"]
    assert len(links) == len(path_alerts), "an alert rule of the path has no runbook_url"
    assert all(anchor in written for anchor in links), links
