"""``eventdebug lag``: event lag percentiles from the shell, the options validated by the
serializer GET lag/ uses (lag/params.py), the same JSON with --json."""

from __future__ import annotations

from ..awx.tables import KINDS
from ..lag.nodes import STORED
from ..lag.params import LagQuerySerializer, lag_document
from ..lag.query import GROUP_BY, GROUPINGS
from .base import Subcommand, indent, render_table, validated, when


def format_report(report: dict, style) -> str:
    scope = [f"{report['kind']} events"]
    if report["job"] is not None:
        scope.append(f"job {report['job']}")
    if report["event"] is not None:
        scope.append(f"event {report['event']}")
    since, until = when(report["since"]), when(report["until"])
    if since and until:
        scope.append(f"modified in {since} .. {until}")
    elif report["since"] or report["until"]:
        scope.append(f"modified since {since}" if report["since"] else f"modified until {until}")
    keys = list(report["percentiles_seconds"])
    headers = [report["by"] if report["by"] != "none" else "", "count", "mean (s)", "min (s)"]
    headers += [f"{key} (s)" for key in keys] + ["max (s)", "no created", "backfilled", "negative"]
    # Per node, the clock-skew evidence too (docs/lag.md): a node's share of negative lags and
    # its lowest lag, negative ones included.
    per_node = GROUPINGS[report["by"]].job_column is not None
    if per_node:
        headers += ["negative %", "lowest (s)"]

    def row(label, stats):
        values = [stats["percentiles_seconds"][key] for key in keys]
        cells = [
            label,
            stats["count"],
            stats["mean_seconds"],
            stats["min_seconds"],
            *values,
            stats["max_seconds"],
        ] + [
            stats["missing_created_count"],
            stats["backfilled_count"],
            stats["negative_count"],
        ]
        if per_node:
            share = stats["negative_share"]
            cells += [None if share is None else 100 * share, stats["min_lag_seconds"]]
        return cells

    rows = [row("all", report)] + [row(str(group["key"]), group) for group in report["groups"]]
    title = f"Lag (modified - created) of {', '.join(scope)} from {', '.join(report['tables'])}"
    if report["method"] == "rollup":
        title += f" (percentiles from the per-minute rollups, within {report['percentile_error_ratio']:.0%})"
    lines = [
        title,
        render_table(headers, rows, numeric=[False] + [True] * (len(headers) - 1)),
    ]
    if report["groups_truncated"]:
        lines.append(f"(only the first {len(report['groups'])} groups; narrow the query to see the rest)")
    return "\n".join(lines)


class Lag(Subcommand, document=lag_document, formatter=format_report):
    name = "lag"
    help = (
        "Event lag (modified - created, in seconds) from AWX's event tables: count, mean, min, max "
        "and percentiles, computed in the database, optionally per event, job, minute, hour, or "
        "the node the job ran on (execution_node) or was controlled from (controller_node)."
    )
    examples = (
        "awx-manage eventdebug lag --kind project_update --since 2h --by job",
        "awx-manage eventdebug lag --job 42 --by minute --percentiles 50,99",
        "awx-manage eventdebug lag --since 1h --by execution_node",
    )
    serializer = LagQuerySerializer
    query_options = {
        "kind": "Event table (default job).",
        "job": "Only this job (one partition); without a window: the whole job.",
        "since": "Window start on modified: ISO 8601 or a duration ago (90s, 15m, 2h, 7d).",
        "until": "Window end (default now; open with --job).",
        "event": "Only this event type.",
        "by": "Group by (default none); jobs and nodes come worst first.",
        "percentiles": "Comma-separated, e.g. 50,90,99.9 (default LAG_PERCENTILES).",
    }
    query_choices = {"kind": KINDS, "by": GROUP_BY}

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--exact",
            action="store_true",
            default=None,
            help="Exact percentiles over a window longer than LAG_EXACT_WINDOW too (default: rollups).",
        )

    def query(self, options) -> dict:
        return validated(self.serializer, options, (*self.query_options, "exact"))


def clock_lines(clocks: dict, style) -> list[str]:
    """Each execution node's clock estimate (lag/nodes.py) as doctor, report and check show it:
    a table of the evidence, then one line per node whose clock or path is off."""
    if not clocks["nodes"]:
        return [f"  no {clocks['kind']} events of a job with an execution node in the window"]
    headers = ["node", "events", "negative %", "lowest (s)", "p50 (s)", "p99 (s)", "verdict", "skew (s)"]
    rows = [
        [
            n["node"],
            n["events"],
            None if n["negative_share"] is None else 100 * n["negative_share"],
            n["min_lag_seconds"],
            n["p50_seconds"],
            n["p99_seconds"],
            n["verdict"],
            n["skew_seconds"],
        ]
        for n in clocks["nodes"]
    ]
    numeric = [False, True, True, True, True, True, False, True]
    out = [indent(render_table(headers, rows, numeric=numeric))]
    made = (
        f"the maintenance thread's estimate of {when(clocks['estimated_at'])}"
        if clocks["method"] == STORED
        else "made by this reading"
    )
    out.append(
        f"  from the {clocks['kind']} events stored since {when(clocks['events_since'])}, {made}; "
        f"skew > 0: the node's clock runs ahead of the control nodes'; "
        f"differences within {clocks['tolerance_seconds']:g} s are no finding"
    )
    out.extend(style.WARNING(f"  {finding}") for finding in clocks["findings"])
    return out
