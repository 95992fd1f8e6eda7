"""The README's Layout table and docs/architecture.md stay true: every package and top module of
awx_eventdebug is in the table, and the page lists each in the layer tests/test_layers.py puts
it in."""

import re

from tests.support import ROOT
from tests.test_layers import APP, LAYERS
from tests.test_layers import ROOT as PACKAGE

README = (ROOT / "README.md").read_text()
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()


def entries() -> set[str]:
    """``lag/`` for a package (or a folder of templates and files), ``conf.py`` for a module."""
    found = set()
    for path in PACKAGE.iterdir():
        if path.name.startswith(("_", ".")):
            continue
        if path.is_dir():
            found.add(f"{path.name}/")
        elif path.suffix == ".py":
            found.add(path.name)
    return found


def test_the_layout_table_names_every_package_and_module():
    layout = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([\w/.]+)`", layout))
    assert entries() - named == set()


def test_the_architecture_page_lists_each_package_in_its_layer():
    for layer, packages in LAYERS.items():
        line = re.search(rf"^- \*\*{layer.capitalize()}\*\*: (.+)$", ARCHITECTURE, flags=re.MULTILINE)
        assert line, f"docs/architecture.md has no {layer} line"
        listed = set(re.findall(r"`(\w+)`", line.group(1)))
        assert listed == packages, layer
    every = {name.removesuffix("/").removesuffix(".py") for name in entries()} - {"static", "templates"}
    assert every <= set().union(*LAYERS.values()) - {APP}


def test_the_readmes_critical_path_is_the_hop_registrys():
    """One numbering everywhere: the README lists the registry's hops, in its order and by its
    labels, and gives the span `modified - created` covers as the path card states it (judge.py)."""
    from awx_eventdebug.path.registry import hops

    section = README.split("## The job event critical path", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^(\d+)\. \*\*(.+?)\*\*", section, flags=re.MULTILINE)
    assert listed == [(str(number), hop.label) for number, hop in enumerate(hops(), 1)]
    numbers = {hop.key: number for number, hop in enumerate(hops(), 1)}
    [lag_hop] = {numbers[hop.inside] for hop in hops() if hop.inside}
    spans = f"`modified - created` (`eventdebug lag`), hop {lag_hop}'s figure, covers hops 1-{lag_hop}"
    assert spans in section
    # AWX's guide numbers its own eight steps; the README cites it, never its numbers.
    assert not re.search(r"\bsteps? \d", section)
