"""``eventdebug doctor``: what the app can see of AWX's database, the channel layer and itself; the
first thing to run after installing, so it exits 1 naming what is missing."""

from __future__ import annotations

from django.core.management.base import CommandError

from ..columns import SOURCE_INGEST
from ..health.doctor import build_report
from .base import Subcommand, counted, indent, render_pairs, render_table, when
from .lag import clock_lines


class Doctor(Subcommand):
    name = "doctor"
    help = (
        "Report versions, AWX event tables (from the catalog), the channel layer and whether "
        "its Redis hosts answer, and the app's effective settings. Exits 1 when something the "
        "app needs is missing."
    )
    examples = (
        "awx-manage eventdebug doctor",
        "awx-manage eventdebug doctor --json",
    )

    def handle(self, command, options):
        report = build_report()
        self.output(command, options, report, format_report)
        if report["problems"]:
            raise CommandError("; ".join(report["problems"]), returncode=1)


def format_report(report: dict, style) -> str:
    out = [style.MIGRATE_HEADING("Versions"), render_pairs(report["versions"].items())]

    out.append(style.MIGRATE_HEADING("Database"))
    database = report["database"]
    if database is None:
        out.append("  unavailable")
    else:
        out.append(render_pairs([("vendor", database["vendor"]), ("version", database["version"])]))
        rows = [
            (
                t["table"],
                t["kind"] or "(jobs)",
                "yes" if t["exists"] else "MISSING",
                ("yes" if t["partitioned"] else "no") if t["exists"] else "-",
                t["partitions"] if t["partitioned"] else "-",
                "unknown (not analyzed)" if t["exists"] and t["approx_rows"] is None else t["approx_rows"],
            )
            for t in database["tables"]
        ]
        headers = ("table", "kind", "exists", "partitioned", "partitions", "approx rows")
        out.append(indent(render_table(headers, rows, numeric=(False,) * 4 + (True, True))))

    out.append(style.MIGRATE_HEADING("Channel layer"))
    layer = report["channel_layer"]
    if layer is None:
        out.append("  unavailable")
    else:
        out.append(
            render_pairs(
                [(key, layer[key]) for key in ("alias", "backend", "prefix")]
                + [
                    ("capacity", f"{layer['capacity_messages']} messages"),
                    ("expiry", f"{layer['expiry_seconds']} s"),
                    ("group_expiry", f"{layer['group_expiry_seconds']} s"),
                ]
            )
        )
        for ping in layer["ping"]:
            state = (
                style.SUCCESS(f"PONG in {ping['milliseconds']} ms")
                if ping["ok"]
                else style.ERROR(f"UNREACHABLE: {ping['error']}")
            )
            out.append(f"  host {ping['host']}: {state}")

    out.append(style.MIGRATE_HEADING("Channel overflow (channels_redis 'over capacity')"))
    overflow = report.get("overflow")
    if overflow is None:
        out.append("  unavailable")
    else:
        capture = overflow["capture"]
        out.append(
            render_pairs(
                [
                    ("capture", "on" if capture["installed"] else "off"),
                    (
                        "logger",
                        f"{capture['logger']} at {capture['logger_level']}"
                        + (" (DISABLED)" if capture["logger_disabled"] else ""),
                    ),
                ]
            )
        )
        process = capture["process"]
        whose = f"pid {process['pid']} on {process['node']}, {process['command']}"
        if not capture["handlers"]:
            out.append(f"  counters of this process ({whose}): none, it has no capture handler")
        for stats in capture["handlers"]:
            out.append(f"  counters of this process only ({whose}); AWX's processes count their own:")
            out.append(
                render_pairs(
                    (
                        (key, stats[key])
                        for key in ("seen_records", "parsed_records", "ignored_records", "bounded_records")
                        + ("pending_groups", "written_rows", "set_aside_rows", "flush_failures")
                        + ("last_flush", "last_error")
                    ),
                    indent=4,
                )
            )
        table = overflow["table"]
        ingested = table["drops_by_source"][SOURCE_INGEST]
        out.append(
            f"  the table, all processes and nodes: {counted(table['drops'], 'drop')} recorded "
            f"from {counted(table['nodes'], 'node')}, purged rows included"
            + (f" ({ingested:,} from logs `ingest` read)" if ingested else "")
            + f", last {when(table['last_seen'])}"
        )
        day = overflow["last_24h"]
        out.append(
            f"  last 24 h: {counted(day['totals']['drops'], 'drop')} "
            f"in {counted(day['groups_total'], 'group')}"
        )
        if day["top_groups"]:
            rows = [
                (g["group"], g["drops"], g["drops_per_minute"], g["last_seen"]) for g in day["top_groups"]
            ]
            headers = ("group", "drops", "drops/min", "last seen")
            out.append(indent(render_table(headers, rows, numeric=(False, True, True))))

    out.append(style.MIGRATE_HEADING("Execution nodes (clock skew estimate)"))
    clocks = report["clock_skew"]
    if clocks is None:
        out.append("  unavailable")
    else:
        window = clocks["window"]
        out.append(f"  events stored from {when(window['since'])} to {when(window['until'])}")
        out.extend(clock_lines(clocks, style))

    out.append(style.MIGRATE_HEADING("Settings (EVENTDEBUG, effective)"))
    out.append(render_pairs(report["settings"].items()))

    if report["checks"]:
        out.append(style.MIGRATE_HEADING("Configuration warnings"))
        out.extend(style.WARNING(f"  {c['id']}: {c['message']}") for c in report["checks"])
    if report["problems"]:
        out.append(style.MIGRATE_HEADING("Problems"))
        out.extend(style.ERROR(f"  {problem}") for problem in report["problems"])
    return "\n".join(out)
