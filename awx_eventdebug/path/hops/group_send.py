"""Hop 7: the receiver's group_send of the websocket message to the channel layer, where
channels_redis drops it for every member whose queue is at capacity and logs "over capacity"
(captured into ChannelOverflow with the node it happened on: overflow/)."""

from __future__ import annotations

from django.db.models import Sum

from ...db import app_tables_read
from ...models import ChannelOverflow
from ...overflow.queries import OverflowFilter
from ..causes import CHANNEL_OVERFLOW
from ..hop import OK, OVER, Hop, Judgment, NodeJudgment, Threshold, worst_of

# Most nodes read: an AWX cluster has a few dozen.
MAX_NODES = 1000


@app_tables_read
def drops_by_node(window) -> dict[str, dict]:
    """Per node, the drops recorded in the window and the group with the most of them: two
    statements, each at most MAX_NODES rows."""
    rows = OverflowFilter(since=window.since, until=window.until).apply(ChannelOverflow.objects.all())
    totals = rows.values("node").annotate(drops=Sum("drops")).order_by("-drops", "node")[:MAX_NODES]
    found = {row["node"]: {"drops": row["drops"], "group": None, "group_drops": 0} for row in totals}
    # The (node, group) pairs with the most drops: each node's first one is its worst group (a node
    # whose worst group is not among them is named without it).
    pairs = rows.values("node", "group").annotate(drops=Sum("drops")).order_by("-drops", "node", "group")
    for pair in pairs[:MAX_NODES]:
        figures = found.get(pair["node"])
        if figures is not None and figures["group"] is None:
            figures["group"], figures["group_drops"] = pair["group"], pair["drops"]
    return found


class GroupSend(Hop):
    key = "group_send"
    label = "group_send"
    what = "the receiver sends the websocket message to the channel layer"
    cluster_read = "drops"
    cluster_per_node = True  # drops are recorded with their node, sampled or not
    causes = (CHANNEL_OVERFLOW,)
    thresholds = (
        Threshold(
            "max_drops",
            0,
            "Overflow drops in the window on any node",
            "Drops (worst node)",
            metric="overflow_drops",
            figure="drops",
            counts="drops",
        ),
    )

    def read_cluster(self, window, detail: int) -> dict:
        return drops_by_node(window)

    def judge_node(self, node: str, figures, limits: dict, drops: dict) -> Judgment:
        found = drops.get(node) or {"drops": 0, "group": None}
        count, most = found["drops"], limits["max_drops"]
        over = count > most
        line = f"group_send on {node}: channels_redis dropped {count:,} group messages in the window"
        worst = f" (most in {found['group']}: {found['group_drops']:,})" if found["group"] else ""
        return Judgment(
            OVER if over else OK,
            f"{count:,} overflow drops{worst}",
            count,
            line if over else "",
            failures=[f"{line}, above the maximum {self.thresholds[0].shown(most)}{worst}"] if over else [],
            figures={"max_drops": count},
        )

    def judge_cluster(self, drops: dict, limits: dict, nodes: list[NodeJudgment]) -> Judgment:
        sampled = {n.node for n in nodes}
        unsampled = [
            NodeJudgment(node, self.judge_node(node, None, limits, drops), stale=False)
            for node in sorted(drops)
            if node not in sampled
        ]
        if not nodes and not unsampled:
            return Judgment(OK, "0 overflow drops", 0, figures={"max_drops": 0})
        return worst_of([*nodes, *unsampled])
