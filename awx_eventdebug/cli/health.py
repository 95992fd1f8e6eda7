"""``eventdebug report`` and ``eventdebug check``: the health of the critical path (health/)."""

from __future__ import annotations

from django.core.management.base import CommandError

from ..health.params import CheckQuerySerializer, ReportQuerySerializer, check_document, report_document
from ..health.report import OK
from .base import Subcommand, counted, indent, render_pairs, render_table, validated, when

SINCE_HELP = "Window start: ISO 8601 or a duration ago (15m, 2h). Default: EVENTDEBUG['HEALTH_WINDOW']."


class Report(Subcommand):
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

    def add_arguments(self, parser):
        parser.add_argument("--since", help=SINCE_HELP)

    def handle(self, command, options):
        report = report_document(validated(ReportQuerySerializer, options, ("since",)))
        self.output(command, options, report, format_report)


class Check(Subcommand):
    name = "check"
    help = (
        "Check the window's figures against thresholds: exit 0 when healthy, 1 when a threshold "
        "is exceeded (one line per failed check), 2 when a figure could not be read. Defaults "
        "from EVENTDEBUG['CHECK_MAX_P99'], ['CHECK_MAX_FILL'] and ['CHECK_MAX_DROPS']."
    )
    examples = (
        "awx-manage eventdebug check",
        "awx-manage eventdebug check --since 30m --max-p99 5 --max-drops 10",
    )
    OPTIONS = ("since", "max_p99", "max_fill", "max_drops")

    def add_arguments(self, parser):
        parser.add_argument("--since", help=SINCE_HELP)
        parser.add_argument("--max-p99", help="Highest acceptable lag p99 of any kind, seconds.")
        parser.add_argument("--max-fill", help="Highest acceptable queue fill, percent of capacity.")
        parser.add_argument("--max-drops", help="Most overflow drops acceptable in the window.")

    def handle(self, command, options):
        result = check_document(validated(CheckQuerySerializer, options, self.OPTIONS))
        self.output(command, options, result, format_check)
        if result["status"] != OK:
            # The lines are on stdout already; stderr gets the verdict.
            if result["failures"]:
                verdict = f"{counted(len(result['failures']), 'check')} failed"
            else:
                verdict = f"could not check: {counted(len(result['unchecked']), 'figure')} unreadable"
            raise CommandError(verdict, returncode=result["exit_code"])


def format_check(result: dict, style) -> str:
    figures = result["figures"]
    if result["status"] == OK:
        return (
            f"OK: lag p99 {_figure(figures['max_p99'], ' s')}, "
            f"queue fill {_figure(figures['max_fill'], '%')}, "
            f"{counted(figures['drops'], 'drop')} since {when(result['window']['since'])}"
        )
    lines = [f"FAILED: {line}" for line in result["failures"]]
    lines += [f"UNKNOWN: {line}" for line in result["unchecked"]]
    return "\n".join(lines)


def _figure(value, unit: str) -> str:
    return "-" if value is None else f"{value:g}{unit}" if unit == "%" else f"{value:.3f}{unit}"


def format_report(report: dict, style) -> str:
    window = report["window"]
    out = [f"Critical path from {when(window['since'])} to {when(window['until'])}"]
    errors = report["errors"]

    out.append(style.MIGRATE_HEADING("Doctor"))
    doctor = report["doctor"]
    if doctor is None:
        out.append(f"  unavailable: {errors['doctor']}")
    else:
        layer = doctor["channel_layer"]
        hosts = (
            ", ".join(f"{h['host']} {'ok' if h['ok'] else 'UNREACHABLE'}" for h in layer["hosts"])
            if layer
            else "-"
        )
        database = doctor["database"]
        out.append(
            render_pairs(
                [
                    ("database", database["vendor"] if database else "unavailable"),
                    ("channel layer", f"{layer['backend']} ({hosts})" if layer else "unavailable"),
                    ("overflow capture", "on" if doctor["capture_installed"] else "off"),
                ]
            )
        )
        out.extend(style.ERROR(f"  problem: {p}") for p in doctor["problems"])
        out.extend(style.WARNING(f"  {w['id']}: {w['message']}") for w in doctor["warnings"])

    out.append(style.MIGRATE_HEADING("Event lag (modified - created, seconds)"))
    lag = report["lag"]
    if lag is None:
        out.append(f"  unavailable: {errors['lag']}")
    else:
        keys = lag["percentiles"]
        headers = ["kind", "events", "mean", *keys, "max", "no created"]
        rows = [
            [
                kind,
                s["count"],
                s["mean"],
                *(s["percentiles"][k] for k in keys),
                s["max"],
                s["missing_created"],
            ]
            for kind, s in lag["kinds"].items()
            if s is not None and (s["count"] or s["missing_created"])
        ]
        if rows:
            out.append(indent(render_table(headers, rows, numeric=[False] + [True] * (len(headers) - 1))))
        else:
            out.append("  no events stored in the window")
        out.extend(style.ERROR(f"  {kind}: {message}") for kind, message in lag["errors"].items())
        if lag["worst_jobs"]:
            out.append("  Worst jobs by p99:")
            headers = ["job", "kind", "events", "mean", *keys, "max"]
            rows = [
                [j["job"], j["kind"], j["count"], j["mean"], *(j["percentiles"][k] for k in keys), j["max"]]
                for j in lag["worst_jobs"]
            ]
            out.append(
                indent(render_table(headers, rows, numeric=[True, False] + [True] * (len(headers) - 2)))
            )

    out.append(style.MIGRATE_HEADING("Channel overflow (group messages dropped)"))
    overflow = report["overflow"]
    if overflow is None:
        out.append(f"  unavailable: {errors['overflow']}")
    elif not overflow["groups"]:
        out.append("  no drops recorded in the window")
    else:
        rows = [
            (g["group"], g["drops"], g["drops_per_minute"], g["nodes"], g["last_seen"])
            for g in overflow["groups"]
        ]
        table = render_table(
            ("group", "drops", "drops/min", "nodes", "last seen"), rows, numeric=(False, True, True, True)
        )
        out.append(indent(table))
        out.append(
            f"  {counted(overflow['totals']['drops'], 'drop')} "
            f"in {counted(overflow['groups_total'], 'group')}"
        )

    out.append(style.MIGRATE_HEADING("Channel layer queues (fullest first)"))
    layer = report["channel_layer"]
    if layer is None:
        out.append(f"  unavailable: {errors['channel_layer']}")
    elif layer["note"]:
        out.append(f"  {layer['note']}")
    else:
        summary = layer["summary"]
        if layer["queues"]:
            rows = [
                (q["key"], q["depth"], q["capacity"], q["fill"], q["oldest_age"]) for q in layer["queues"]
            ]
            headers = ("queue", "depth", "capacity", "fill %", "oldest (s)")
            out.append(indent(render_table(headers, rows, numeric=(False, True, True, True, True))))
        out.append(
            f"  {counted(summary['queues'], 'queue')} holding {counted(summary['messages'], 'message')}; "
            f"{summary['queues_over_80']} over 80%, {summary['queues_full']} full"
        )
        out.extend(style.ERROR(f"  redis {s['host']}: {s['error']}") for s in layer["shards"] if not s["ok"])
        out.extend(f"  truncated: {reason}" for reason in layer["truncated"])
    return "\n".join(out)
