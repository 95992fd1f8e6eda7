"""``manage.py eventdebug`` (``awx-manage eventdebug`` in AWX): one Django command whose subcommands
are the faces in awx_eventdebug/cli/, so that AWX gains one command name, not one per subcommand."""

from __future__ import annotations

import argparse
import sys
import textwrap

from django.core.management.base import BaseCommand, CommandError

from awx_eventdebug.cli import SUBCOMMANDS
from awx_eventdebug.cli.base import escape_controls
from awx_eventdebug.db import CONNECTION_ERRORS, bound_connect, database_failed
from awx_eventdebug.errors import EventDebugError


class Command(BaseCommand):
    help = "Find out why AWX job output shows up late: run 'eventdebug SUBCOMMAND --help'."
    # A diagnostic tool must run on a broken setup; doctor reports the app's own checks itself.
    requires_system_checks = []

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(
            dest="subcommand",
            metavar="SUBCOMMAND",
            required=True,
        )
        self.subcommands = {}
        for subcommand_class in SUBCOMMANDS:
            subcommand = subcommand_class()
            # Raw text: the examples keep one command per line; the description is wrapped here.
            sub = subparsers.add_parser(
                subcommand.name,
                help=subcommand.help,
                description=textwrap.fill(subcommand.help, 78),
                epilog="examples:\n" + "\n".join(f"  {line}" for line in subcommand.examples),
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            sub.add_argument("--json", action="store_true", help="Print JSON instead of text.")
            subcommand.add_arguments(sub)
            self.subcommands[subcommand.name] = subcommand

    def handle(self, *args, **options):
        subcommand = self.subcommands[options["subcommand"]]
        bound_connect()
        # An exit message is one line: a value it quotes (a name read from Redis or a log) can
        # neither break it nor drive the terminal.
        try:
            try:
                subcommand.handle(self, options)
            except CONNECTION_ERRORS as exc:
                raise database_failed(exc) from exc
        except EventDebugError as exc:
            self.exit(subcommand.name, escape_controls(str(exc)), exc.exit_code, exc)
        except CommandError as exc:
            self.exit(subcommand.name, escape_controls(str(exc)), exc.returncode, exc)

    def exit(self, subcommand: str, message: str, code: int, exc: Exception):
        """Exit ``code`` (docs/cli.md) with one line on stderr: "eventdebug check: 1 check failed",
        not Django's "CommandError: ...", which reads as a crash. From call_command (tests, a
        caller's code): the CommandError, with the same message and code."""
        if getattr(self, "_called_from_command_line", False):
            self.stderr.write(f"eventdebug {subcommand}: {message}")
            sys.exit(code)
        raise CommandError(message, returncode=code) from exc
