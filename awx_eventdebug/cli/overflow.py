"""``eventdebug overflow``, ``ingest`` and ``purge``: the ChannelOverflow table from the shell."""

from __future__ import annotations

import argparse
import sys
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from django.core.management.base import CommandError

from ..columns import SOURCES
from ..conf import effective_settings, get_config
from ..overflow.ingest import ingest_streams
from ..overflow.params import (
    OverflowListSerializer,
    OverflowSummarySerializer,
    PurgeSerializer,
    overflow_page,
    overflow_summary,
)
from ..overflow.queries import TIMELINE_TRUNC, purge_overflow
from .base import Subcommand, bounded_int, counted, one_of, render_pairs, render_table, validated, when


class Overflow(Subcommand):
    name = "overflow"
    help = (
        "Channel layer group messages dropped because members' queues were full, as captured "
        "from channels_redis's 'over capacity' records (or ingested): rows per node, group and "
        "window, or with --summary totals per group."
    )
    examples = (
        "awx-manage eventdebug overflow --summary --since 2h",
        "awx-manage eventdebug overflow --summary --timeline minute --group 'job_events-*'",
        "awx-manage eventdebug overflow --node awx-1 --since 15m",
    )
    FILTERS = ("group", "node", "source", "since", "until")

    def add_arguments(self, parser):
        parser.add_argument("--group", help="Group name, or a glob with * and ? (job_events-*).")
        parser.add_argument("--node", help="Only this node (CLUSTER_HOST_ID).")
        parser.add_argument(
            "--source", **one_of(s for s, _ in SOURCES), help="live (captured) or ingest (from log files)."
        )
        parser.add_argument("--since", help="ISO 8601 time or a duration ago (2h).")
        parser.add_argument("--until", help="ISO 8601 time or a duration ago.")
        parser.add_argument("--page", help="Page of rows (default 1).")
        parser.add_argument("--page-size", help="Rows per page (default 100, at most 1000).")
        parser.add_argument("--summary", action="store_true", help="Totals per group instead of rows.")
        parser.add_argument(
            "--timeline", **one_of(TIMELINE_TRUNC), help="With --summary: drops per minute or hour."
        )
        parser.add_argument("--limit", help="With --summary: most groups shown (default 50).")

    def handle(self, command, options):
        # An option of the other mode would be ignored without a word, whatever its value.
        ignored = ("page", "page_size") if options["summary"] else ("timeline", "limit")
        given = [f"--{name.replace('_', '-')}" for name in ignored if options.get(name) is not None]
        if given:
            mode = "without" if options["summary"] else "only with"
            raise CommandError(f"{', '.join(given)}: used {mode} --summary.", returncode=2)
        if options["summary"]:
            query = validated(OverflowSummarySerializer, options, self.FILTERS + ("timeline", "limit"))
            result = overflow_summary(query)
            formatter = format_summary
        else:
            names = self.FILTERS + ("page", "page_size")
            query = validated(OverflowListSerializer, options, names)
            # The pages' links as the API's query strings, relative: "?group=...&page=2".
            given = {name: options[name] for name in names if options.get(name) is not None}
            result = overflow_page(query, "?" + urlencode(given))
            formatter = format_page
        self.output(command, options, result, formatter)


# The heading of each field the two tables show, and whether it is right-aligned (a number).
FIELDS = {
    "window_start": ("window start", False),
    "node": ("node", False),
    "group": ("group", False),
    "source": ("source", False),
    "drops": ("drops", True),
    "drops_per_minute": ("drops/min", True),
    "full_queues": ("queues full", True),
    "max_group_members": ("max group", True),
    "nodes": ("nodes", True),
    "first_seen": ("first seen", False),
    "last_seen": ("last seen", False),
}
PAGE_FIELDS = "window_start node group source drops full_queues max_group_members last_seen"
SUMMARY_FIELDS = "group drops drops_per_minute full_queues max_group_members nodes first_seen last_seen"


def render_dicts(fields: str, items) -> str:
    """``items`` as a table of the space-separated ``fields``."""
    keys = fields.split()
    return render_table(
        [FIELDS[key][0] for key in keys],
        [[item[key] for key in keys] for item in items],
        numeric=[FIELDS[key][1] for key in keys],
    )


def format_page(page: dict, style) -> str:
    if not page["results"]:
        return "No channel overflow recorded for these filters."
    footer = counted(page["count"], "row")
    if page["next"]:
        footer += f"; next page: --page {parse_qs(urlsplit(page['next']).query)['page'][0]}"
    return render_dicts(PAGE_FIELDS, page["results"]) + "\n" + footer


def format_summary(summary: dict, style) -> str:
    if not summary["groups"]:
        return "No channel overflow recorded for these filters."
    out = [render_dicts(SUMMARY_FIELDS, summary["groups"])]
    out.append(
        f"{summary['shown_groups']} of {counted(summary['groups_total'], 'group')}; "
        f"{counted(summary['totals']['drops'], 'drop')} in {counted(summary['totals']['rows'], 'row')}"
    )
    if summary["timeline"]:
        points = [(g["group"], p["at"], p["drops"]) for g in summary["groups"] for p in g["timeline"]]
        out.append("")
        out.append(
            render_table(("group", summary["timeline"], "drops"), points, numeric=(False, False, True))
        )
    return "\n".join(out)


class Ingest(Subcommand):
    name = "ingest"
    help = (
        "Count the channels_redis 'over capacity' records of existing logs (AWX's tower.log, "
        "journalctl -o short-iso or -o export output, gzip or not; '-' reads standard input) "
        "into the overflow table as source 'ingest'. Ingesting a record twice counts it once. "
        "Exit status 1 when a line was rejected or a file could not be read to its end (the "
        "rest is still counted; -v 2 names each rejected line), 130 when interrupted."
    )
    examples = (
        "awx-manage eventdebug ingest /var/log/tower/daphne.log",
        "journalctl -u awx-daphne -o short-iso | awx-manage eventdebug ingest -",
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="Log files, or - for standard input.")
        parser.add_argument(
            "--node", help="Node the logs come from (default this node; journal host names win)."
        )
        # Django's -v belongs to the command before the subcommand; accepted here too, where an
        # admin types it, and set only when given.
        parser.add_argument(
            "-v",
            "--verbosity",
            type=bounded_int(0, 3),
            metavar="{0,1,2,3}",
            default=argparse.SUPPRESS,
            help="2: print file:line and why for each rejected line.",
        )

    def handle(self, command, options):
        sources = []
        try:
            for name in options["files"]:
                sources.append((name, sys.stdin.buffer if name == "-" else open(name, "rb")))
        except OSError as exc:
            close_files(sources)
            raise CommandError(f"cannot read {exc.filename}: {exc.strerror}", returncode=2) from exc
        progress = IngestProgress(command.stderr) if command.stderr.isatty() else None

        def rejected(report, line, why):
            command.stderr.write(f"{report.file}:{line}: rejected: {why}")

        try:
            result = ingest_streams(
                sources,
                node=options["node"],
                progress=progress,
                rejected=rejected if options["verbosity"] >= 2 else None,
            )
        finally:
            close_files(sources)
        if progress:
            progress.clear()
        self.output(command, options, result, format_ingest)
        if result["interrupted"]:
            raise CommandError("interrupted: what was read before is counted", returncode=130)
        if result["skipped"]:
            totals = result["totals"]
            raise CommandError(
                f"skipped {counted(totals['bad_lines'], 'rejected line')} and "
                f"{counted(totals['unreadable_files'], 'file')} not read to the end",
                returncode=1,
            )


def close_files(sources) -> None:
    for _, stream in sources:
        if stream is not sys.stdin.buffer:
            stream.close()


class IngestProgress:
    """One self-overwriting line on a terminal: the file, percent of it read and time left
    (known for files on disk; a pipe shows the bytes read)."""

    def __init__(self, stream):
        self.stream = stream
        self.started: dict[str, float] = {}

    def __call__(self, report) -> None:
        now = time.monotonic()
        started = self.started.setdefault(report.file, now)
        text = f"ingest: {report.file}: {report.bytes / 1e6:.0f} MB, {report.records} records"
        if report.size and report.position:
            done = report.position / report.size
            left = (now - started) * (1 - done) / done
            text += f", {100 * done:.0f}%, about {left:.0f} s left"
        self.stream.write(f"\r{text}\x1b[K", ending="")
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r\x1b[K", ending="")
        self.stream.flush()


def format_ingest(result: dict, style) -> str:
    headers = ("file", "format", "lines", "records", "new", "already counted", "bad")
    rows = [
        (f["file"], f["format"] + (" (gzip)" if f["compressed"] else ""), f["lines"], f["records"])
        + (f["new_records"], f["duplicates"], f["bad_lines"])
        for f in result["files"]
    ]
    out = [
        render_table(headers, rows, numeric=(False, False) + (True,) * 5),
        render_pairs([("node", result["node"]), ("rows written", result["written_rows"])]),
    ]
    out += [f"{f['file']}: not read to the end: {f['error']}" for f in result["files"] if f["error"]]
    out += [
        f"{f['file']}: none of its {counted(f['unverified_records'], 'record')} counted: the compressed data "
        "did not decompress whole, so what was read of it may be garbled (zcat what is there "
        "into a plain file and ingest that to count it anyway)"
        for f in result["files"]
        if f["unverified_records"]
    ]
    too_old = result["totals"]["too_old_records"]
    if too_old:
        out.append(
            f"skipped {counted(too_old, 'record')} logged at or before the purge horizon "
            f"({when(result['purge_horizon'])}): purge deleted what tells whether they were counted, "
            "and their rows, so they are not counted again"
        )
    if result["interrupted"]:
        out.append("interrupted: the counts above are stored; ingesting again counts the rest once")
    return "\n".join(out)


class Purge(Subcommand):
    name = "purge"
    help = (
        "Delete overflow rows (and ingest fingerprints) older than --older-than (default "
        "EVENTDEBUG['RETENTION']), in batches; --dry-run only counts them."
    )
    examples = (
        "awx-manage eventdebug purge --dry-run",
        "awx-manage eventdebug purge --older-than 30d",
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", help="A duration such as 30d (default EVENTDEBUG['RETENTION']).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be removed.")

    def handle(self, command, options):
        if options["older_than"]:
            text = options["older_than"]
            older_than = validated(PurgeSerializer, options, ("older_than",))["older_than"]
        else:
            text, older_than = effective_settings()["RETENTION"], get_config()["RETENTION"]
        result = purge_overflow(older_than, dry_run=options["dry_run"])
        if options["json"]:
            self.write_json(command, result)
            return
        verb = "would remove" if result["dry_run"] else "removed"
        command.stdout.write(
            f"{verb} rows older than {when(result['cutoff'])} ({text}):\n"
            + render_pairs(
                [
                    ("overflow rows", result["removed"]["overflow_rows"]),
                    ("ingest fingerprints", result["removed"]["ingest_fingerprints"]),
                    ("batches", result["batches"]),
                ]
            )
        )
