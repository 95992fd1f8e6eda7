"""``eventdebug SUBCOMMAND --help``: every option's choices, and two or three examples at the end
that the parser accepts as printed."""

import argparse
import shlex

import pytest

from awx_eventdebug.awx.tables import KINDS
from awx_eventdebug.cli import SUBCOMMANDS
from awx_eventdebug.lag.query import GROUP_BY
from awx_eventdebug.management.commands.eventdebug import Command


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = Command().create_parser("awx-manage", "eventdebug")
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


@pytest.mark.parametrize("subcommand", SUBCOMMANDS, ids=lambda s: s.name)
def test_help_ends_with_examples_the_parser_accepts(subcommand):
    name = subcommand.name
    parser = subparsers()[name]
    text = parser.format_help()
    head, examples = text.split("\nexamples:\n")
    lines = examples.strip().splitlines()
    assert 2 <= len(lines) <= 3, lines
    for line in lines:
        command = shlex.split(line.split("|")[-1])
        assert command[:3] == ["awx-manage", "eventdebug", name], line
        options = vars(parser.parse_args(command[3:]))
        if subcommand.serializer is not None:
            subcommand().query(options)  # and the feature's serializer accepts its query options


@pytest.mark.parametrize(
    "name, option, choices",
    [
        ("lag", "--kind", list(KINDS)),
        ("lag", "--by", list(GROUP_BY)),
        ("overflow", "--timeline", ["minute", "hour"]),
        ("overflow", "--source", ["live", "ingest"]),
        ("listen", "--kind", sorted(KINDS)),
    ],
)
def test_help_lists_the_choices(name, option, choices):
    text = subparsers()[name].format_help()
    assert f"{option} {{{','.join(choices)}}}" in text
