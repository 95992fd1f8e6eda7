"""One version, awx_eventdebug.__version__: CHANGELOG.md has it as its newest release or as the next
one (in Unreleased), a release tag must be it (scripts/changelog.py, which release.yml runs), and
the README's install commands name it."""

import importlib.util
import re
import subprocess
import sys

import pytest

from awx_eventdebug import __version__
from tests.support import ROOT

SCRIPT = ROOT / "scripts" / "changelog.py"
spec = importlib.util.spec_from_file_location("changelog", SCRIPT)
changelog = importlib.util.module_from_spec(spec)
spec.loader.exec_module(changelog)

RELEASED = """# Changelog

## [Unreleased]

## [0.2.0] - 2027-01-10

### Fixed
- something

## [0.1.0] - 2026-12-20

### Added
- everything
"""


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_the_changelog_holds___version__():
    done = run("check")
    assert done.returncode == 0, done.stderr
    assert changelog.problems((ROOT / "CHANGELOG.md").read_text(), __version__) == []


@pytest.mark.parametrize(
    ("version", "text", "problem"),
    [
        ("0.2.0", RELEASED, None),
        ("0.3.0", RELEASED.replace("## [Unreleased]\n", "## [Unreleased]\n\n### Added\n- more\n"), None),
        ("0.3.0", RELEASED, "__version__ 0.3.0 is not released yet"),
        ("0.3.0", RELEASED.replace("## [Unreleased]\n\n", ""), "__version__ 0.3.0 is not released yet"),
        ("0.1.0", RELEASED, "__version__ 0.1.0 is older than the newest release, 0.2.0"),
        ("0.2.0", RELEASED.replace("0.2.0] - 2027-01-10", "0.2.0]"), "## [0.2.0]: no date"),
        ("0.2.0", RELEASED.replace("[0.2.0]", "[0.0.9]"), "not newest first"),
        ("0.2.0", RELEASED.replace("## [Unreleased]\n", "") + "## [Unreleased]\n", "must be the first"),
        ("0.2.0", RELEASED.replace("# Changelog", "# Changes"), "first line"),
    ],
)
def test_check_names_what_is_wrong(version, text, problem):
    found = changelog.problems(text, version)
    if problem is None:
        assert found == []
    else:
        assert [line for line in found if problem in line], found


def test_a_release_needs_its_tag_and_its_dated_section():
    notes, wrong = changelog.release_notes(RELEASED, "0.2.0", "v0.2.0")
    assert (notes, wrong) == ("### Fixed\n- something\n", [])
    _, wrong = changelog.release_notes(RELEASED, "0.2.0", "v0.2.1")
    assert wrong == ["the tag v0.2.1 is not v0.2.0 (__version__)"]
    pending = RELEASED.replace("## [Unreleased]\n", "## [Unreleased]\n\n### Added\n- more\n")
    _, wrong = changelog.release_notes(pending, "0.2.0", "v0.2.0")
    assert wrong == ["## [Unreleased] still lists changes: move them under ## [0.2.0] - <date>"]
    _, wrong = changelog.release_notes(pending, "0.3.0", "v0.3.0")
    assert "the newest release of CHANGELOG.md is not 0.3.0" in wrong


def test_the_release_command_says_what_release_notes_finds():
    tag = f"v{__version__}"
    notes, wrong = changelog.release_notes((ROOT / "CHANGELOG.md").read_text(), __version__, tag)
    done = run("release", tag)
    assert done.returncode == (1 if wrong else 0)
    assert done.stdout == ("" if wrong else notes)
    assert done.stderr.splitlines() == [f"CHANGELOG.md: {line}" for line in wrong]
    assert run("release").returncode == 2


def test_the_readmes_install_commands_name_this_version():
    readme = (ROOT / "README.md").read_text()
    named = {
        "wheel": re.findall(r"awx_eventdebug-([^-\s]+)-py3-none-any\.whl", readme),
        "tag": re.findall(r"git\+\S+@v([^\s\"]+)", readme),
        "dry run": re.findall(r"# Would install awx-eventdebug-(\S+)", readme),
    }
    for what, versions in named.items():
        assert versions, f"the README names no {what}"
        assert set(versions) == {__version__}, what
