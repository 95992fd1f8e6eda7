"""``eventdebug groups``, ``queues`` and ``watch``: the channel layer as Redis holds it."""

from __future__ import annotations

import json
import sys

from ..channels.backends import SUBSCRIBERS, backend_support
from ..channels.params import ChannelsQuerySerializer, groups_document, queues_document
from ..channels.queues import DEFAULT_LIMIT
from ..channels.watch import RETRY_FOR, FailedSample, watch_samples
from ..jsondoc import rounded
from .base import (
    Subcommand,
    bounded_int,
    counted,
    escaped,
    positive_float,
    render_pairs,
    render_table,
    terminal_safe,
    validated,
    when,
)

# Clear the screen and home the cursor, so each sample of watch replaces the previous one.
REDRAW = "\x1b[H\x1b[2J"
PATTERN_OPTION = {"pattern": "Glob on group names, e.g. 'job_events-*'."}


def _is_terminal(stream) -> bool:
    target = getattr(stream, "_out", stream)  # Django's OutputWrapper
    return target is sys.stdout and hasattr(target, "isatty") and target.isatty()


def seconds_text(value) -> str:
    return "-" if value is None else f"{value:.1f}s"


def duration(value) -> str:
    """A TTL: compact, because AWX's group_expiry is about five years."""
    if value is None:
        return "none"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= 2 * size:
            return f"{value // size}{unit}"
    return f"{value}s"


# How summary_line names each figure of a groups, queues or watch summary.
SUMMARY_LABELS = {
    "groups": "groups",
    "members": "members",
    "stale_members": "stale",
    "queues": "queues",
    "messages": "messages",
    "nearly_full_queues": "nearly full",
    "full_queues": "full",
    "max_oldest_age_seconds": "oldest message",
    "misplaced_queues": "misplaced",
    "inflight_keys": "$inflight keys",
}


def summary_line(summary: dict, figures: str) -> str:
    """The space-separated ``figures`` of ``summary`` as "label value" pairs on one line."""

    def shown(key):
        if key == "max_oldest_age_seconds":
            return seconds_text(summary[key])
        if key == "nearly_full_queues":  # the count with its bound: "over 80% 2"
            return f"{summary[key]} (over {summary['nearly_full_percent']:g}%)"
        return summary[key]

    return "  ".join(f"{SUMMARY_LABELS[key]} {shown(key)}" for key in figures.split())


def percent_text(value) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _header(doc: dict, style) -> list[str]:
    layer = doc["layer"]
    heading = (
        f"Channel layer {layer['alias']}: {layer['backend']}, prefix {layer['prefix']!r}, "
        f"capacity {layer['capacity_messages']} messages, expiry {layer['expiry_seconds']} s, "
        f"group_expiry {layer['group_expiry_seconds']} s"
    )
    return _frame(heading, doc, style, every_shard=True, truncated="; counts cover what was read.")


def _frame(heading: str, doc: dict, style, every_shard: bool, truncated: str = "") -> list[str]:
    """The heading, the shards (only the unreachable ones unless ``every_shard``), the layer's
    note and what the reading truncated."""
    out = [style.MIGRATE_HEADING(heading)]
    for shard in doc["shards"]:
        if shard["ok"] and not every_shard:
            continue
        state = style.SUCCESS("ok") if shard["ok"] else style.ERROR(f"UNREACHABLE: {shard['error']}")
        out.append(f"  shard {shard['index']} {shard['host']}: {state}")
    if doc["note"]:
        out.append(style.WARNING(doc["note"]))
    out.extend(style.WARNING(f"Truncated: {reason}{truncated}") for reason in doc["truncated"])
    return out


def format_groups(doc: dict, style) -> str:
    out = _header(doc, style)
    summary = doc["summary"]
    if backend_support(doc["layer"]["backend"]).groups == SUBSCRIBERS:
        out.append(render_pairs([("groups", summary["groups"]), ("subscribers", summary["subscribers"])]))
        rows = [(g["name"], g["shard"], g["subscribers"]) for g in doc["groups"]]
        out.append(render_table(("group", "shard", "subscribers"), rows, numeric=(False, True, True)))
        return "\n".join(out)
    out.append(
        summary_line(
            summary,
            "groups members stale_members queues nearly_full_queues full_queues max_oldest_age_seconds",
        )
    )
    if not doc["groups"]:
        return "\n".join(out)
    headers = (
        "group",
        "shard",
        "ttl",
        "members",
        "stale",
        "queue",
        "shard",
        "members",
        "depth",
        "capacity",
        "fill",
        "oldest",
        "inflight",
    )
    rows = []
    for group in doc["groups"]:
        cells = [
            group["name"],
            group["shard"],
            duration(group["ttl_seconds"]),
            _members(group),
            group["stale_members"],
        ]
        for queue in group["queues"] or [None]:
            rows.append(cells + _queue_cells(queue))
            cells = [""] * 5
    numeric = (False, True, True, True, True, False, True, True, True, True, True, True, True)
    out.append(render_table(headers, rows, numeric=numeric))
    if len(doc["groups"]) < summary["groups"]:
        out.append(
            f"({len(doc['groups'])} of {counted(summary['groups'], 'group')} shown, worst first; "
            "--limit shows more)"
        )
    return "\n".join(out)


def _members(group: dict) -> str:
    if group["members_read"] < group["members"]:
        return f"{group['members']} ({group['members_read']} read)"
    return str(group["members"])


def _queue_cells(queue: dict | None) -> list:
    if queue is None:
        return ["-"] + [""] * 7
    if queue["unreachable"]:
        return [queue["key"], queue["shard"], len(queue["members"]), "unreachable", "", "", "", ""]
    stale = f" ({queue['stale_members']} stale)" if queue["stale_members"] else ""
    return [
        queue["key"],
        queue["shard"],
        f"{len(queue['members'])}{stale}",
        queue["depth_messages"],
        queue["capacity_messages"],
        percent_text(queue["fill_percent"]),
        seconds_text(queue["oldest_age_seconds"]),
        queue["inflight_messages"],
    ]


def format_queues(doc: dict, style) -> str:
    out = _header(doc, style)
    summary = doc["summary"]
    figures = (
        "queues messages nearly_full_queues full_queues max_oldest_age_seconds misplaced_queues inflight_keys"
    )
    out.append(f"{summary_line(summary, figures)} ({summary['left_behind_inflight_keys']} left behind)")
    if doc["queues"]:
        rows = [
            (
                q["key"],
                q["kind"],
                q["shard"],
                q["depth_messages"],
                q["expired_messages"],
                q["capacity_messages"],
                percent_text(q["fill_percent"]),
                seconds_text(q["oldest_age_seconds"]),
                q["inflight_messages"],
                f"MISPLACED (receivers read shard {q['receiver_shard']})" if q["misplaced"] else "",
            )
            for q in doc["queues"]
        ]
        headers = ("queue", "kind", "shard", "depth", "expired", "capacity", "fill", "oldest", "inflight", "")
        out.append(render_table(headers, rows, numeric=(False, False) + (True,) * 7))
    if doc["inflight"]:
        out.append(style.MIGRATE_HEADING("$inflight backups"))
        rows = [
            (
                i["key"],
                i["shard"],
                i["depth_messages"],
                seconds_text(i["oldest_age_seconds"]),
                i["queue_depth_messages"],
                "LEFT BEHIND" if i["left_behind"] else "",
            )
            for i in doc["inflight"]
        ]
        headers = ("key", "shard", "depth", "oldest", "queue depth", "")
        out.append(render_table(headers, rows, numeric=(False,) + (True,) * 4))
    return "\n".join(out)


def format_sample(sample: dict, style) -> str:
    summary = sample["summary"]
    heading = (
        f"Sample {sample['sample']} at {when(sample['at'], milliseconds=True)} "
        f"(layer {sample['layer']}, groups {sample['pattern']!r})"
    )
    out = _frame(heading, sample, style, every_shard=False)
    out.append(
        summary_line(summary, "groups members queues nearly_full_queues full_queues max_oldest_age_seconds")
    )
    if sample["queues"]:
        rows = [
            (
                q["key"],
                q["shard"],
                q["members"],
                "unreachable" if q["depth_messages"] is None else q["depth_messages"],
                q["capacity_messages"],
                percent_text(q["fill_percent"]),
                seconds_text(q["oldest_age_seconds"]),
                "-" if q["rate_per_second"] is None else f"{q['rate_per_second']:+.1f}/s",
            )
            for q in sample["queues"]
        ]
        headers = ("queue", "shard", "members", "depth", "capacity", "fill", "oldest", "rate")
        out.append(render_table(headers, rows, numeric=(False,) + (True,) * 7))
    for change in sample["membership"]:
        out.append(
            f"  {change['group']}: +{change['joined_count']} -{change['left_count']} "
            f"-> {counted(change['members'], 'member')}"
        )
    return "\n".join(out) + "\n"


def failure_line(failed: FailedSample) -> str:
    """One line for a sample that could not read the layer's Redis, and what watch does next."""
    then = "Giving up." if failed.giving_up else f"Retrying each interval until {when(failed.give_up_at)}."
    return (
        f"Sample {failed.sample} at {when(failed.at, milliseconds=True)}, layer {failed.layer}: "
        f"{failed.error.rstrip('.')}. {then}"
    )


def add_redis_arguments(parser) -> None:
    """--layer and --timeout: the layer read and how long each Redis host may take."""
    parser.add_argument("--layer", help="CHANNEL_LAYERS alias (default: EVENTDEBUG['LAYER']).")
    parser.add_argument(
        "--timeout",
        type=positive_float,
        help="Connect and command timeout per Redis host, seconds (default: EVENTDEBUG['REDIS_TIMEOUT']).",
    )


class LayerReading(Subcommand):
    """groups, queues and watch: the layer named by --layer read with --timeout per Redis host;
    the query options and --limit validated as GET channels/ validates its query string, the
    ``passed`` options handed on as parsed."""

    serializer = ChannelsQuerySerializer
    passed: tuple[str, ...] = ()

    def add_arguments(self, parser):
        super().add_arguments(parser)
        add_redis_arguments(parser)
        parser.add_argument(
            "--limit",
            help=f"Show at most this many, worst first (default {DEFAULT_LIMIT}; the summary counts all).",
        )

    def query(self, options):
        names = (*self.query_options, "limit")
        valid = validated(self.serializer, options, names)
        return {
            **{name: valid[name] for name in names},
            **{name: options[name] for name in self.passed},
            "alias": options["layer"],
            "timeout": options["timeout"],
        }


class Groups(LayerReading, document=groups_document, formatter=format_groups):
    name = "groups"
    help = (
        "Channel layer groups read from Redis, worst first: members grouped by the process queue "
        "they map to, each queue's depth, capacity, fill and oldest message age, stale members, "
        "the group key's TTL; a summary line. Reads only, bounded (SCAN, pipelined ranged reads)."
    )
    examples = (
        "awx-manage eventdebug groups",
        "awx-manage eventdebug groups --pattern 'job_events-*' --limit 20",
    )
    query_options = PATTERN_OPTION


class Queues(LayerReading, document=queues_document, formatter=format_queues):
    name = "queues"
    help = (
        "Every queue key of the channel layer (process and plain channels) with depth, capacity, "
        "fill and oldest message age, worst first, and the $inflight backups left behind."
    )
    examples = (
        "awx-manage eventdebug queues",
        "awx-manage eventdebug queues --min-depth 100 --json",
    )
    passed = ("min_depth",)

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-depth", type=bounded_int(0), default=0, help="List only queues holding this many messages."
        )
        super().add_arguments(parser)


class Watch(LayerReading):
    name = "watch"
    help = (
        "Sample the groups' queues repeatedly: depth and fill (+) or drain (-) rate per second, "
        "membership changes. Redraws in place on a terminal; one JSON object per line and "
        "sample with --json. Stops after --count samples or on Ctrl-C. Once a sample was read, a "
        "sample that finds the layer's Redis unreachable (a restart) is one line on stderr and is "
        "retried each interval for up to --retry-for seconds, then watch exits 2; the summary line "
        "at the end (stderr) counts the failed samples."
    )
    examples = (
        "awx-manage eventdebug watch",
        "awx-manage eventdebug watch --pattern 'job_events-*' --interval 5 --count 12",
    )
    query_options = PATTERN_OPTION
    passed = ("interval", "count", "retry_for")

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=positive_float, default=1.0, help="Seconds between samples.")
        parser.add_argument(
            "--count", type=bounded_int(1), help="Stop after this many samples, failed ones included."
        )
        parser.add_argument(
            "--retry-for",
            type=positive_float,
            default=RETRY_FOR,
            help=(
                "Seconds samples that find Redis unreachable are retried, from the first of the "
                f"failures in a row; the failure after that exits 2 (default {RETRY_FOR:g})."
            ),
        )
        super().add_arguments(parser)

    def handle(self, command, options):
        samples = watch_samples(**self.query(options))
        redraw = not options["json"] and _is_terminal(command.stdout)
        read = failed = 0
        try:
            for sample in samples:
                if isinstance(sample, FailedSample):
                    failed += 1
                    command.stderr.write(terminal_safe(failure_line(sample)))
                    continue
                read += 1
                if options["json"]:
                    command.stdout.write(json.dumps(rounded(sample)))
                else:
                    command.stdout.write(
                        (REDRAW if redraw else "")
                        + terminal_safe(format_sample(escaped(sample), command.style))
                    )
                command.stdout.flush()
        except KeyboardInterrupt:
            command.stdout.write("")  # end the line ^C left open; stopping is a normal exit
        finally:
            # On stderr, so that each line of --json's stdout stays one sample.
            if read:
                command.stderr.write(
                    f"{counted(read + failed, 'sample')}: {read} read, {failed} failed (Redis unreachable)"
                )
