"""Hop 9: the channel layer (channels_redis) queues the message for each daphne process whose
websocket consumers joined the group; daphne delivers it to the browser. A queue at capacity
makes group_send drop (hop 7)."""

from __future__ import annotations

from ...channels.queues import inspect_queues
from ...overflow.record import node_name
from ..causes import CHANNEL_FILLING
from ..hop import (
    NOT_APPLICABLE,
    OK,
    OVER,
    UNKNOWN,
    Hop,
    Judgment,
    NodeContext,
    NodeJudgment,
    Threshold,
    worst_of,
)

# The fullest queues a snapshot keeps (the summary counts all of them).
TOP_QUEUES = 5
QUEUE_FIGURES = ("key", "depth_messages", "capacity_messages", "fill_percent", "oldest_age_seconds")
REPORTED = ("layer", "note", "truncated", "shards", "summary", "queues")


def layer_queues(limit: int) -> dict:
    """The fullest queues (then oldest message, then deepest) and the counts over all of them."""
    doc = inspect_queues(limit=limit)
    return {key: doc[key] for key in REPORTED}


class ChannelLayer(Hop):
    key = "channel_layer"
    label = "channel layer"
    what = "queued for daphne, which delivers it to the browser"
    snapshot_key = "layer"
    reads_own = True
    cluster_read = "channel_layer"  # this node's queues, read now
    causes = (CHANNEL_FILLING,)
    thresholds = (
        Threshold(
            "max_fill",
            80.0,
            "Fill (percent of capacity) of the fullest channel layer queue on any node",
            "Fullest queue",
            metric="queue_max_fill_ratio",
            figure="fill",
            unit="%",
            maximum=100,
            metric_scale=0.01,
        ),
    )

    def read_node(self, context: NodeContext) -> dict:
        doc = inspect_queues(limit=TOP_QUEUES)
        return {
            "error": "",
            "note": doc["note"],
            "summary": doc["summary"],
            "queues": [{key: queue[key] for key in QUEUE_FIGURES} for queue in doc["queues"]],
            "unreachable": [s["error"] for s in doc["shards"] if not s["ok"]],
            "truncated": doc["truncated"],
        }

    def read_cluster(self, window, detail: int) -> dict:
        return layer_queues(max(detail, 1))

    def judge_node(self, node: str, figures: dict, limits: dict, cluster) -> Judgment:
        most = limits["max_fill"]
        if figures.get("error"):
            return Judgment(UNKNOWN, figures["error"])
        if figures["note"]:
            return Judgment(NOT_APPLICABLE, figures["note"])
        fullest = figures["queues"][0] if figures["queues"] else None
        fill = (fullest["fill_percent"] or 0.0) if fullest else 0.0
        over = fill > most
        line = f"channel layer on {node}: queue {fullest['key']} is {fill:g}% full" if over else ""
        return Judgment(
            OVER if over else OK,
            f"fullest queue {fill:g}% ({fullest['key']})" if fullest else "no queue holds messages",
            fill,
            line,
            failures=[f"{line}, above the maximum {self.thresholds[0].shown(most)}"] if over else [],
            # The queues of a Redis the read could not reach are not in the figure.
            unchecked=[f"queues on {node}: {error}" for error in figures.get("unreachable", ())],
            figures={"max_fill": fill},
        )

    def judge_cluster(self, layer: dict | None, limits: dict, nodes: list[NodeJudgment]) -> Judgment:
        """The nodes' snapshots, with this node's queues as read now in place of its own."""
        if layer is None:
            return worst_of(nodes)
        here = node_name()
        live = self.judge_node(here, layer, limits, None)
        if live.failures:  # the queue as read now: its depth and capacity are known
            queue = layer["queues"][0]
            live.failures = [
                f"queue {queue['key']} is {live.figure:g}% full "
                f"({queue['depth_messages']} of {queue['capacity_messages']} messages), "
                f"above the maximum {self.thresholds[0].shown(limits['max_fill'])}"
            ]
        if layer["note"]:
            live.unchecked.append(f"queues: {layer['note']}")
        live.unchecked += [
            f"queues on redis {s['host']}: {s['error']}" for s in layer["shards"] if not s["ok"]
        ]
        return worst_of([NodeJudgment(here, live, stale=False), *(n for n in nodes if n.node != here)])
