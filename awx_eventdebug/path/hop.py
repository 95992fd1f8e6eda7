"""What a hop of the critical path is: the unit the registry (path/registry.py) lists in order.

A hop is one module defining a subclass of ``Hop``: its label and what happens there; what it
reads on each node (its share of the sampler's one pipelined round trip to the node's Redis, or a
read of its own) and cluster-wide (once per health snapshot, health/snapshot.py); its thresholds,
from which the setting, the check's query parameter and CLI flag, the metric family and the
dashboard's row are derived; and its judgment of its figures against them. The judging loop
(path/judge.py) is the only code that walks the hops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..conf import get_config
from ..jsondoc import says_unit

OK, OVER, STALE, UNKNOWN, NOT_APPLICABLE = "ok", "over", "stale", "unknown", "n/a"
# Nothing to judge in the window (no event stored): never ok, never over.
IDLE = "idle"


@dataclass(frozen=True)
class Threshold:
    """One bound of the check: ``check`` fails when the figure it bounds is above it.

    Its setting is EVENTDEBUG['CHECK_<NAME>'], its query parameter ``name``, its CLI flag
    ``--name`` (``_`` as ``-``); the check reports the bounded figure as
    ``figures[figure_key]``, the worst over what the threshold covers (every node, or every
    kind), the threshold itself as ``thresholds[limit_key]`` (both keys end with the unit), and
    the metric family ``metric`` exports it (``metric_scale`` times the figure: a percent as a
    0-1 ratio)."""

    name: str
    default: int | float
    help: str  # what it bounds, for the setting, the query parameter and --help
    label: str  # the figure's name heading the dashboard's row ("Fullest queue")
    metric: str  # the family (without awx_eventdebug_) an alert compares with this threshold
    metric_help: str = ""  # of a per-node family the metrics derive from the hop's figures
    figure: str = ""  # the bounded figure ("lag_p99"), named without its unit
    unit: str = ""  # "s", "%" or "" (a count)
    counts: str = ""  # what a count counts ("events"): the unit of its JSON field names
    digits: int = 1  # of a figure shown (a threshold is shown as written)
    maximum: float = 2**63 - 1  # a larger value is a typo
    metric_scale: float = 1.0
    # Its figure is the hop's cluster-wide read, the same whichever node judges it (the database's
    # view of every node): its metric family has no node label.
    cluster_wide: bool = False

    @property
    def setting(self) -> str:
        return "CHECK_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def unit_name(self) -> str:
        """The unit as JSON field names end with it (jsondoc.UNIT_SUFFIXES)."""
        return {"s": "seconds", "%": "percent"}.get(self.unit) or self.counts

    @property
    def limit_key(self) -> str:
        """The threshold's key in the check's ``thresholds`` and a path row's: max_p99_seconds."""
        return with_unit(self.name, self.unit_name)

    @property
    def figure_key(self) -> str:
        """The bounded figure's key in the check's ``figures`` and a path row's: lag_p99_seconds."""
        return with_unit(self.figure, self.unit_name)

    @property
    def is_count(self) -> bool:
        return isinstance(self.default, int)

    def shown(self, value, figure: bool = False) -> str:
        """A value of this threshold (as written) or of its figure (to ``digits``) as text shows
        it: 10,000 events / 10 s / 80% / 1.985 s."""
        if value is None:
            return "-"
        if self.is_count:  # "1 event", "10,000 events"
            return f"{int(value):,} {self.counts.removesuffix('s') if int(value) == 1 else self.counts}"
        number = f"{value:.{self.digits}f}" if figure else f"{value:.15g}"
        return f"{number}%" if self.unit == "%" else f"{number} {self.unit}".rstrip()


def with_unit(name: str, unit: str) -> str:
    """``name`` saying ``unit`` once: ("max_drops", "drops") -> "max_drops", ("fill", "percent")
    -> "fill_percent"."""
    return name if says_unit(name, unit) else f"{name}_{unit}"


@dataclass(frozen=True)
class Cause:
    """Why a hop is over its threshold and what to change (path/causes.py): a section of
    docs/runbook.md, whose heading is the title."""

    title: str
    remedy: str

    @property
    def anchor(self) -> str:
        return anchor(self.title)

    @property
    def runbook(self) -> str:
        """Its section of the runbook the app serves (dashboard/runbook.py)."""
        return runbook_url(self.anchor)


def anchor(heading: str) -> str:
    """A heading's anchor as GitHub makes it for docs/runbook.md and the app's runbook page alike
    (lower case, punctuation dropped, spaces as hyphens)."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def runbook_url(section: str) -> str:
    """The runbook's ``section`` where the app serves it: under URL_PREFIX, on AWX_UI_URL's host
    (empty: a path on the host serving the app)."""
    config = get_config()
    return f"{config['AWX_UI_URL'].rstrip('/')}{config['URL_PREFIX']}runbook/#{section}"


@dataclass(frozen=True)
class Diagnosis:
    """The cause a hop over its threshold names, with the figures that point to it and clear the
    others; ``line`` replaces the hop's headline when the evidence places the time elsewhere."""

    cause: Cause
    evidence: str
    line: str = ""

    def as_dict(self) -> dict:
        return {
            "cause": self.cause.title,
            "evidence": self.evidence,
            "remedy": self.cause.remedy,
            "runbook": self.cause.runbook,
        }


@dataclass
class Judgment:
    """A hop judged on one node or for the cluster.

    ``figure`` is what the path document shows (beside the hop's thresholds), ``text`` the
    figure in words;
    ``failures`` are the check's lines (one per figure over its threshold), ``line`` the headline
    when this is the first hop over its threshold, ``unchecked`` the check's lines of figures that
    could not be read, ``figures`` the values this judgment gives the check's thresholds (by
    threshold name)."""

    verdict: str
    text: str
    figure: Any = None
    line: str = ""
    failures: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    node: str | None = None  # on a cluster row: the node it was judged on


@dataclass(frozen=True)
class NodeJudgment:
    """A hop judged on a node, and whether the node's snapshot is stale (its figures are shown
    but not checked)."""

    node: str
    judgment: Judgment
    stale: bool


@dataclass(frozen=True)
class NodeContext:
    """What a hop's node read knows: the node, its role and peers (AWX's instance table), the
    time of the sample, and the hop's figures in the node's previous snapshot with the seconds
    since (None when there is none recent and readable)."""

    node: str
    role: str | None
    peers: list[str]
    now: float
    previous: dict | None = None
    previous_seconds: float | None = None


class Hop:
    """A hop of the critical path. Subclasses set the class attributes and override the reads
    and judgments they have."""

    key = ""  # stable identifier: "callback_queue"
    label = ""  # "callback queue"
    what = ""  # what happens there
    thresholds: tuple[Threshold, ...] = ()
    # The key of the hop whose figure covers this one (hops 1-2 are inside the event lag): a hop
    # with no figure of its own.
    inside = ""
    # Key of its per-node figures in a NodeSnapshot's data; "" when it reads nothing per node.
    snapshot_key = ""
    reads_own = False  # its node read is read_node(), not a share of the pipeline
    # The name of its cluster-wide read in the health snapshot ("" for none): the report shows the
    # read of the receiver as "lag", that of the channel layer as "channel_layer".
    cluster_read = ""
    # Judged per node from its cluster-wide read (overflow drops are recorded with their node).
    cluster_per_node = False
    # What can make this hop go over its thresholds (path/causes.py): diagnose() names one of
    # them on a row over its threshold; docs/runbook.md has a section for each.
    causes: tuple[Cause, ...] = ()

    @property
    def per_node(self) -> bool:
        return bool(self.snapshot_key) or self.cluster_per_node

    # -- per node, by the sampler ------------------------------------------------------------------
    def pipeline(self, pipe, context: NodeContext) -> None:
        """Queue this hop's commands on the sampler's pipeline to the node's Redis (BROKER_URL)."""

    def from_replies(self, replies: list, broker: str, context: NodeContext) -> dict:
        """This hop's figures from the replies of the commands pipeline() queued."""
        raise NotImplementedError

    def read_node(self, context: NodeContext) -> dict:
        """A read of its own, run alongside the pipeline; {"error": ...} when it failed."""
        raise NotImplementedError

    # -- cluster-wide, once per health snapshot ----------------------------------------------------
    def read_cluster(self, window, detail: int):
        """The cluster-wide figures over ``window``; ``detail`` worst items kept for the report."""
        raise NotImplementedError

    # -- judgment ------------------------------------------------------------------------------------
    def judge_node(self, node: str, figures: dict, limits: dict, cluster) -> Judgment:
        """This hop on one node from its snapshot's figures; ``cluster`` is read_cluster()'s."""
        raise NotImplementedError

    def judge_cluster(self, cluster, limits: dict, nodes: list[NodeJudgment]) -> Judgment:
        """The hop for the cluster from its nodes: shown as its worst node (over first, then
        unknown, stale, ok); the check's lines and figures of every node that is not stale."""
        return worst_of(nodes)

    def judge_inside(self, text: str, reading) -> Judgment:
        """The row of a hop ``inside`` another's figure (``text`` says whose): no verdict of its
        own; ``reading`` is its cluster-wide read, None when it has none or it failed."""
        return Judgment(NOT_APPLICABLE, text)

    def diagnose(self, judged: Judgment, path: dict[str, Judgment]) -> Diagnosis | None:
        """Why this hop is over its threshold: one of its causes, with the evidence of its own
        figures and of ``path``, the other hops' judgments where it was judged (by key). By
        default its first cause, with its figure as evidence."""
        return Diagnosis(self.causes[0], judged.text) if self.causes else None


def worst_of(nodes: list[NodeJudgment]) -> Judgment:
    """The cluster row of a per-node hop: its worst node's judgment, named, carrying the check's
    failures of every fresh node and the worst figure of each threshold over them."""
    fresh = [n.judgment for n in nodes if not n.stale]
    unchecked = [line for judged in fresh for line in judged.unchecked]
    figures: dict[str, Any] = {}
    for judged in fresh:
        for name, value in judged.figures.items():
            if value is not None and (figures.get(name) is None or value > figures[name]):
                figures[name] = value
            figures.setdefault(name, None)
    failures = [line for judged in fresh for line in judged.failures]
    for verdict in (OVER, UNKNOWN, STALE, OK, NOT_APPLICABLE):
        for n in nodes:
            found = n.judgment
            if found.verdict == verdict:
                return Judgment(
                    verdict,
                    f"{n.node}: {found.text}",
                    found.figure,
                    found.line,
                    failures=failures,
                    unchecked=unchecked,
                    figures=figures,
                    node=n.node,
                )
    return Judgment(NOT_APPLICABLE, "no node sampled", figures=figures)
