"""Hop 1: on the execution node, AWX's callback plugin makes each Ansible result an event and
stamps its ``created`` (that node's clock).

It has no figure of its own (the event lag of hop 4 covers it), but its cluster-wide read is each
execution node's clock estimate from the lag of its jobs' events (lag/nodes.py): the row names the
nodes whose clock or path stands out, and the receiver's diagnosis places the lag on them.
"""

from __future__ import annotations

from ...lag.nodes import AHEAD, BEHIND, IN_SYNC, SLOW_PATH, UNKNOWN, node_clocks
from ..hop import NOT_APPLICABLE, Hop, Judgment

# An execution node that stands out, in a word, by its estimate's verdict (the skew's seconds).
OFF_WORDS = {
    SLOW_PATH: "a slow path before the queue",
    BEHIND: "clock behind by about {:.1f} s",
    AHEAD: "clock ahead by about {:.1f} s",
}


class Callback(Hop):
    key = "callback"
    label = "callback"
    what = "the Ansible callback stamps created (execution node)"
    inside = "receiver"
    cluster_read = "clock_skew"

    def read_cluster(self, window, detail: int) -> dict:
        return node_clocks(window)

    def judge_inside(self, text: str, clocks: dict | None) -> Judgment:
        """The row names the execution nodes that stand out (check's clock_skew has why)."""
        off = [
            f"{e['node']} ({OFF_WORDS[e['verdict']].format(abs(e['skew_seconds'] or 0.0))})"
            for e in (clocks or {}).get("nodes", [])
            if e["verdict"] in OFF_WORDS
        ]
        if off:
            text += "; execution nodes that stand out: " + ", ".join(off)
        return Judgment(NOT_APPLICABLE, text, clocks)


def before_queue(clocks: dict | None) -> tuple[str, str]:
    """Where before the queue the time is spent, as the clock estimate says (the words that follow
    "the time is spent before the queue"), and the execution node it names first ("" for none).

    A slow path first, then a clock behind the controller's, each with its figures; none standing
    out among two measured nodes or more places it alike on every node; fewer, nowhere."""
    estimates = (clocks or {}).get("nodes", [])
    late = [e for e in estimates if e["verdict"] == SLOW_PATH] + [
        e for e in estimates if e["verdict"] == BEHIND
    ]
    if not late:
        if sum(e["verdict"] != UNKNOWN for e in estimates) > 1:  # a lone node stands out from none
            return (
                ", alike on every execution node (none stands out in `lag --by execution_node`): the "
                "controller's runner callback or receptor"
            ), ""
        return (
            " (the execution node, receptor, the controller's runner callback) or an execution node's "
            "clock is behind the controller's"
        ), ""
    in_sync = [e for e in estimates if e["verdict"] == IN_SYNC and e["p50_seconds"] is not None]
    words = []
    for estimate in late:
        node, excess = estimate["node"], estimate["min_lag_seconds"] - clocks["baseline_min_lag_seconds"]
        if estimate["verdict"] == BEHIND:
            words.append(
                f"execution node {node}, whose clock is about {excess:.1f} s behind the controller's "
                "(or whose events all wait that long before the queue)"
            )
            continue
        said = f"execution node {node}, whose median lag is {estimate['p50_seconds']:.1f} s"
        if in_sync:
            said += f" while the nodes in sync have at most {max(e['p50_seconds'] for e in in_sync):.1f} s"
        words.append(f"{said}: its events wait {excess:.1f} s or more before the queue")
    return ": " + "; and ".join(words), late[0]["node"]
