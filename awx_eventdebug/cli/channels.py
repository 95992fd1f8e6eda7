"""``eventdebug groups``, ``queues`` and ``watch``: the channel layer as Redis holds it."""

from __future__ import annotations

import json
import sys

from ..channels.backends import SUBSCRIBERS, backend_support
from ..channels.groups import inspect_groups
from ..channels.params import ChannelsQuerySerializer
from ..channels.queues import DEFAULT_LIMIT, inspect_queues
from ..channels.watch import watch_samples
from .base import (
    Subcommand,
    bounded_int,
    counted,
    positive_float,
    render_pairs,
    render_table,
    terminal_safe,
    validated,
)

# Clear the screen and home the cursor, so each sample of watch replaces the previous one.
REDRAW = "\x1b[H\x1b[2J"


def add_redis_arguments(parser) -> None:
    parser.add_argument("--layer", help="CHANNEL_LAYERS alias (default: EVENTDEBUG['LAYER']).")
    parser.add_argument(
        "--timeout",
        type=positive_float,
        help="Connect and command timeout per Redis host, seconds (default: EVENTDEBUG['REDIS_TIMEOUT']).",
    )


def add_layer_arguments(parser) -> None:
    add_redis_arguments(parser)
    parser.add_argument(
        "--limit",
        help=f"Show at most this many, worst first (default {DEFAULT_LIMIT}; the summary counts all).",
    )


class Groups(Subcommand):
    name = "groups"
    help = (
        "Channel layer groups read from Redis, worst first: members grouped by the process queue "
        "they map to, each queue's depth, capacity, fill and oldest message age, stale members, "
        "the group key's TTL; a summary line. Reads only, bounded (SCAN, pipelined ranged reads)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--pattern", default="*", help="Glob on group names, e.g. 'job_events-*'.")
        add_layer_arguments(parser)

    def handle(self, command, options):
        query = validated(ChannelsQuerySerializer, options, ("pattern", "limit"))
        doc = inspect_groups(options["layer"], query["pattern"], query["limit"], options["timeout"])
        self.output(command, options, doc, format_groups)


class Queues(Subcommand):
    name = "queues"
    help = (
        "Every queue key of the channel layer (process and plain channels) with depth, capacity, "
        "fill and oldest message age, worst first, and the $inflight backups left behind."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-depth", type=bounded_int(0), default=0, help="List only queues holding this many messages."
        )
        add_layer_arguments(parser)

    def handle(self, command, options):
        limit = validated(ChannelsQuerySerializer, options, ("limit",))["limit"]
        doc = inspect_queues(options["layer"], options["min_depth"], limit, options["timeout"])
        self.output(command, options, doc, format_queues)


class Watch(Subcommand):
    name = "watch"
    help = (
        "Sample the groups' queues repeatedly: depth and fill (+) or drain (-) rate per second, "
        "membership changes. Redraws in place on a terminal; one JSON object per line and "
        "sample with --json. Stops after --count samples or on Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=positive_float, default=1.0, help="Seconds between samples.")
        parser.add_argument("--count", type=bounded_int(1), help="Stop after this many samples.")
        parser.add_argument("--pattern", default="*", help="Glob on group names, e.g. 'job_events-*'.")
        add_layer_arguments(parser)

    def handle(self, command, options):
        query = validated(ChannelsQuerySerializer, options, ("pattern", "limit"))
        samples = watch_samples(
            options["layer"],
            query["pattern"],
            options["interval"],
            options["count"],
            query["limit"],
            options["timeout"],
        )
        redraw = not options["json"] and _is_terminal(command.stdout)
        try:
            for sample in samples:
                if options["json"]:
                    command.stdout.write(json.dumps(sample))
                else:
                    command.stdout.write(
                        (REDRAW if redraw else "") + terminal_safe(format_sample(sample, command.style))
                    )
                command.stdout.flush()
        except KeyboardInterrupt:
            command.stdout.write("")  # end the line ^C left open; stopping is a normal exit


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


def percent_text(value) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _header(doc: dict, style) -> list[str]:
    layer = doc["layer"]
    out = [
        style.MIGRATE_HEADING(
            f"Channel layer {layer['alias']}: {layer['backend']}, prefix {layer['prefix']!r}, "
            f"capacity {layer['capacity']}, expiry {layer['expiry']}s, group_expiry {layer['group_expiry']}s"
        )
    ]
    for shard in doc["shards"]:
        state = style.SUCCESS("ok") if shard["ok"] else style.ERROR(f"UNREACHABLE: {shard['error']}")
        out.append(f"  shard {shard['index']} {shard['host']}: {state}")
    if doc["note"]:
        out.append(style.WARNING(doc["note"]))
    for reason in doc["truncated"]:
        out.append(style.WARNING(f"Truncated: {reason}; counts cover what was read."))
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
        f"groups {summary['groups']}  members {summary['members']}  stale {summary['stale_members']}  "
        f"queues {summary['queues']}  over 80% {summary['queues_over_80']}  full {summary['queues_full']}  "
        f"oldest message {seconds_text(summary['max_oldest_age'])}"
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
            duration(group["ttl"]),
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
        queue["depth"],
        queue["capacity"],
        percent_text(queue["fill"]),
        seconds_text(queue["oldest_age"]),
        queue["inflight"],
    ]


def format_queues(doc: dict, style) -> str:
    out = _header(doc, style)
    summary = doc["summary"]
    out.append(
        f"queues {summary['queues']}  messages {summary['messages']}  over 80% {summary['queues_over_80']}  "
        f"full {summary['queues_full']}  oldest message {seconds_text(summary['max_oldest_age'])}  "
        f"misplaced {summary['misplaced_queues']}  $inflight keys {summary['inflight_keys']} "
        f"({summary['inflight_left_behind']} left behind)"
    )
    if doc["queues"]:
        rows = [
            (
                q["key"],
                q["kind"],
                q["shard"],
                q["depth"],
                q["expired"],
                q["capacity"],
                percent_text(q["fill"]),
                seconds_text(q["oldest_age"]),
                q["inflight"],
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
                i["depth"],
                seconds_text(i["oldest_age"]),
                i["queue_depth"],
                "LEFT BEHIND" if i["left_behind"] else "",
            )
            for i in doc["inflight"]
        ]
        headers = ("key", "shard", "depth", "oldest", "queue depth", "")
        out.append(render_table(headers, rows, numeric=(False,) + (True,) * 4))
    return "\n".join(out)


def format_sample(sample: dict, style) -> str:
    summary = sample["summary"]
    out = [
        style.MIGRATE_HEADING(
            f"Sample {sample['sample']} at {sample['at']} "
            f"(layer {sample['layer']}, groups {sample['pattern']!r})"
        )
    ]
    for shard in sample["shards"]:
        if not shard["ok"]:
            out.append(
                style.ERROR(f"  shard {shard['index']} {shard['host']}: UNREACHABLE: {shard['error']}")
            )
    if sample["note"]:
        out.append(style.WARNING(sample["note"]))
    for reason in sample["truncated"]:
        out.append(style.WARNING(f"Truncated: {reason}"))
    out.append(
        f"groups {summary['groups']}  members {summary['members']}  queues {summary['queues']}  "
        f"over 80% {summary['queues_over_80']}  full {summary['queues_full']}  "
        f"oldest message {seconds_text(summary['max_oldest_age'])}"
    )
    if sample["queues"]:
        rows = [
            (
                q["key"],
                q["shard"],
                q["members"],
                "unreachable" if q["depth"] is None else q["depth"],
                q["capacity"],
                percent_text(q["fill"]),
                seconds_text(q["oldest_age"]),
                "-" if q["rate"] is None else f"{q['rate']:+.1f}/s",
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
