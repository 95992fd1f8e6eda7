"""The critical path judged once: every hop of the registry, in order, per node (from each node's
latest snapshot) and for the cluster, against the check's thresholds; the one loop that walks the
hops. Its result is the path document and the check's lines and figures (health/snapshot.py
makes every view from it).

A node whose latest snapshot is older than SAMPLE_STALE_INTERVALS of its own intervals is stale:
its figures are shown as they were and it is named, never left out, nor checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import Max
from django.utils import timezone

from ..conf import get_config
from ..db import app_tables_read
from ..models import NodeSnapshot
from ..timeutil import isoformat
from .hop import IDLE, NOT_APPLICABLE, OK, OVER, STALE, UNKNOWN, Diagnosis, Hop, Judgment, NodeJudgment
from .registry import hops, thresholds

# Most nodes shown: an AWX cluster has a few dozen.
MAX_NODES = 1000
# What the check and the verdict show of a row over its threshold: the hop, where, and its cause.
CAUSE_KEYS = ("hop", "name", "node", "cause", "evidence", "remedy", "runbook")


@app_tables_read
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


def limits(**given) -> dict[str, Any]:
    """Each threshold's value: ``given`` (a query's) where not None, else its CHECK_* setting."""
    config = get_config()
    return {
        t.name: given[t.name] if given.get(t.name) is not None else config[t.setting] for t in thresholds()
    }


@dataclass
class JudgedPath:
    """The path document's parts, and what the check takes of them."""

    verdict: str  # over when a hop is over its threshold, else unknown when one is unread or stale
    cluster: list[dict]
    nodes: list[dict]
    headline: str
    first_over: dict | None
    failures: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    idle: list[str] = field(default_factory=list)  # the hops with nothing to judge in the window
    figures: dict[str, Any] = field(default_factory=dict)
    # Per node, the figures its snapshot gave each threshold (the metrics' per-node families).
    node_figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The cause each hop over its threshold names, in path order (CAUSE_KEYS of its row).
    causes: list[dict] = field(default_factory=list)

    def document(self) -> dict:
        return {
            "stale_after_intervals": get_config()["SAMPLE_STALE_INTERVALS"],
            "verdict": self.verdict,
            "headline": self.headline,
            "first_over": self.first_over,
            "cluster": self.cluster,
            "nodes": self.nodes,
        }


def row(number: int, hop: Hop, judged: Judgment, limits: dict, diagnosis: Diagnosis | None = None) -> dict:
    """A hop as the path document shows it; one over its threshold with the cause it names."""
    doc = {
        "hop": number,
        "key": hop.key,
        "name": hop.label,
        "what": hop.what,
        "figures": {t.figure_key: judged.figures.get(t.name) for t in hop.thresholds},
        "thresholds": limits_of(hop.thresholds, limits),
        "verdict": judged.verdict,
        "text": judged.text,
        "line": judged.line,  # the headline when this is the first hop over its threshold
    }
    if judged.node is not None:
        doc["node"] = judged.node
    if diagnosis is not None:
        doc.update(diagnosis.as_dict())
        doc["line"] = diagnosis.line or judged.line
    return doc


def diagnoses(path: list[tuple[int, Hop]], judged: dict[str, Judgment]) -> dict[str, Diagnosis | None]:
    """The cause each hop over its threshold names, by key, from the judgments of the hops judged
    in the same place (a node, or the cluster)."""
    return {
        hop.key: hop.diagnose(judged[hop.key], judged)
        for _, hop in path
        if hop.key in judged and judged[hop.key].verdict == OVER
    }


def on_its_node(diagnosis: Diagnosis | None, node: str) -> Diagnosis | None:
    """A node's diagnosis as the cluster row of its hop shows it: the evidence names the node."""
    return diagnosis and replace(diagnosis, evidence=f"{node}: {diagnosis.evidence}")


def rows(path: list[tuple[int, Hop]], judged: dict[str, Judgment], limits: dict, found: dict) -> list[dict]:
    """The rows of the hops judged in one place, each over its threshold with its diagnosis."""
    return [
        row(number, hop, judged[hop.key], limits, found.get(hop.key))
        for number, hop in path
        if hop.key in judged
    ]


def judge_on_node(hop: Hop, snapshot: NodeSnapshot, limits: dict, readings: dict) -> Judgment:
    """``hop`` on the snapshot's node: from the snapshot's figures, or from the hop's cluster-wide
    read of that node."""
    reading, error = readings.get(hop.cluster_read, (None, ""))
    if not hop.snapshot_key:
        return Judgment(UNKNOWN, error) if error else hop.judge_node(snapshot.node, None, limits, reading)
    figures = snapshot.data.get(hop.snapshot_key)
    if not isinstance(figures, dict):  # written before the hop was registered (an upgrade)
        return Judgment(UNKNOWN, f"the node's snapshot has no {hop.label} figures")
    try:
        return hop.judge_node(snapshot.node, figures, limits, reading)
    except KeyError as missing:  # written by a version that named its figures otherwise
        return Judgment(UNKNOWN, f"the node's snapshot has no {hop.label} figure {missing}")


def judge_path(
    snapshots: list[NodeSnapshot] | None,
    snapshots_error: str,
    readings: dict[str, tuple[Any, str]],
    limits: dict[str, Any],
    now: float,
) -> JudgedPath:
    """Every hop judged on every node and for the cluster. ``readings`` holds each hop's
    cluster-wide read (by its cluster_read name) as (value, why it failed)."""
    stale_intervals = get_config()["SAMPLE_STALE_INTERVALS"]
    path = list(enumerate(hops(), 1))
    numbers = {hop.key: number for number, hop in path}
    nodes, per_hop, node_figures = [], {hop.key: [] for hop in hops()}, {}
    on_node_diagnoses: dict[str, dict[str, Diagnosis | None]] = {}
    unchecked = []
    for snapshot in snapshots or ():
        age = now - snapshot.taken_at.timestamp()
        stale = age > stale_intervals * snapshot.interval
        on_node = {}
        for number, hop in path:
            if not hop.per_node:
                continue
            judged = judge_on_node(hop, snapshot, limits, readings)
            # A figure of the snapshot is as old as the snapshot; a cluster-wide read is not.
            judged_stale = stale and bool(hop.snapshot_key)
            if judged_stale and judged.verdict not in (UNKNOWN, NOT_APPLICABLE):
                judged.verdict = STALE
            # A failed cluster-wide read is one line of the check, not one per node.
            if not judged_stale and judged.verdict == UNKNOWN and hop.snapshot_key:
                unchecked.append(f"hop {number} on {snapshot.node}: {judged.text}")
            per_hop[hop.key].append(NodeJudgment(snapshot.node, judged, judged_stale))
            if hop.snapshot_key:
                node_figures.setdefault(snapshot.node, {}).update(judged.figures)
            on_node[hop.key] = judged
        on_node_diagnoses[snapshot.node] = diagnoses(path, on_node)
        if stale:
            unchecked.append(f"{snapshot.node}: last snapshot {age:.0f} s ago (stale)")
        nodes.append(
            {
                "node": snapshot.node,
                "role": snapshot.data.get("role"),
                "taken_at": isoformat(snapshot.taken_at),
                "age_seconds": round(age, 1),
                "interval_seconds": snapshot.interval,
                "stale": stale,
                "hops": rows(path, on_node, limits, on_node_diagnoses[snapshot.node]),
                "snapshot": snapshot.data,
            }
        )

    failures, figures, on_cluster = [], {}, {}
    for _, hop in path:
        if hop.inside:
            inside = numbers[hop.inside]
            text = f"in the event lag of hop {inside} (modified - created covers hops 1-{inside})"
            judged = hop.judge_inside(text, readings.get(hop.cluster_read, (None, ""))[0])
        else:
            reading, error = readings.get(hop.cluster_read, (None, ""))
            if hop.cluster_read and error and not hop.snapshot_key:
                judged = Judgment(UNKNOWN, error)
            else:
                judged = hop.judge_cluster(reading, limits, per_hop[hop.key])
        failures += judged.failures
        unchecked += judged.unchecked
        for threshold in hop.thresholds:
            figures[threshold.figure_key] = judged.figures.get(threshold.name)
        on_cluster[hop.key] = judged
    found = diagnoses(path, on_cluster)
    # A per-node hop's cluster row is its worst node's: its cause is the one that node's own row
    # names from the other hops on that node, not from the cluster's worst, which may be another's.
    for _, hop in path:
        node = on_cluster[hop.key].node
        if hop.key in found and hop.key in on_node_diagnoses.get(node, {}):
            found[hop.key] = on_its_node(on_node_diagnoses[node][hop.key], node)
    cluster = rows(path, on_cluster, limits, found)

    first = next((h for h in cluster if h["verdict"] == OVER), None)
    unread = [h for h in cluster if h["verdict"] == UNKNOWN]
    idle = [f"hop {h['hop']} {h['name']}: {h['text']}" for h in cluster if h["verdict"] == IDLE]
    stale_nodes = [n for n in nodes if n["stale"]]
    if first is not None:
        headline = first["line"]
    elif unread:
        headline = "could not read " + "; ".join(f"hop {h['hop']} {h['name']}: {h['text']}" for h in unread)
    elif snapshots_error:
        headline = f"no snapshots: {snapshots_error}"
    elif idle:
        headline = "nothing to judge: " + "; ".join(idle)
    elif not nodes:
        headline = (
            "no snapshots: no node samples its hops (SAMPLE_INTERVAL 0, or `eventdebug sample` never ran)"
        )
    else:
        headline = f"every hop within its threshold on {len(nodes) - len(stale_nodes)} of {len(nodes)} nodes"
    if stale_nodes:
        headline += "; stale: " + ", ".join(
            f"{n['node']} (last snapshot {n['age_seconds']:.0f} s ago)" for n in stale_nodes
        )
    return JudgedPath(
        verdict=OVER
        if first
        else UNKNOWN
        if unread or stale_nodes or snapshots_error
        else IDLE
        if idle
        else OK,
        cluster=cluster,
        nodes=nodes,
        headline=headline,
        first_over=first and {"hop": first["hop"], "node": first.get("node")},
        failures=failures,
        unchecked=unchecked,
        idle=idle,
        figures=figures,
        node_figures=node_figures,
        causes=[{key: h.get(key) for key in CAUSE_KEYS} for h in cluster if "cause" in h],
    )


def limits_of(thresholds, limits: dict) -> dict:
    """Thresholds as the check and the path show them: each value under its key with its unit."""
    return {t.limit_key: limits[t.name] for t in thresholds}
