"""A throw-away hop for tests/path/test_registry.py: one module, as a new hop of the app would be.

A queue of "widgets" on the node's Redis, read with the sampler's pipeline, and one threshold."""

from awx_eventdebug.path.hop import OK, OVER, UNKNOWN, Cause, Hop, Judgment, NodeContext, Threshold

WIDGETS_KEY = "edtest-widgets"


class WidgetQueue(Hop):
    key = "widget_queue"
    label = "widget queue"
    what = "widgets wait for their worker"
    snapshot_key = "widgets"
    causes = (Cause("Too few widget workers", "raise WIDGET_WORKERS"),)
    thresholds = (
        Threshold(
            "max_widgets",
            10,
            "Widgets queued on any node",
            "Widgets queued (worst node)",
            metric="widget_queue_length",
            metric_help="Widgets waiting on the node.",
            figure="widgets",
            counts="widgets",
        ),
    )

    def pipeline(self, pipe, context: NodeContext) -> None:
        pipe.llen(WIDGETS_KEY)

    def from_replies(self, replies: list, broker: str, context: NodeContext) -> dict:
        (length,) = replies
        return {"error": "", "length": length}

    def judge_node(self, node: str, figures: dict, limits: dict, cluster) -> Judgment:
        if figures.get("error"):
            return Judgment(UNKNOWN, figures["error"])
        length, most = figures["length"], limits["max_widgets"]
        over = length > most
        line = f"widget queue on {node} holds {length} widgets"
        return Judgment(
            OVER if over else OK,
            f"{length} widgets",
            length,
            line if over else "",
            failures=[f"{line}, above the maximum {self.thresholds[0].shown(most)}"] if over else [],
            figures={"max_widgets": length},
        )
