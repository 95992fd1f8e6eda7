"""CHANGELOG.md held to the one version source, awx_eventdebug.__version__.

    python scripts/changelog.py check          the changelog's form, and __version__ either its
                                                newest release or the next one, in Unreleased
    python scripts/changelog.py release TAG    before publishing (release.yml): TAG is
                                                v<__version__>, the newest release of the changelog,
                                                dated, with Unreleased emptied into it; prints
                                                its notes

Exits 1 naming each problem. Needs nothing but Python: the release job runs it before installing
anything.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
HEADING = re.compile(r"^## \[(?P<name>[^\]]+)\](?: - (?P<date>.*))?$", re.MULTILINE)
VERSION = re.compile(r"\d+\.\d+\.\d+")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
UNRELEASED = "Unreleased"


class Section(NamedTuple):
    name: str  # a version, or Unreleased
    date: str | None
    body: str  # the notes, without the heading


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def sections(text: str) -> list[Section]:
    """The changelog's ``## [...]`` sections, in the file's order."""
    headings = list(HEADING.finditer(text))
    ends = [heading.start() for heading in headings[1:]] + [len(text)]
    return [
        Section(heading["name"], heading["date"], text[heading.end() : end].strip())
        for heading, end in zip(headings, ends, strict=True)
    ]


def problems(text: str, version: str) -> list[str]:
    """What is wrong with the changelog ``text`` for the package at ``version``."""
    found = sections(text)
    if not text.startswith("# Changelog\n"):
        return ["the first line is not '# Changelog'"]
    if not found:
        return ["no '## [Unreleased]' or '## [<version>] - <date>' section"]
    wrong = []
    unreleased = [index for index, section in enumerate(found) if section.name == UNRELEASED]
    if unreleased not in ([], [0]):
        wrong.append("## [Unreleased] must be the first section, and the only one")
    released = [section for section in found if section.name != UNRELEASED]
    for section in released:
        if not VERSION.fullmatch(section.name):
            wrong.append(f"## [{section.name}]: not a version (X.Y.Z)")
        elif not (section.date and DATE.fullmatch(section.date)):
            wrong.append(f"## [{section.name}]: no date (## [{section.name}] - YYYY-MM-DD)")
        elif not section.body:
            wrong.append(f"## [{section.name}]: says nothing")
    if wrong:
        return wrong
    versions = [section.name for section in released]
    if sorted(versions, key=version_key, reverse=True) != versions or len(set(versions)) < len(versions):
        wrong.append(f"the releases are not newest first, each once: {versions}")
    newest = versions[0] if versions else None
    if newest is None or version_key(version) > version_key(newest):
        if not unreleased or not found[0].body:
            wrong.append(
                f"__version__ {version} is not released yet: ## [Unreleased] must say what it changes"
            )
    elif version != newest:
        wrong.append(f"__version__ {version} is older than the newest release, {newest}")
    return wrong


def release_notes(text: str, version: str, tag: str) -> tuple[str, list[str]]:
    """(the notes of release ``tag``, what stops it from being published)."""
    wrong = problems(text, version)
    if tag != f"v{version}":
        wrong.append(f"the tag {tag} is not v{version} (__version__)")
    found = sections(text)
    if found and found[0].name == UNRELEASED and found[0].body:
        wrong.append(f"## [Unreleased] still lists changes: move them under ## [{version}] - <date>")
    released = [section for section in found if section.name != UNRELEASED]
    if not released or released[0].name != version:
        wrong.append(f"the newest release of CHANGELOG.md is not {version}")
        return "", wrong
    return released[0].body + "\n", wrong


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from awx_eventdebug import __version__

    text = (ROOT / "CHANGELOG.md").read_text()
    if argv[:1] == ["check"] and len(argv) == 1:
        wrong = problems(text, __version__)
    elif argv[:1] == ["release"] and len(argv) == 2:
        notes, wrong = release_notes(text, __version__, argv[1])
        if not wrong:
            sys.stdout.write(notes)
    else:
        sys.stderr.write(__doc__)
        return 2
    for line in wrong:
        print(f"CHANGELOG.md: {line}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
