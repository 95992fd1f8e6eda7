"""The dashboard's overflow summary, fullest-queues and worst-jobs tables, rendered on the server
from the same core functions as GET overflow/summary/, GET channels/ and the check's lag reading,
so they read without JavaScript.

The column lists are also handed to layer_tables.js (json_script), which refreshes the same
tables from the endpoints: one list of fields and labels for both. Each table fails on its own: a
stopped Redis empties the queues table and says why, the rest of the page renders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from ..awx.tables import KINDS
from ..channels.backends import backend_support
from ..channels.queues import DEFAULT_LIMIT, FULL, distinct_queues, queue_severity
from ..channels.recent import recent_groups
from ..conf import get_config
from ..health.snapshot import HealthSnapshot
from ..lag.summary import P99_KEY
from ..overflow.queries import OverflowFilter, summarize_overflow
from ..sections import attempt
from ..timeutil import format_duration
from ..window import Window

# Rows shown; the JSON links under each table give the rest.
OVERFLOW_GROUPS = 20
WORST_QUEUES = 10
# Where a job's id goes in the template of its output page's URL.
JOB_PLACEHOLDER = "{job}"


@dataclass(frozen=True)
class Column:
    field: str
    label: str
    # mark, key, text, link, list, count, rate, percent, seconds, time: how both renderers show
    # it (link: the row's "url", server only).
    format: str


# The label and format of each field a table shows. "mark", the first column of both tables,
# says in words why a row is coloured (colour alone is not enough).
FIELDS = {
    "mark": ("", "mark"),
    "group": ("Group", "key"),
    "drops": ("Drops", "count"),
    "drops_per_minute": ("Drops / min", "rate"),
    "full_queues": ("Queues over capacity", "count"),
    "max_group_members": ("Max members", "count"),
    "nodes": ("Nodes", "count"),
    "first_seen": ("First seen (UTC)", "time"),
    "last_seen": ("Last seen (UTC)", "time"),
    "key": ("Queue", "key"),
    "groups": ("Groups", "list"),
    "depth_messages": ("Depth", "count"),
    "expired_messages": ("Expired", "count"),
    "capacity_messages": ("Capacity", "count"),
    "fill_percent": ("Fill", "percent"),
    "oldest_age_seconds": ("Oldest message", "seconds"),
    "inflight_messages": ("In flight", "count"),
    "job": ("Job", "link"),
    "kind": ("Kind", "text"),
    "count": ("Events", "count"),
    "mean_seconds": ("Mean", "seconds"),
    "p99_seconds": ("p99", "seconds"),
    "max_seconds": ("Max", "seconds"),
}


def columns(fields: str) -> tuple[Column, ...]:
    """The columns of the space-separated ``fields``, in order."""
    return tuple(Column(field, *FIELDS[field]) for field in fields.split())


OVERFLOW_COLUMNS = columns(
    "group drops drops_per_minute full_queues max_group_members nodes first_seen last_seen"
)
QUEUE_COLUMNS = columns(
    "mark key groups depth_messages expired_messages capacity_messages fill_percent oldest_age_seconds "
    "inflight_messages"
)
WORST_JOB_COLUMNS = columns("job kind count mean_seconds p99_seconds max_seconds")

TEXT_FORMATS = ("mark", "key", "text", "link", "list", "time")


def format_seconds(value: float) -> str:
    """Sub-second precision, fewer decimals as values grow (as api.js formatSeconds)."""
    digits = 3 if abs(value) < 10 else 2 if abs(value) < 100 else 1
    return f"{value:.{digits}f} s"


def format_utc(value: str) -> str:
    """An ISO 8601 UTC time of the JSON to the second, as the column header says UTC."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")


FORMATTERS = {
    "mark": str,
    "key": str,
    "text": str,
    "link": str,
    "list": ", ".join,
    "count": lambda v: f"{v:,}",
    "rate": lambda v: f"{v:,.2f}".rstrip("0").rstrip("."),
    "percent": lambda v: f"{v:.1f} %",
    "seconds": format_seconds,
    "time": format_utc,  # the script shows it in the browser's zone
}


def table_rows(columns: tuple[Column, ...], rows: list[dict]) -> list[dict]:
    """Each row as {mark, cells}, the cells {text, css class, label, href of a link} in column
    order; missing or null values show as –."""
    return [
        {
            "mark": row.get("mark", ""),
            "cells": [
                {
                    "text": ("" if c.format == "mark" else "–")
                    if row.get(c.field) is None
                    else FORMATTERS[c.format](row[c.field]),
                    "class": c.format if c.format in TEXT_FORMATS else "num",
                    "label": c.label,
                    "href": row.get("url", "") if c.format == "link" else "",
                }
                for c in columns
            ],
        }
        for row in rows
    ]


def queue_mark(fill: float | None, max_fill: float) -> str:
    """Why a queue is marked: full (channels_redis drops what is sent to it), or fuller than
    CHECK_MAX_FILL; "" when neither (as layer_tables.js queueMark)."""
    if fill is not None and fill >= FULL:
        return "full"
    if fill is not None and fill > max_fill:
        return f"over {max_fill:g} %"
    return ""


def table(columns: tuple[Column, ...], rows: list[dict], status: str, error: str = "") -> dict:
    return {
        "headers": [{"label": c.label, "numeric": c.format not in TEXT_FORMATS} for c in columns],
        "rows": table_rows(columns, rows),
        "columns": [asdict(c) for c in columns],
        "status": status,
        "error": error,
    }


def window_length(window: Window) -> str:
    return format_duration((window.until - window.since).total_seconds())


def overflow_status(summary: dict, length: str) -> str:
    """As layer_tables.js overflowStatus."""
    if not summary["groups"]:
        return f"No group dropped a message in the last {length}."
    return (
        f"{summary['groups_total']:,} groups dropped {summary['totals']['drops']:,} messages in the last "
        f"{length}; the {summary['shown_groups']:,} with the most drops:"
    )


def overflow_table(window: Window) -> dict:
    """The groups that dropped messages in the page's window, as the verdict counts them: drops
    of other times (an import of old logs, last week's incident) are not this window's."""
    selection = OverflowFilter(since=window.since, until=window.until)
    summary, error = attempt(lambda: summarize_overflow(selection, limit=OVERFLOW_GROUPS))
    if error:
        return table(OVERFLOW_COLUMNS, [], "", f"Overflow table unavailable: {error}")
    return table(OVERFLOW_COLUMNS, summary["groups"], overflow_status(summary, window_length(window)))


def job_url_templates() -> dict[str, str]:
    """Each kind's job output page in AWX's UI (AWX_UI_URL, or this host's), JOB_PLACEHOLDER for
    the job's id: the server's links, and layer_tables.js's (the page hands them over)."""
    base = get_config()["AWX_UI_URL"].rstrip("/")
    return {name: base + kind.ui_path(JOB_PLACEHOLDER) for name, kind in KINDS.items()}


def job_url(kind: str, job: int) -> str:
    return job_url_templates()[kind].replace(JOB_PLACEHOLDER, str(job))


def worst_jobs_table(health: HealthSnapshot) -> dict:
    """The jobs with the highest p99 lag in the window, worst first, from the check's own reading
    of lag (the receiver hop's, lag/summary.py), each linking to its output in AWX; as many as
    GET report/ gives, which layer_tables.js refreshes them from (as refreshWorstJobsTable)."""
    lag = health.reading("lag")
    length = window_length(health.window)
    if lag is None:
        error = health.errors.get("lag", "not read")
        return table(WORST_JOB_COLUMNS, [], "", f"Worst jobs unavailable: {error}")
    rows = [
        {
            **job,
            "p99_seconds": job["percentiles_seconds"][P99_KEY],
            # Events without a job (job_id NULL) have no output page to link to.
            "url": "" if job["job"] is None else job_url(job["kind"], job["job"]),
        }
        for job in lag["worst_jobs"]
    ]
    if lag.get("worst_jobs_error"):
        return table(WORST_JOB_COLUMNS, rows, "", f"Worst jobs unavailable: {lag['worst_jobs_error']}")
    status = (
        f"The {len(rows)} jobs with the highest p99 lag in the last {length}, worst first:"
        if rows
        else f"No job stored events in the last {length}."
    )
    return table(WORST_JOB_COLUMNS, rows, status)


def worst_queues(channels: dict, limit: int = WORST_QUEUES) -> list[dict]:
    """The distinct queues of the GET channels/ document (a process queue appears under every
    group its channels joined), each with the names of those groups, worst first."""
    shared = distinct_queues(
        (queue["key"], queue, group["name"]) for group in channels["groups"] for queue in group["queues"]
    )
    rows = [
        {**{name: value for name, value in queue.first.items() if name != "members"}, "groups": queue.groups}
        for queue in shared.values()
    ]
    return sorted(rows, key=queue_severity, reverse=True)[:limit]


def queues_status(channels: dict) -> str:
    if channels.get("note"):
        return channels["note"]
    summary = channels["summary"]
    parts = [
        f"{summary['groups']:,} groups",
        f"{summary['members']:,} members",
        f"{summary['queues']:,} queues",
        f"{summary['nearly_full_queues']:,} over {summary['nearly_full_percent']:g} %",
        f"{summary['full_queues']:,} full",
    ]
    if summary["stale_members"]:
        parts.append(f"{summary['stale_members']:,} stale members")
    unreachable = [shard["host"] for shard in channels.get("shards", []) if not shard["ok"]]
    if unreachable:
        parts.append("unreachable: " + ", ".join(unreachable))
    if channels.get("age_seconds") is not None:
        parts.append(f"read {channels['age_seconds']:.0f} s ago")
    return " · ".join(parts)


def queues_table() -> dict:
    # The same question as the page's refreshes of GET channels/ ask, so they share one reading.
    channels, error = attempt(lambda: recent_groups("*", DEFAULT_LIMIT))
    if error:
        return table(QUEUE_COLUMNS, [], "", f"Channel layer unavailable: {error}")
    # A layer whose queues cannot be read (pub/sub, in-memory) shows its note and no rows.
    readable = backend_support(channels["layer"]["backend"]).queues
    max_fill = get_config()["CHECK_MAX_FILL"]
    queues = worst_queues(channels) if readable else []
    rows = [{**queue, "mark": queue_mark(queue["fill_percent"], max_fill)} for queue in queues]
    return table(QUEUE_COLUMNS, rows, queues_status(channels))
