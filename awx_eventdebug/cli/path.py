"""``eventdebug path`` and ``eventdebug sample``: the critical path hop by hop on every node
(path/)."""

from __future__ import annotations

from django.core.management.base import CommandError

from ..conf import get_config
from ..health.params import PathQuerySerializer, path_document
from ..path.hop import OK, OVER, STALE, UNKNOWN
from ..path.judge import limits
from ..path.registry import hops
from ..path.sampler import WRITTEN, take_sample
from .base import (
    Subcommand,
    format_number,
    indent,
    positive_float,
    render_pairs,
    render_table,
    validated,
    when,
)

HOP_HEADERS = ("hop", "", "figure", "threshold", "verdict")
RELAY_HEADERS = ("remote", "state", "since", "messages", "per minute")


class Path(Subcommand):
    name = "path"
    help = (
        "The critical path hop by hop, for the cluster and for each node from its latest snapshot: "
        "each hop's figure, threshold and verdict, and one line naming the first hop over its "
        "threshold. Nodes whose snapshot is stale are named."
    )
    examples = (
        "awx-manage eventdebug path",
        "awx-manage eventdebug path --since 15m --json",
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            help="Start of the window of the lag and overflow figures (ISO 8601 or 15m). "
            "Default: EVENTDEBUG['HEALTH_WINDOW'].",
        )

    def handle(self, command, options):
        doc = path_document(validated(PathQuerySerializer, options, ("since",)))
        self.output(command, options, doc, format_path)


class Sample(Subcommand):
    name = "sample"
    help = (
        "Take one snapshot of this node's hops (each hop's figures read on the node) and write it "
        "for `eventdebug path`, unless a process of this node did in this interval: for a timer or "
        "a sidecar where the maintenance thread's sampling (SAMPLE_INTERVAL) is off."
    )
    examples = (
        "awx-manage eventdebug sample",
        "awx-manage eventdebug sample --interval 10",
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=positive_float,
            help="Seconds between two runs of this command (the node is stale after "
            "SAMPLE_STALE_INTERVALS of them). Default: EVENTDEBUG['SAMPLE_INTERVAL'].",
        )

    def handle(self, command, options):
        interval = options["interval"] or get_config()["SAMPLE_INTERVAL"]
        if not interval:
            raise CommandError(
                "--interval: required when EVENTDEBUG['SAMPLE_INTERVAL'] is 0; give the period of the "
                "timer that runs this command.",
                returncode=2,
            )
        result = take_sample(interval)
        self.output(command, options, result, format_sample)


def format_sample(result: dict, style) -> str:
    if result["status"] != WRITTEN:
        return f"skipped: {result['reason']}"
    snapshot = result["snapshot"]
    node, bounds = snapshot["node"], limits()
    pairs = [
        (hop.label, hop.judge_node(node, snapshot[hop.snapshot_key], bounds, None).text)
        for hop in hops()
        if hop.snapshot_key
    ]
    return "\n".join([f"snapshot of {node} written", render_pairs(pairs)])


def _verdict(verdict: str, style) -> str:
    styled = {OVER: style.ERROR, UNKNOWN: style.WARNING, STALE: style.WARNING, OK: style.SUCCESS}
    return styled[verdict](verdict.upper()) if verdict in styled else verdict


def _threshold(row: dict) -> str:
    """A hop's thresholds as their Threshold shows them (10,000 events / 10 s); one the hop does
    not declare (a row of a hop no longer registered) as written."""
    declared = {t.limit_key: t for hop in hops() if hop.key == row["key"] for t in hop.thresholds}
    shown = [declared[key].shown(v) if key in declared else f"{v:g}" for key, v in row["thresholds"].items()]
    return " / ".join(shown) or "-"


def format_hops(hops: list[dict], style) -> str:
    """Hops as a table: number, name, figure, threshold, verdict."""
    rows = [(h["hop"], h["name"], h["text"], _threshold(h), _verdict(h["verdict"], style)) for h in hops]
    return indent(render_table(HOP_HEADERS, rows))


def cause_lines(causes: list[dict], style) -> list[str]:
    """Each hop over its threshold with its cause, the evidence, the remedy and its runbook
    section (the rows of the path over their thresholds, or the check's causes)."""
    out = []
    for found in causes:
        where = f" on {found['node']}" if found.get("node") else ""
        out.append(style.ERROR(f"CAUSE (hop {found['hop']} {found['name']}{where}): {found['cause']}"))
        out.append(f"  evidence: {found['evidence']}")
        out.append(f"  remedy: {found['remedy']}")
        out.append(f"  runbook: {found['runbook']}")
    return out


def websocket_rate_lines(rate: dict, style) -> list[str]:
    """The jobs whose live output AWX thinned by its own limit (awx/sending.py), or that none did."""
    if not rate["findings"]:
        limit = rate["awx"]["max_websocket_events_per_second"]
        return [f"  no job that ended in the window sent more than MAX_WEBSOCKET_EVENT_RATE ({limit}/s)"]
    return [style.WARNING(f"  {finding}") for finding in rate["findings"]]


def format_path(doc: dict, style) -> str:
    window = doc["window"]
    out = [
        f"Critical path from {when(window['since'])} to {when(window['until'])}",
        {"over": style.ERROR, "unknown": style.WARNING}.get(doc["verdict"], str)(doc["headline"]),
        *cause_lines([h for h in doc["cluster"] if "cause" in h], style),
        style.MIGRATE_HEADING("Cluster"),
        format_hops(doc["cluster"], style),
    ]
    if doc["websocket_rate"] and doc["websocket_rate"]["findings"]:
        out.extend(websocket_rate_lines(doc["websocket_rate"], style))
    for node in doc["nodes"]:
        role = f"{node['role']}, " if node["role"] else ""
        stale = ", STALE" if node["stale"] else ""
        taken = f"snapshot {node['age_seconds']:.0f} s ago, every {node['interval_seconds']:g} s"
        out.append(style.MIGRATE_HEADING(f"{node['node']} ({role}{taken}{stale})"))
        out.append(format_hops(node["hops"], style))
        snapshot = node["snapshot"]
        backlog = snapshot.get("backlog") or {}
        if not backlog.get("error") and backlog.get("net_per_second"):
            rates = (format_number(backlog[key]) for key in ("in_per_second", "out_per_second"))
            out.append(
                f"  callback queue: net {backlog['net_per_second']:g}/s (in about {next(rates)}/s, "
                f"out about {next(rates)}/s)"
                + (f", drained in about {backlog['drain_seconds']:g} s" if backlog["drain_seconds"] else "")
            )
        relay = snapshot.get("relay") or {}
        if relay.get("remotes"):
            rows = [
                (r["host"], r["state"], r["since"], r["messages_total"], r["messages_per_minute"])
                for r in relay["remotes"]
            ]
            out.append(
                indent(render_table(RELAY_HEADERS, rows, numeric=(False, False, False, True, True)), "    ")
            )
        out.extend(
            style.ERROR(f"  {name}: {message}") for name, message in (snapshot.get("errors") or {}).items()
        )
    return "\n".join(out)
