"""The critical path view: hops 1-7 in order, per node (from each node's latest snapshot) and
for the cluster, each with its figure, its threshold and a verdict, and one line naming the first
hop over its threshold.

Hops 1, 2 and 4 have no per-node figure: the event lag (``modified - created``) covers hops 1-4
together, cluster-wide. A node whose latest snapshot is older than SAMPLE_STALE_INTERVALS of its
own intervals is stale: its figures are shown as they were and it is named, never left out.
"""

from __future__ import annotations

import time
from decimal import Decimal

from django.db.models import Max, Sum
from django.utils import timezone

from ..conf import get_config
from ..db import app_tables
from ..lag.percentiles import percentile_key
from ..models import ChannelOverflow, NodeSnapshot
from ..overflow.queries import OverflowFilter
from ..timeutil import isoformat
from .backlog import behind_line
from .relay import down_line

OK, OVER, STALE, UNKNOWN, NOT_APPLICABLE = "ok", "over", "stale", "unknown", "n/a"
P99_KEY = percentile_key(Decimal(99))
# Most nodes shown: an AWX cluster has a few dozen.
MAX_NODES = 1000

# Number -> (label, what happens there).
HOPS = {
    1: ("callback", "the Ansible callback stamps created (execution node)"),
    2: ("receptor", "receptor carries the event to the controller"),
    3: ("callback queue", "RPUSHed to CALLBACK_QUEUE, BLPOPed by the callback receiver"),
    4: ("callback receiver", "buffers, stamps modified and stores the event"),
    5: ("group_send", "the receiver sends the websocket message to the channel layer"),
    6: ("wsrelay", "forwarded to the other web nodes"),
    7: ("channel layer", "queued for daphne, which delivers it to the browser"),
}
IN_LAG = "in the event lag of hop 4 (modified - created covers hops 1-4)"


@app_tables
def latest_snapshots() -> list[NodeSnapshot]:
    """Each node's latest snapshot, by node name, of the nodes that sampled within SAMPLE_RETENTION:
    a node gone for good (an old operator pod's hostname) stays stale only that long."""
    since = timezone.now() - get_config()["SAMPLE_RETENTION"]
    recent = NodeSnapshot.objects.filter(taken_at__gte=since)
    latest = recent.values("node").annotate(last=Max("taken_at")).order_by("node")[:MAX_NODES]
    pairs = {(row["node"], row["last"]) for row in latest}
    rows = NodeSnapshot.objects.filter(
        node__in={node for node, _ in pairs}, taken_at__in={t for _, t in pairs}
    )
    return sorted((row for row in rows if (row.node, row.taken_at) in pairs), key=lambda row: row.node)


@app_tables
def drops_by_node(window) -> dict[str, int]:
    """Overflow drops in the window per node (hop 5)."""
    rows = OverflowFilter(since=window.since, until=window.until).apply(ChannelOverflow.objects.all())
    return {row["node"]: row["drops"] for row in rows.values("node").annotate(drops=Sum("drops")).order_by()}


def hop(number: int, figure, threshold, verdict: str, text: str, line: str = "") -> dict:
    return {
        "hop": number,
        "name": HOPS[number][0],
        "what": HOPS[number][1],
        "figure": figure,
        "threshold": threshold,
        "verdict": verdict,
        "text": text,
        "line": line,  # the headline when this is the first hop over its threshold
    }


def node_hops(snapshot: NodeSnapshot, drops: int, thresholds, stale: bool) -> list[dict]:
    data, node = snapshot.data, snapshot.node

    def judged(over: bool) -> str:
        return STALE if stale else OVER if over else OK

    backlog = data.get("backlog") or {}
    if backlog.get("error"):
        hops = [hop(3, None, None, UNKNOWN, backlog["error"])]
    else:
        over = (
            backlog["length"] > thresholds.max_backlog
            or (backlog["oldest_age"] or 0) > thresholds.max_backlog_age
        )
        text = f"{backlog['length']:,} queued" + (
            f", oldest {backlog['oldest_age']:.1f} s" if backlog["oldest_age"] is not None else ""
        )
        if backlog["note"]:
            text += f" ({backlog['note']})"
        limits = {"length": thresholds.max_backlog, "oldest_age": thresholds.max_backlog_age}
        figure = {
            key: backlog.get(key) for key in ("length", "oldest_age", "net_per_second", "drain_seconds")
        }
        hops = [hop(3, figure, limits, judged(over), text, behind_line(node, backlog) if over else "")]

    over = drops > thresholds.max_drops
    line = (
        f"group_send on {node}: channels_redis dropped {drops:,} group messages in the window" if over else ""
    )
    hops.append(hop(5, drops, thresholds.max_drops, judged(over), f"{drops:,} overflow drops", line))

    relay = data.get("relay") or {}
    if relay.get("error"):
        hops.append(hop(6, None, None, UNKNOWN, relay["error"]))
    elif not relay["present"]:
        hops.append(hop(6, None, thresholds.max_relay_down, NOT_APPLICABLE, relay["note"]))
    else:
        over = relay["down"] > thresholds.max_relay_down
        text = f"{relay['down']} of {len(relay['remotes'])} connections down"
        hops.append(
            hop(
                6,
                relay["down"],
                thresholds.max_relay_down,
                judged(over),
                text,
                down_line(node, relay) if over else "",
            )
        )

    layer = data.get("layer") or {}
    if layer.get("error"):
        hops.append(hop(7, None, None, UNKNOWN, layer["error"]))
    elif layer["note"]:
        hops.append(hop(7, None, thresholds.max_fill, NOT_APPLICABLE, layer["note"]))
    else:
        fullest = layer["queues"][0] if layer["queues"] else None
        fill = (fullest["fill"] or 0.0) if fullest else 0.0
        over = fill > thresholds.max_fill
        text = f"fullest queue {fill:g}% ({fullest['key']})" if fullest else "no queue holds messages"
        line = f"channel layer on {node}: queue {fullest['key']} is {fill:g}% full" if over else ""
        hops.append(hop(7, fill, thresholds.max_fill, judged(over), text, line))
    return hops


def lag_hop(lag: dict | None, lag_error: str, thresholds) -> dict:
    """Hop 4 from the report's lag section: the highest p99 of any kind."""
    if lag is None:
        return hop(4, None, thresholds.max_p99, UNKNOWN, lag_error or "event lag unavailable")
    measured = [(s["percentiles"][P99_KEY], kind) for kind, s in lag["kinds"].items() if s and s["count"]]
    if not measured:
        return hop(4, None, thresholds.max_p99, OK, "no events stored in the window")
    p99, kind = max(measured)
    over = p99 > thresholds.max_p99
    text = f"event lag p99 {p99:.3f} s ({kind} events)"
    line = f"callback receiver: event lag p99 of {kind} events is {p99:.1f} s" if over else ""
    return hop(4, p99, thresholds.max_p99, OVER if over else OK, text, line)


def critical_path(window, thresholds, lag: dict | None, lag_error: str = "") -> dict:
    """The path document: ``lag`` is health.report's lag section over ``window`` (None when it
    failed, with ``lag_error``); snapshots and overflow drops are read here."""
    config = get_config()
    now = time.time()
    drops = drops_by_node(window)
    nodes = []
    for snapshot in latest_snapshots():
        age = now - snapshot.taken_at.timestamp()
        stale = age > config["SAMPLE_STALE_INTERVALS"] * snapshot.interval
        nodes.append(
            {
                "node": snapshot.node,
                "role": snapshot.data.get("role"),
                "taken_at": isoformat(snapshot.taken_at),
                "age": round(age, 1),
                "interval": snapshot.interval,
                "stale": stale,
                "hops": node_hops(snapshot, drops.get(snapshot.node, 0), thresholds, stale),
                "snapshot": snapshot.data,
            }
        )
    cluster = cluster_hops(nodes, lag_hop(lag, lag_error, thresholds))
    first = next((h for h in cluster if h["verdict"] == OVER), None)
    stale = [n for n in nodes if n["stale"]]
    if first is not None:
        headline = first["line"]
    elif not nodes:
        headline = (
            "no snapshots: no node samples its hops (SAMPLE_INTERVAL 0, or `eventdebug sample` never ran)"
        )
    else:
        headline = f"every hop within its threshold on {len(nodes) - len(stale)} of {len(nodes)} nodes"
    if stale:
        headline += "; stale: " + ", ".join(
            f"{n['node']} (last snapshot {n['age']:.0f} s ago)" for n in stale
        )
    return {
        "stale_after_intervals": config["SAMPLE_STALE_INTERVALS"],
        "headline": headline,
        "first_over": first and {"hop": first["hop"], "node": first.get("node")},
        "cluster": cluster,
        "nodes": nodes,
    }


def cluster_hops(nodes: list[dict], hop4: dict) -> list[dict]:
    """Hops 1-7 for the cluster; a per-node hop is shown for its worst node."""
    cluster = [hop(1, None, None, NOT_APPLICABLE, IN_LAG), hop(2, None, None, NOT_APPLICABLE, IN_LAG)]
    for number in (3, 4, 5, 6, 7):
        cluster.append(hop4 if number == 4 else worst_node_hop(nodes, number))
    return cluster


def worst_node_hop(nodes: list[dict], number: int) -> dict:
    """Hop ``number`` of the first node (in name order) over its threshold, else the first
    unknown, stale or ok one."""
    seen = [(node["node"], h) for node in nodes for h in node["hops"] if h["hop"] == number]
    for verdict in (OVER, UNKNOWN, STALE, OK, NOT_APPLICABLE):
        for name, found in seen:
            if found["verdict"] == verdict:
                return {**found, "node": name, "text": f"{name}: {found['text']}"}
    return hop(number, None, None, NOT_APPLICABLE, "no node sampled")


def path_checks(doc: dict) -> tuple[list[str], list[str]]:
    """What `check` adds: the per-node backlog and relay hops over their thresholds (hops 4, 5
    and 7 it checks itself), and the stale nodes and unreadable hops as figures not checked."""
    failures, unchecked = [], []
    for node in doc["nodes"]:
        if node["stale"]:
            unchecked.append(f"{node['node']}: last snapshot {node['age']:.0f} s ago (stale)")
            continue
        for h in node["hops"]:
            if h["hop"] not in (3, 6):
                continue
            if h["verdict"] == OVER:
                failures.append(f"{h['line']}, above the maximum {_limits(h['threshold'])}")
            elif h["verdict"] == UNKNOWN:
                unchecked.append(f"hop {h['hop']} on {node['node']}: {h['text']}")
    return failures, unchecked


def _limits(threshold) -> str:
    if isinstance(threshold, dict):
        return f"{threshold['length']:,} events or {threshold['oldest_age']:g} s"
    return str(threshold)
