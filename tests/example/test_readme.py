"""The README's shell commands as a newcomer copies them after `make demo`: the example project's
manage.py run with the virtualenv's Python (a bare `python` has no Django), and each command's
arguments accepted by its parser."""

import re
import shlex
from pathlib import Path

from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[2]
MANAGE = "example_settings/manage.py"


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    lines = " ".join(blocks).replace("\\\n", " ").splitlines()
    return [line.split("#")[0].strip() for line in lines if MANAGE in line]


def test_manage_py_runs_with_the_virtualenvs_python():
    commands = readme_commands()
    assert len(commands) >= 3
    for command in commands:
        assert command.startswith(f".venv/bin/python {MANAGE} "), command


def test_each_command_parses():
    for command in readme_commands():
        name, *args = shlex.split(command)[2:]
        parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)
        parser.parse_args(args)  # a CommandError (not SystemExit) when called outside a shell
