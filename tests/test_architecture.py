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
