"""``eventdebug cleanup``: the members a killed ``eventdebug listen`` left in groups (channels/cleanup.py)."""

from __future__ import annotations

from django.core.management.base import CommandError

from ..channels.cleanup import listen_leftovers
from .base import Subcommand, counted, render_table
from .channels import _header, add_redis_arguments


class Cleanup(Subcommand):
    name = "cleanup"
    help = (
        "List the members that `eventdebug listen` left in groups when it was killed (named "
        "eventdebug.*, and stale: expired, $inflight left behind or queue not drained), and with "
        "--apply remove exactly those and their queues. Dry run by default; touches nothing else."
    )
    examples = (
        "awx-manage eventdebug cleanup",
        "awx-manage eventdebug cleanup --apply",
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="Remove them (default: only list).")
        add_redis_arguments(parser)

    def handle(self, command, options):
        doc = listen_leftovers(options["layer"], options["timeout"], apply=options["apply"])
        self.output(command, options, doc, format_cleanup)
        failed = [leftover for leftover in doc["leftovers"] if leftover["error"]]
        if failed:
            raise CommandError(f"could not remove {counted(len(failed), 'member')}.", returncode=2)


def format_cleanup(doc: dict, style) -> str:
    out = _header(doc, style)
    leftovers = doc["leftovers"]
    if not leftovers:
        out.append("No leftovers of eventdebug listen.")
        return "\n".join(out)
    rows = [
        (
            item["group"],
            item["channel"],
            item["stale"],
            "removed" if item["removed"] else item["error"] or "-",
        )
        for item in leftovers
    ]
    out.append(render_table(("group", "member", "stale", "done"), rows))
    if not doc["applied"]:
        out.append(f"{counted(len(leftovers), 'leftover')}; run with --apply to remove them.")
    return "\n".join(out)
