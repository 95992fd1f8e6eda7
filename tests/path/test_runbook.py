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
        anchor = url.split("#", 1)[1]
        assert anchor in written, f"{name}: docs/runbook.md has no section #{anchor}"
        if anchor == "causes":
            assert any(metric in expr for metric in several), f"{name} links to the table of causes"
        else:
            missing = [part for part in PARTS if part not in written[anchor]]
            assert not missing, f"{name}: the section #{anchor} lacks {missing}"
