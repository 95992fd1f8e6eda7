"""The shell commands of the README and of docs/ as a newcomer copies them after `make demo`: the
example project's manage.py run with the virtualenv's Python (a bare `python` has no Django), and
each command's arguments accepted by its parser."""

import re
import shlex
from pathlib import Path

from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[2]
MANAGE = "example_settings/manage.py"


def commands_in(page: Path) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", page.read_text(), re.S)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    return [line.split("#")[0].strip().removesuffix("&").strip() for line in lines if MANAGE in line]


def readme_commands() -> list[str]:
    """The README's, then those of every page of docs/."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [command for page in pages for command in commands_in(page)]


def test_manage_py_runs_with_the_virtualenvs_python():
    commands = readme_commands()
    assert len(commands_in(ROOT / "README.md")) >= 3 and len(commands) > len(commands_in(ROOT / "README.md"))
    for command in commands:
        assert command.startswith(f".venv/bin/python {MANAGE} "), command


def test_each_command_parses():
    for command in readme_commands():
        name, *args = shlex.split(command)[2:]
        parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
        parser.parse_args(args)  # a CommandError (not SystemExit) when called outside a shell
