"""``eventdebug report`` and ``eventdebug check``: the health of the critical path (health/)."""

from __future__ import annotations

from django.core.management.base import CommandError

from ..health.params import CheckQuerySerializer, ReportQuerySerializer, check_document, report_document
from ..health.snapshot import OK, shown_findings, threshold_rows
from ..lag.summary import unmeasurable
from ..path.registry import thresholds
from .base import Subcommand, counted, indent, render_pairs, render_table, when
from .lag import clock_lines
from .path import cause_lines, format_hops, websocket_rate_lines

SINCE_HELP = "Window start: ISO 8601 or a duration ago (15m, 2h). Default: EVENTDEBUG['HEALTH_WINDOW']."


def format_check(result: dict, style) -> str:
    if result["status"] == OK:
        figures = ", ".join(
            f"{row['label'][0].lower()}{row['label'][1:]} {row['figure']}"
            for row in threshold_rows(result)
            if row["read"]
        )
        return "\n".join([f"OK: {figures} since {when(result['window']['since'])}", *_shown_lines(result)])
    lines = [f"FAILED: {line}" for line in result["failures"]]
    lines += cause_lines(result["causes"], style)
    lines += [f"UNKNOWN: {line}" for line in result["unchecked"]]
    lines += [f"IDLE: {line}" for line in result["idle"]]
    return "\n".join(lines + _shown_lines(result))


def _shown_lines(result: dict) -> list[str]:
    """What the check shows beside its verdict, whatever the status: NODE:, UI: and UNREAD: lines."""
    return [f"{what.upper()}: {finding}" for what, finding in shown_findings(result)]


def format_report(report: dict, style) -> str:
    window = report["window"]
    out = [f"Critical path from {when(window['since'])} to {when(window['until'])}"]
    for key, heading, lines in REPORT_SECTIONS:
        out.append(style.MIGRATE_HEADING(heading))
        if report[key] is None:
            out.append(f"  unavailable: {report['errors'][key]}")
        else:
            out.extend(lines(report[key], style))
    return "\n".join(out)


def _doctor_lines(doctor: dict, style) -> list[str]:
    layer = doctor["channel_layer"]
    hosts = (
        ", ".join(f"{h['host']} {'ok' if h['ok'] else 'UNREACHABLE'}" for h in layer["hosts"])
        if layer
        else "-"
    )
    database = doctor["database"]
    out = [
        render_pairs(
            [
                ("database", database["vendor"] if database else "unavailable"),
                ("channel layer", f"{layer['backend']} ({hosts})" if layer else "unavailable"),
                ("overflow capture", "on" if doctor["capture_installed"] else "off"),
            ]
        )
    ]
    out.extend(style.ERROR(f"  problem: {p}") for p in doctor["problems"])
    out.extend(style.WARNING(f"  {w['id']}: {w['message']}") for w in doctor["warnings"])
    return out


def _lag_lines(lag: dict, style) -> list[str]:
    out = []
    keys = lag["percentiles"]
    headers = ["kind", "events", "mean (s)", *(f"{k} (s)" for k in keys), "max (s)", "no created"]
    rows = [
        [
            kind,
            s["count"],
            s["mean_seconds"],
            *(s["percentiles_seconds"][k] for k in keys),
            s["max_seconds"],
            s["missing_created_count"],
        ]
        for kind, s in lag["kinds"].items()
        if s is not None and (s["count"] or s["missing_created_count"])
    ]
    if rows:
        out.append(indent(render_table(headers, rows, numeric=[False] + [True] * (len(headers) - 1))))
    else:
        out.append(f"  {unmeasurable(lag['kinds'].values()) or 'no events stored in the window'}")
    out.extend(style.ERROR(f"  {kind}: {message}") for kind, message in lag["errors"].items())
    if lag.get("worst_jobs_error"):
        out.append(style.ERROR(f"  worst jobs: {lag['worst_jobs_error']}"))
    if lag["worst_jobs"]:
        out.append("  Worst jobs by p99:")
        headers = ["job", "kind", "events", "mean (s)", *(f"{k} (s)" for k in keys), "max (s)"]
        rows = [
            [
                j["job"],
                j["kind"],
                j["count"],
                j["mean_seconds"],
                *(j["percentiles_seconds"][k] for k in keys),
                j["max_seconds"],
            ]
            for j in lag["worst_jobs"]
        ]
        out.append(indent(render_table(headers, rows, numeric=[True, False] + [True] * (len(headers) - 2))))
    return out


def _overflow_lines(overflow: dict, style) -> list[str]:
    if not overflow["groups"]:
        return ["  no drops recorded in the window"]
    rows = [
        (g["group"], g["drops"], g["drops_per_minute"], g["nodes"], g["last_seen"])
        for g in overflow["groups"]
    ]
    table = render_table(
        ("group", "drops", "drops/min", "nodes", "last seen"), rows, numeric=(False, True, True, True)
    )
    return [
        indent(table),
        f"  {counted(overflow['totals']['drops'], 'drop')} in {counted(overflow['groups_total'], 'group')}",
    ]


def _queue_lines(layer: dict, style) -> list[str]:
    if layer["note"]:
        return [f"  {layer['note']}"]
    out = []
    summary = layer["summary"]
    if layer["queues"]:
        rows = [
            (
                q["key"],
                q["depth_messages"],
                q["capacity_messages"],
                q["fill_percent"],
                q["oldest_age_seconds"],
            )
            for q in layer["queues"]
        ]
        headers = ("queue", "depth", "capacity", "fill %", "oldest (s)")
        out.append(indent(render_table(headers, rows, numeric=(False, True, True, True, True))))
    out.append(
        f"  {counted(summary['queues'], 'queue')} holding {counted(summary['messages'], 'message')}; "
        f"{summary['nearly_full_queues']} over {summary['nearly_full_percent']:g}%, "
        f"{summary['full_queues']} full"
    )
    out.extend(style.ERROR(f"  redis {s['host']}: {s['error']}") for s in layer["shards"] if not s["ok"])
    out.extend(f"  truncated: {reason}" for reason in layer["truncated"])
    return out


# (key of the report, heading, its lines) of each section, in order; a section whose key is
# null in the report says why from report["errors"].
def _path_lines(path: dict, style) -> list[str]:
    causes = cause_lines([h for h in path["cluster"] if "cause" in h], style)
    return [f"  {path['headline']}", *(indent(line) for line in causes), format_hops(path["cluster"], style)]


REPORT_SECTIONS = (
    ("doctor", "Doctor", _doctor_lines),
    ("lag", "Event lag (modified - created, seconds)", _lag_lines),
    ("overflow", "Channel overflow (group messages dropped)", _overflow_lines),
    ("channel_layer", "Channel layer queues (fullest first)", _queue_lines),
    ("path", "Critical path (eventdebug path for every node)", _path_lines),
    ("clock_skew", "Execution nodes (clock skew estimate)", clock_lines),
    ("websocket_rate", "Live output (AWX's MAX_WEBSOCKET_EVENT_RATE)", websocket_rate_lines),
)


class Report(Subcommand, document=report_document, formatter=format_report):
    name = "report"
    help = (
        "One screen on the critical path over a window: the doctor's problems, event lag "
        "percentiles per kind and the 5 jobs with the highest p99, the groups with the most "
        "overflow drops, and the fullest channel layer queues. A section that cannot be read says "
        "why; the others are still shown."
    )
    examples = (
        "awx-manage eventdebug report",
        "awx-manage eventdebug report --since 1h --json",
    )
    serializer = ReportQuerySerializer
    query_options = {"since": SINCE_HELP}

    def handle(self, command, options):
        report = super().handle(command, options)
        if report["errors"]:  # shown in their sections; the exit code says a part is missing
            unread = ", ".join(sorted(report["errors"]))
            raise CommandError(f"could not read: {unread}", returncode=2)
        return report


class Check(Subcommand, document=check_document, formatter=format_check):
    name = "check"
    help = (
        "Check the window's figures against thresholds: exit 0 when healthy, 1 when a threshold "
        "is exceeded (one line per failed check), 2 when a figure could not be read or a node's "
        "snapshot is stale, 3 when the window holds nothing to judge (no event stored). Each "
        "--max-* defaults to its EVENTDEBUG['CHECK_MAX_*'] setting."
    )
    examples = (
        "awx-manage eventdebug check",
        "awx-manage eventdebug check --since 30m --max-p99 5 --max-drops 10",
        "awx-manage eventdebug check --max-backlog 5000 --max-backlog-age 30 --max-relay-down 0",
    )
    serializer = CheckQuerySerializer

    @property
    def query_options(self) -> dict[str, str]:
        """--since and a --max-* of each threshold of the hops."""
        options = {"since": SINCE_HELP}
        for t in thresholds():
            options[t.name] = f"{t.help}. Default: EVENTDEBUG['{t.setting}']."
        return options

    def handle(self, command, options):
        result = super().handle(command, options)
        if result["status"] != OK:
            # The lines are on stdout already; stderr gets the verdict.
            if result["failures"]:
                verdict = f"{counted(len(result['failures']), 'check')} failed"
            elif result["unchecked"]:
                verdict = f"could not check: {counted(len(result['unchecked']), 'finding')} unknown"
            else:
                verdict = "idle: nothing to judge in the window"
            raise CommandError(verdict, returncode=result["exit_code"])
