"""The parameters of the report, the check and the path, validated once for both faces (GET
report/, check/ and path/, ``eventdebug report``, ``check`` and ``path``), and the documents
they give: each a view of one HealthSnapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, NotRequired, TypedDict

from rest_framework import serializers

from ..awx.sending import WebsocketRate
from ..channels.params import LayerQueues, QueuesSummary
from ..fields import ChoiceField, FiniteFloatField, MomentField
from ..lag.params import ClockSkew, LagSummary
from ..overflow.params import OverflowWindow
from ..path import hop as path_hop
from ..path.hops import event_insert, receiver_buffer
from ..path.registry import thresholds
from ..window import WindowQuerySerializer
from .prometheus import metric_names
from .report import WORST_DETAIL, health_window
from .snapshot import FAILED, IDLE, OK, UNKNOWN, HealthSnapshot


class ReportQuerySerializer(WindowQuerySerializer):
    """``since`` -> ``window``, the Window from since to the moment of this validation."""

    since = MomentField(
        required=False,
        help_text="Window start: ISO 8601 or a duration ago (15m). Default: EVENTDEBUG['HEALTH_WINDOW'] ago.",
    )

    def validate(self, attrs):
        since, until = self.window_bounds(attrs)
        return {**attrs, "window": health_window(until, since)}


class PathQuerySerializer(ReportQuerySerializer):
    """``since``: start of the window of the cluster-wide figures (event lag, overflow drops)."""


def threshold_field(threshold):
    """The query parameter of a threshold of the check: optional, from 0 to its maximum."""
    field_class = serializers.IntegerField if threshold.is_count else FiniteFloatField
    return field_class(
        required=False,
        min_value=0,
        max_value=threshold.maximum,
        help_text=f"{threshold.help}. Default: EVENTDEBUG['{threshold.setting}'].",
    )


class CheckQuerySerializer(ReportQuerySerializer):
    """``since`` and each threshold of the hops (path/registry.py), by its name."""

    def get_fields(self):
        return {**super().get_fields(), **{t.name: threshold_field(t) for t in thresholds()}}


class MetricsQuerySerializer(serializers.Serializer):
    """``?metric=NAME`` (repeatable), as AWX's /api/v2/metrics/ takes it: only those families."""

    def get_fields(self):
        metric = serializers.ListField(
            child=ChoiceField(choices=metric_names()),
            required=False,
            help_text="A metric name to export (repeat for more); default: all.",
        )
        return {"metric": metric}


class WindowBounds(TypedDict):
    """The window judged: from since (inclusive) to until (exclusive)."""

    since: datetime
    until: datetime


def by_threshold(name: str, doc: str, key: str, figure: bool = False, required: bool = True):
    """A part keyed by each threshold of the hops (path/registry.py), made when the schema is:
    its limit (``key`` "limit_key") or the figure it bounds ("figure_key", null when unread)."""

    def part() -> type:
        fields = {}
        for t in thresholds():
            value = int if t.is_count else float
            hint = Annotated[value | None if figure else value, t.help]
            fields[getattr(t, key)] = hint if required else NotRequired[hint]
        made = TypedDict(name, fields)
        made.__doc__ = doc
        return made

    return part


Thresholds = by_threshold("Thresholds", "Each threshold of the check.", "limit_key")
Figures = by_threshold(
    "Figures", "The figure each threshold bounds: the worst over what it covers.", "figure_key", figure=True
)
HopThresholds = by_threshold("HopThresholds", "The hop's thresholds.", "limit_key", required=False)
HopFigures = by_threshold(
    "HopFigures", "The figures the hop's thresholds bound.", "figure_key", figure=True, required=False
)


class Cause(TypedDict):
    """The most likely cause of a hop over its threshold, and what to change."""

    hop: int
    name: str
    node: str | None
    cause: str
    evidence: str
    remedy: str
    runbook: Annotated[str, "The section of docs/runbook.md."]


class CheckDocument(TypedDict):
    """The thresholds checked over one window."""

    status: Literal[OK, FAILED, UNKNOWN, IDLE]
    exit_code: Annotated[int, "What `eventdebug check` exits with (docs/cli.md)."]
    window: WindowBounds
    thresholds: Thresholds
    figures: Figures
    failures: Annotated[list[str], "One line per figure over its threshold."]
    causes: list[Cause]
    unchecked: Annotated[list[str], "The figures that could not be read, and stale nodes."]
    idle: Annotated[list[str], "The hops with nothing to judge in the window."]
    clock_skew: ClockSkew | None
    websocket_rate: WebsocketRate | None
    unread: Annotated[dict[str, str], "Why a part shown beside the judgment could not be read."]


class HopRow(TypedDict):
    """A hop judged for the cluster (its worst node) or on one node; over its threshold, with its
    most likely cause."""

    hop: int
    key: str
    name: str
    what: str
    figures: HopFigures
    thresholds: HopThresholds
    verdict: Literal[
        path_hop.OK, path_hop.OVER, path_hop.STALE, path_hop.UNKNOWN, path_hop.NOT_APPLICABLE, path_hop.IDLE
    ]
    text: Annotated[str, "The figure in words."]
    line: Annotated[str, "The headline, when this is the first hop over its threshold."]
    node: NotRequired[Annotated[str, "On a cluster row: the node it was judged on."]]
    cause: NotRequired[str]
    evidence: NotRequired[str]
    remedy: NotRequired[str]
    runbook: NotRequired[str]


class FailedRead(TypedDict):
    """A hop's read of the node that failed, and why."""

    error: str


class BacklogRead(TypedDict):
    """The callback queue (hop 3) as LLEN and LINDEX 0 found it, and the rates since the previous
    snapshot (null without one)."""

    error: str
    note: str
    length_events: int
    head_bytes: int | None
    head_created: datetime | None
    head_epoch_seconds: float | None
    oldest_age_seconds: float | None
    net_per_second: float | None
    in_per_second: float | None
    out_per_second: float | None
    drain_seconds: Annotated[float | None, "At the current rates, when the backlog shrinks."]
    growing: bool | None


# AWX's metrics by name, as the node's awx_metrics hash holds them.
AWX_METRIC = Annotated[
    float | None,
    "AWX's metric of this name (awx/main/analytics/subsystem_metrics.py), null when "
    "absent. Unit: as AWX names it.",
]
InsertCounters = TypedDict("InsertCounters", dict.fromkeys(event_insert.FIELDS, AWX_METRIC))
BufferCounters = TypedDict("BufferCounters", dict.fromkeys(receiver_buffer.FIELDS, AWX_METRIC))


class AwxMetricsRead(TypedDict):
    """A hop read from AWX's own metrics of the node's callback receiver; its figures when they
    are ``present``, the rates against the previous snapshot (null without one)."""

    error: str
    present: bool
    note: str


class InsertRead(AwxMetricsRead):
    """The event inserts (hop 6) since the previous snapshot."""

    counters: InsertCounters
    events_inserted: NotRequired[int | None]
    seconds_per_event: NotRequired[float | None]
    events_per_batch: NotRequired[float | None]
    batch_errors: NotRequired[int | None]


class BufferRead(AwxMetricsRead):
    """The receiver's buffer (hop 5)."""

    counters: BufferCounters
    events_in_memory: NotRequired[int]
    grown_events: NotRequired[Annotated[int | None, "events_in_memory's change since the previous snapshot."]]
    popped_per_second: NotRequired[float | None]
    inserted_per_second: NotRequired[float | None]
    processing_avg_seconds: NotRequired[float | None]


class RelayRemote(TypedDict):
    """wsrelay's connection to another web node."""

    host: str
    state: str
    since: datetime | None
    messages_total: int | None
    messages_current_connection: int | None
    messages_per_minute: int | None


class RelayRead(TypedDict):
    """wsrelay's connections to the other web nodes (hop 8), from its stats key."""

    error: str
    present: bool
    note: str
    remotes: list[RelayRemote]
    down_connections: int


class SnapshotQueue(TypedDict):
    """One of the node's fullest channel layer queues."""

    key: str
    depth_messages: int | None
    capacity_messages: int
    fill_percent: float | None
    oldest_age_seconds: float | None


class LayerRead(TypedDict):
    """The channel layer's fullest queues on the node (hop 9)."""

    error: str
    note: str
    summary: QueuesSummary
    queues: list[SnapshotQueue]
    unreachable: Annotated[list[str], "Why a shard could not be read."]
    truncated: list[str]


class NodeSnapshotData(TypedDict):
    """The node's latest snapshot as its sampler wrote it: each hop's reading of the node."""

    node: str
    role: Annotated[str | None, "Its node_type in AWX's instance table."]
    queue: Annotated[str, "AWX's callback queue, a list in the node's Redis."]
    broker: Annotated[str | None, "The node's Redis (BROKER_URL, password masked)."]
    errors: Annotated[dict[str, str], "Why a part of the snapshot could not be read."]
    backlog: BacklogRead | FailedRead
    receiver_buffer: BufferRead | FailedRead
    insert: InsertRead | FailedRead
    relay: RelayRead | FailedRead
    layer: LayerRead | FailedRead


class NodeRow(TypedDict):
    """A node's hops judged from its latest snapshot; a stale node's are shown, not checked."""

    node: str
    role: str | None
    taken_at: datetime
    age_seconds: float
    interval_seconds: float
    stale: bool
    hops: list[HopRow]
    snapshot: NodeSnapshotData


class FirstOver(TypedDict):
    """The first hop over its threshold, and the node it is over on (null: a cluster-wide figure)."""

    hop: int
    node: str | None


class PathSection(TypedDict):
    """Every hop for the cluster and per node, and the first hop over its threshold."""

    stale_after_intervals: int
    verdict: Literal[path_hop.OVER, path_hop.UNKNOWN, path_hop.IDLE, path_hop.OK]
    headline: str
    first_over: FirstOver | None
    cluster: list[HopRow]
    nodes: list[NodeRow]


class PathDocument(PathSection):
    """The critical path hop by hop on every node."""

    generated_at: datetime
    window: WindowBounds
    websocket_rate: WebsocketRate | None


class DoctorDatabase(TypedDict):
    """The database and AWX's tables the app cannot see."""

    vendor: str
    missing_tables: list[str]


class LayerHost(TypedDict):
    host: str
    ok: bool
    error: str


class DoctorLayer(TypedDict):
    """The channel layer, and whether each of its Redis hosts answers."""

    alias: str
    backend: str
    hosts: list[LayerHost]


class ConfigWarning(TypedDict):
    """A system check's finding (checks.py)."""

    id: str
    message: str


class DoctorSummary(TypedDict):
    """What the app needs and lacks, and where it looked."""

    problems: list[str]
    warnings: list[ConfigWarning]
    database: DoctorDatabase | None
    channel_layer: DoctorLayer | None
    capture_installed: bool


class ReportDocument(TypedDict):
    """The report over one window; a part that could not be read is null, with why in ``errors``."""

    generated_at: datetime
    window: WindowBounds
    doctor: DoctorSummary | None
    lag: LagSummary | None
    overflow: OverflowWindow | None
    channel_layer: LayerQueues | None
    clock_skew: ClockSkew | None
    websocket_rate: WebsocketRate | None
    path: PathSection | None
    errors: dict[str, str]


def report_document(query: dict) -> ReportDocument:
    """The document of GET report/ for a query validated by ReportQuerySerializer."""
    return HealthSnapshot(query["window"], detail=WORST_DETAIL).report()


def check_document(query: dict) -> CheckDocument:
    """The document of GET check/ for a query validated by CheckQuerySerializer."""
    given = {t.name: query.get(t.name) for t in thresholds()}
    return HealthSnapshot(query["window"], **given).check()


def path_document(query: dict) -> PathDocument:
    """The document of GET path/ for a query validated by ReportQuerySerializer."""
    return HealthSnapshot(query["window"]).path()
