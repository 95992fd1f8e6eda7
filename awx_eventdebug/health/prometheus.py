"""GET metrics/: the health figures (report.metrics_sections) in Prometheus's text exposition
format 0.0.4, which AWX's own /api/v2/metrics/ speaks.

Everything read from the database is over a window (HEALTH_WINDOW, ending at the scrape), so
those families are gauges, not counters: the overflow table is purged and its rows are per
window, so no monotonic total exists to export, and a window's drops are what an alert wants.
The capture handler's counters are this process's own since it started: real counters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

from ..overflow.handler import capture_stats
from .report import Window

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "awx_eventdebug_"

CAPTURE_COUNTERS = (
    ("parsed", "channels_redis 'over capacity' records counted by this process's capture handler."),
    ("ignored", "Other records of the channels_redis.core logger seen by the capture handler."),
    ("bounded", "Records counted into the shared bucket because CAPTURE_MAX_PENDING_GROUPS was reached."),
    ("rows_written", "Overflow rows the capture handler wrote (inserted or added to)."),
    (
        "rows_set_aside",
        "Overflow rows the database refused (an unencodable group name): dropped, not retried.",
    ),
    ("flushes", "Writes of the captured aggregate to the database."),
    ("flush_failures", "Writes of the captured aggregate that failed (kept in memory and retried)."),
)


def escape_label(value) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value) -> str:
    if value is None:
        return "NaN"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return str(value)


class Exposition:
    """Families written in order, each with its HELP and TYPE lines before its samples."""

    def __init__(self):
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[str, dict, object]]):
        """``samples``: (suffix, labels, value); the suffix is "" or e.g. "_count"."""
        self.lines.append(f"# HELP {PREFIX}{name} {escape_help(help_text)}")
        self.lines.append(f"# TYPE {PREFIX}{name} {kind}")
        for suffix, labels, value in samples:
            rendered = ",".join(f'{key}="{escape_label(val)}"' for key, val in labels.items())
            braces = f"{{{rendered}}}" if rendered else ""
            self.lines.append(f"{PREFIX}{name}{suffix}{braces} {format_value(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render_metrics(data: dict) -> str:
    """The exposition of ``data`` (report.metrics_sections)."""
    out = Exposition()
    window: Window = data["window"]
    errors = data["errors"]
    lag, overflow, layer = data["lag"], data["overflow"], data["channel_layer"]

    up = [
        ("", {"section": name}, int(data[name] is not None)) for name in ("lag", "overflow", "channel_layer")
    ]
    if lag is not None:
        up += [
            ("", {"section": f"lag_{kind}"}, int(stats is not None)) for kind, stats in lag["kinds"].items()
        ]
    out.family("up", "gauge", "1 when the section could be read at this scrape, 0 when it failed.", up)
    out.family(
        "window_seconds",
        "gauge",
        "Length of the window (HEALTH_WINDOW, ending now) the lag and overflow figures cover.",
        [("", {}, (window.until - window.since).total_seconds())],
    )

    if lag is not None:
        kinds = {kind: stats for kind, stats in lag["kinds"].items() if stats is not None}
        samples = []
        for kind, stats in kinds.items():
            for key, value in stats["percentiles"].items():
                samples.append(("", {"kind": kind, "quantile": _quantile(key)}, value))
            total = stats["mean"] * stats["count"] if stats["count"] else 0.0
            samples += [("_sum", {"kind": kind}, float(total)), ("_count", {"kind": kind}, stats["count"])]
        out.family(
            "event_lag_seconds",
            "summary",
            "Event lag (modified - created) of the events stored in the window, per event kind.",
            samples,
        )
        out.family(
            "events_missing_created",
            "gauge",
            "Events stored in the window without a created time (not in the lag figures).",
            [("", {"kind": kind}, stats["missing_created"]) for kind, stats in kinds.items()],
        )
        out.family(
            "events_negative_lag",
            "gauge",
            "Events stored in the window before they were created (clock skew; not in the lag figures).",
            [("", {"kind": kind}, stats["negative"]) for kind, stats in kinds.items()],
        )

    if overflow is not None:
        out.family(
            "overflow_drops",
            "gauge",
            "Group messages channels_redis dropped in the window (its 'over capacity' records), all groups.",
            [("", {}, overflow["totals"]["drops"])],
        )
        out.family(
            "overflow_group_drops",
            "gauge",
            "Group messages dropped in the window per group and node, the most first (METRICS_TOP_GROUPS).",
            [("", {"group": g["group"], "node": g["node"]}, g["drops"]) for g in overflow["groups"]],
        )

    if layer is not None and not layer["note"]:
        summary = layer["summary"]
        for name, key, help_text in (
            ("queues", "queues", "Channel layer queues holding messages."),
            ("queue_messages", "messages", "Messages in all channel layer queues."),
            ("queues_over_80_percent", "queues_over_80", "Queues fuller than 80% of their capacity."),
            ("queues_full", "queues_full", "Queues at capacity: channels_redis drops what is sent to them."),
        ):
            out.family(name, "gauge", help_text, [("", {}, summary[key])])
        queues = layer["queues"]
        for name, key, help_text in (
            ("queue_depth", "depth", "Messages in the queue (fullest queues, METRICS_TOP_QUEUES)."),
            ("queue_capacity", "capacity", "The queue's capacity in the channel layer."),
            ("queue_fill_percent", "fill", "Live messages in percent of the queue's capacity."),
            ("queue_oldest_message_age_seconds", "oldest_age", "Age of the oldest message in the queue."),
        ):
            out.family(
                name,
                "gauge",
                help_text,
                [("", {"channel": q["channel"], "shard": q["shard"]}, q[key]) for q in queues],
            )

    handlers: dict[str, dict] = {}
    for stats in capture_stats():  # one handler per process, but counters add up per node anyway
        totals = handlers.setdefault(stats["node"], dict.fromkeys([c for c, _ in CAPTURE_COUNTERS], 0))
        for counter, _ in CAPTURE_COUNTERS:
            totals[counter] += stats[counter]
    for counter, help_text in CAPTURE_COUNTERS:
        out.family(
            f"capture_{counter}_total",
            "counter",
            help_text + " Counted since this process started.",
            [("", {"node": node}, totals[counter]) for node, totals in handlers.items()],
        )
    if errors:
        # Comments are ignored by scrapers; they tell the human reading the page why.
        out.lines += [f"# {name} unavailable: {escape_help(message)}" for name, message in errors.items()]
    return out.text()


def _quantile(key: str) -> str:
    """p99.9 -> 0.999"""
    return format(Decimal(key[1:]).scaleb(-2).normalize(), "f")
