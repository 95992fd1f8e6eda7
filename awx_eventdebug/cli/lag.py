"""``eventdebug lag``: event lag percentiles from the shell, the options validated by the
serializer GET lag/ uses (lag/params.py), the same JSON with --json."""

from __future__ import annotations

from ..awx.tables import KINDS
from ..lag.params import LagQuerySerializer
from ..lag.query import GROUP_BY, LagQuery
from ..lag.report import lag_report
from .base import Subcommand, one_of, render_table, validated, when

OPTIONS = ("kind", "job", "since", "until", "event", "by", "percentiles")


class Lag(Subcommand):
    name = "lag"
    help = (
        "Event lag (modified - created, in seconds) from AWX's event tables: count, mean, min, max "
        "and percentiles, computed in the database, optionally per event, job, minute or hour."
    )
    examples = (
        "awx-manage eventdebug lag --since 1h",
        "awx-manage eventdebug lag --kind project_update --since 2h --by job",
        "awx-manage eventdebug lag --job 42 --by minute --percentiles 50,99",
    )

    def add_arguments(self, parser):
        parser.add_argument("--kind", **one_of(KINDS), help="Event table (default job).")
        parser.add_argument("--job", help="Only this job (one partition); without a window: the whole job.")
        parser.add_argument(
            "--since", help="Window start on modified: ISO 8601 or a duration ago (90s, 15m, 2h, 7d)."
        )
        parser.add_argument("--until", help="Window end (default now; open with --job).")
        parser.add_argument("--event", help="Only this event type.")
        parser.add_argument("--by", **one_of(GROUP_BY), help="Group by (default none).")
        parser.add_argument(
            "--percentiles", help="Comma-separated, e.g. 50,90,99.9 (default LAG_PERCENTILES)."
        )

    def handle(self, command, options):
        report = lag_report(LagQuery(**validated(LagQuerySerializer, options, OPTIONS)))
        self.output(command, options, report, format_report)


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
