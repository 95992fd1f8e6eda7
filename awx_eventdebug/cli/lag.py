"""``eventdebug lag``: event lag percentiles from the shell, the options validated by the
serializer GET lag/ uses (lag/params.py), the same JSON with --json."""

from __future__ import annotations

from ..awx.tables import KINDS
from ..lag.params import LagQuerySerializer, lag_document
from ..lag.query import GROUP_BY
from .base import Subcommand, render_table


def format_report(report: dict, style) -> str:
    scope = [f"{report['kind']} events"]
    if report["job"] is not None:
        scope.append(f"job {report['job']}")
    if report["event"] is not None:
        scope.append(f"event {report['event']}")
    since, until = report["since"], report["until"]
    if since and until:
        scope.append(f"modified in {since} .. {until}")
    elif since or until:
        scope.append(f"modified since {since}" if since else f"modified until {until}")
    keys = list(report["percentiles"])
    headers = [report["by"] if report["by"] != "none" else "", "count", "mean (s)", "min (s)"]
    headers += [f"{key} (s)" for key in keys] + ["max (s)", "no created", "negative"]

    def row(label, stats):
        values = [stats["percentiles"][key] for key in keys]
        return [label, stats["count"], stats["mean"], stats["min"], *values, stats["max"]] + [
            stats["missing_created"],
            stats["negative"],
        ]

    rows = [row("all", report)] + [row(str(group["key"]), group) for group in report["groups"]]
    lines = [
        f"Lag (modified - created) of {', '.join(scope)}",
        render_table(headers, rows, numeric=[False] + [True] * (len(headers) - 1)),
    ]
    if report["groups_truncated"]:
        lines.append(f"(only the first {len(report['groups'])} groups; narrow the query to see the rest)")
    return "\n".join(lines)


class Lag(Subcommand, document=lag_document, formatter=format_report):
    name = "lag"
    help = (
        "Event lag (modified - created, in seconds) from AWX's event tables: count, mean, min, max "
        "and percentiles, computed in the database, optionally per event, job, minute or hour."
    )
    serializer = LagQuerySerializer
    query_options = {
        "kind": f"Event table: {', '.join(KINDS)} (default job).",
        "job": "Only this job (one partition); without a window: the whole job.",
        "since": "Window start on modified: ISO 8601 or a duration ago (90s, 15m, 2h, 7d).",
        "until": "Window end (default now; open with --job).",
        "event": "Only this event type.",
        "by": f"Group by: {', '.join(GROUP_BY)} (default none).",
        "percentiles": "Comma-separated, e.g. 50,90,99.9 (default LAG_PERCENTILES).",
    }
