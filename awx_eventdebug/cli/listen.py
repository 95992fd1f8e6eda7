"""``eventdebug listen``: the live listener from a shell, drawn as debug.js's box on a terminal,
one line per update to a pipe, or JSON lines."""

from __future__ import annotations

import json
import os
import sys

from django.core.management.base import CommandError

from ..awx.messages import group_names
from ..awx.tables import KINDS, MAX_JOB_ID
from ..jsondoc import rounded
from ..listen.listener import STOP_ERROR, STOP_OUTPUT_CLOSED, Listener, redis_layer
from ..listen.membership import GROUP_GONE, MEMBER_REMOVED
from ..listen.params import JobQuerySerializer
from .base import (
    Subcommand,
    bounded_int,
    chosen,
    counted,
    duration_seconds,
    escape_controls,
    escaped,
    format_number,
    one_of,
    positive_float,
    render_pairs,
    render_table,
    validated,
)


class Listen(Subcommand):
    name = "listen"
    help = (
        "Join a job's websocket group through the channel layer, as the browser's websocket does, "
        "and show live what debug.js shows: lag (now - created) average, standard deviation and "
        "max over the last 1024 events, their peaks, events per second and gaps in the event "
        "counters, each gap's cause checked against the stored events (only 'lost' is loss). "
        "Stops after --duration or on Ctrl-C/SIGTERM/SIGHUP, always leaving the group, and "
        "prints a summary."
    )
    examples = (
        "awx-manage eventdebug listen --job 42",
        "awx-manage eventdebug listen --job 42 --kind project_update --duration 5m",
        "awx-manage eventdebug listen --group jobs-status_changed --relay",
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--job", type=bounded_int(1, MAX_JOB_ID), help="Id of the job (unified job) to listen to."
        )
        parser.add_argument(
            "--kind",
            type=chosen(sorted(KINDS)),
            **one_of(sorted(KINDS)),
            default="job",
            help="Kind of the job, which names its websocket group (default: job).",
        )
        parser.add_argument(
            "--group",
            action="append",
            metavar="NAME",
            help="Join this group instead of the job's (repeatable), e.g. broadcast-group_send.",
        )
        parser.add_argument(
            "--duration",
            type=duration_seconds,
            metavar="S",
            help="Stop after this long: seconds or 90s, 15m, 2h (default: until Ctrl-C).",
        )
        parser.add_argument(
            "--interval",
            type=positive_float,
            default=1.0,
            metavar="S",
            help="Seconds between updates (default: 1).",
        )
        parser.add_argument(
            "--relay",
            action="store_true",
            help="AWX 22+ web node: also ask the task nodes' wsrelay to forward the groups here, "
            "as a browser's websocket does (consumer.subscribe to broadcast-group_send), and "
            "unsubscribe on exit. Without it a web node only gets events some browser asked for. "
            "Not for AWX before 22, whose broadcast consumers do not know that message.",
        )
        parser.add_argument("--layer", help="CHANNEL_LAYERS alias (default: EVENTDEBUG['LAYER']).")

    def handle(self, command, options):
        try:
            groups = group_names(options["job"], options["kind"], options["group"])
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        validated(JobQuerySerializer, options, ("kind", "job"))  # a job that exists, as GET listen/gaps/'s
        config = redis_layer(options["layer"])
        self._membership_told = 0
        if options["json"]:
            show = JsonLines(command)
        elif command.stdout.isatty():
            show = Redraw(command)
        else:
            show = OneLine(command)
        listener = Listener(
            config,
            groups,
            duration=options["duration"],
            interval=options["interval"],
            relay=options["relay"],
            on_joined=lambda joined: command.stderr.write(joined_line(escaped(joined), config.alias)),
            on_update=lambda report: self.show_update(show, report, listener, command),
        )
        summary = listener.run()
        if summary["stopped"] == STOP_OUTPUT_CLOSED:
            discard_stdout()
            return
        self.tell_membership_lost(command, summary)
        try:
            show.summary(summary)
        except BrokenPipeError:
            discard_stdout()
        for group in summary["not_left"]:
            command.stderr.write(
                escape_controls(
                    f"Could not leave group {group}; remove the member with: "
                    f"ZREM {config.group_key(group)} {summary['channel']}"
                )
            )
        if summary["relay"] and not summary["relay"]["unsubscribed"]:
            command.stderr.write(
                f"Could not unsubscribe from the relay; it forwards {escape_controls(', '.join(groups))} "
                "here until its connection to this node restarts."
            )
        if summary["stopped"] == STOP_ERROR:
            raise CommandError(
                f"redis error while listening: {escape_controls(summary['error'])}", returncode=2
            )

    def show_update(self, show, report: dict, listener: Listener, command) -> None:
        self.tell_membership_lost(command, report)
        try:
            show.update(report)
        except BrokenPipeError:
            listener.stop(STOP_OUTPUT_CLOSED)

    def tell_membership_lost(self, command, report: dict) -> None:
        """One line on stderr for each loss of membership not told yet."""
        membership = report["membership"]
        new = membership["lost_count"] - self._membership_told
        for event in membership["events"][-new:] if new > 0 else ():
            command.stderr.write(membership_line(escaped(event)))
        self._membership_told = membership["lost_count"]


def discard_stdout() -> None:
    """The reader of stdout went away: nothing more can be shown, and Python must not complain
    about flushing a closed pipe at exit (the recipe of Python's signal documentation)."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def joined_line(joined: dict, alias: str) -> str:
    queue = joined["queue"]
    return (
        f"Listening on {', '.join(joined['groups'])} through layer {escape_controls(repr(alias))} "
        f"as {joined['channel']} "
        f"(queue capacity {queue['capacity_messages']} messages); Ctrl-C to stop."
    )


PEAK_LABELS = {"avg": "MAX AVERAGE", "stdev": "MAX STDEV", "max": "MAX MAX"}


def lag_rows(report: dict) -> list[tuple]:
    """debug.js's four rows: the current window, then the window at each peak."""
    rows = []
    peaks = report["peaks"]
    labels = (("Lag", report["lag"]), *((PEAK_LABELS[name], peaks[name]) for name in peaks))
    for label, figures in labels:
        if figures:
            rows.append(
                (
                    label,
                    figures["avg_seconds"],
                    figures["stdev_seconds"],
                    figures["max_seconds"],
                    figures["count"],
                )
            )
        else:
            rows.append((label, None, None, None, None))
    return rows


def lag_table(report: dict) -> str:
    headers = ("lag", "avg (s)", "stdev (s)", "max (s)", "events")
    return render_table(headers, lag_rows(report), numeric=(False, True, True, True, True))


# The causes of missing counters that are not a loss (listen/gaps.py).
NOT_LOST = {
    "no_output": "not sent by AWX (no output)",
    "live_updates_off": "not sent by AWX (live updates off)",
    "rate_limited": "likely rate-limited by AWX",
    "not_stored": "not stored yet",
    "unchecked": "not checked",
}
MEMBERSHIP_WHY = {
    GROUP_GONE: "the group's key was deleted (every daphne start deletes asgi:* keys) or expired",
    MEMBER_REMOVED: "our member was removed from it (group expiry, or a ZREM)",
}


def counter_text(counters: dict) -> str:
    causes = counters["cause_counters"]
    why = [f"{causes[name]} {label}" for name, label in NOT_LOST.items() if causes[name]]
    return (
        f"{counters['lost_counters']} lost; {counters['missing']} missing in "
        f"{counted(counters['gaps'], 'gap')}"
        + (f" ({', '.join(why)})" if why else "")
        + f", {counters['late']} late, {counted(counters['duplicates'], 'duplicate')}"
    )


def membership_line(event: dict) -> str:
    return (
        f"Not in group {event['group']} any more at {event['at']}: {MEMBERSHIP_WHY[event['why']]}; "
        "joined it again. Messages sent to it meanwhile did not reach the probe."
    )


def queue_text(queue: dict) -> str:
    return (
        f"{format_number(queue['depth_messages'])} of {queue['capacity_messages']} messages "
        f"(max {queue['max_depth_messages']})"
    )


def skipped_text(skipped: dict) -> str:
    counts = [f"{count} {name.replace('_', ' ')}" for name, count in skipped.items() if count]
    return ", ".join(counts) or "none"


def block(report: dict) -> str:
    """The redrawn screen: what debug.js's blue box shows, plus rates, counters and queue."""
    head = (
        f"{', '.join(report['groups'])}  {report['elapsed_seconds']:.0f} s  "
        f"received {report['received_messages']} messages  "
        f"events {report['events']} ({report['rate_per_second']}/s)"
    )
    pairs = [
        ("counters", counter_text(report["counters"])),
        ("skipped", skipped_text(report["skipped_messages"])),
        ("queue", queue_text(report["queue"])),
    ]
    return "\n".join((head, lag_table(report), render_pairs(pairs, indent=0)))


def line(report: dict) -> str:
    """One update on one line, fixed-width fields so that successive lines align."""
    lag = report["lag"] or {}
    figures = "  ".join(
        f"{name} {format_number(lag.get(f'{name}_seconds')):>8} s" for name in ("avg", "stdev", "max")
    )
    queue = report["queue"]
    depth = format_number(queue["depth_messages"])
    return (
        f"{report['at'][:19]}Z  events {report['events']:>8}  {report['rate_per_second']:>8.1f}/s  "
        f"lag {figures}  lost {report['counters']['lost_counters']:>6}  "
        f"missing {report['counters']['missing']:>6}  queue {depth:>6}/{queue['capacity_messages']} messages"
    )


def summary_text(summary: dict) -> str:
    overall = summary["overall"]
    pairs = [
        ("stopped", summary["stopped"] + (f": {summary['error']}" if summary["error"] else "")),
        ("groups", ", ".join(summary["groups"])),
        ("from", summary["started"]),
        ("to", summary["ended"]),
        ("received", f"{summary['received_messages']} messages"),
        ("events", f"{summary['events']} ({summary['rate_per_second']}/s)"),
        ("lag avg (run)", f"{format_number(overall['avg_seconds'])} s"),
        ("lag max (run)", f"{format_number(overall['max_seconds'])} s"),
        ("counters", counter_text(summary["counters"])),
        ("skipped", skipped_text(summary["skipped_messages"])),
        ("queue", queue_text(summary["queue"])),
    ]
    drops = summary["counters"]["overflow_drops"]
    if drops:
        pairs.append(("overflow", f"{drops} group messages dropped for full queues (the capture's count)"))
    if summary["membership"]["lost_count"]:
        pairs.append(
            ("membership", f"lost {summary['membership']['lost_count']} times, joined again each time")
        )
    return "\n".join(("Summary", render_pairs(pairs), lag_table(summary)))


class OneLine:
    """Output to a file or pipe: one line per update."""

    def __init__(self, command):
        self.out = command.stdout

    def update(self, report: dict) -> None:
        self.out.write(line(escaped(report)))
        self.out.flush()

    def summary(self, summary: dict) -> None:
        self.out.write(summary_text(escaped(summary)))


class Redraw(OneLine):
    """Output to a terminal: the block is redrawn in place, like debug.js's box."""

    def __init__(self, command):
        super().__init__(command)
        self.height = 0

    def update(self, report: dict) -> None:
        text = block(escaped(report))
        # Cursor up to the first line of the previous block, then clear to the end of screen.
        erase = f"\x1b[{self.height}F\x1b[J" if self.height else ""
        self.out.write(erase + text)
        self.out.flush()
        self.height = text.count("\n") + 1


class JsonLines:
    """--json: one JSON object per line, each update then the summary."""

    def __init__(self, command):
        self.out = command.stdout

    def update(self, report: dict) -> None:
        self.out.write(json.dumps(rounded(report)))
        self.out.flush()

    def summary(self, summary: dict) -> None:
        self.out.write(json.dumps(rounded(summary)))
