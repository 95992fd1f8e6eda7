"""GET metrics/: the health figures (HealthSnapshot.metrics()) as a prometheus_client collector,
exposed in the text format 0.0.4 or OpenMetrics, whichever the scraper asks for, as
prometheus_client's own handler negotiates (AWX's /api/v2/metrics/ is built on the same library).

Label values are bounded whatever the workload: event kinds, group kinds (``job_events``, never a
group name such as ``job_events-<id>``: overflow.queries.group_kind_expression), node names and
the sections. A queue name changes with every process restart, so queues are exported as per-node
aggregates; per-group and per-queue detail stays in the JSON endpoints. Thresholds are never part
of a name: alerts compare values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from ..overflow.handler import COUNTER_FIELDS, capture_stats
from ..overflow.record import node_name
from ..path.judge import JudgedPath
from ..path.registry import hops, thresholds
from ..timeutil import format_duration
from ..window import Window
from .doctor import versions

PREFIX = "awx_eventdebug_"


@dataclass(frozen=True)
class Family:
    name: str  # without PREFIX; a counter's without _total
    kind: str  # gauge or counter
    labels: tuple[str, ...]
    help: str  # "{window}" is replaced by the window's length


FAMILIES = (
    # As exporters expose their build (prometheus_build_info, node_exporter_build_info): always 1,
    # the versions in its labels, so a query can join them to any other series of the instance.
    Family(
        "build_info",
        "gauge",
        ("version", "django", "channels", "channels_redis"),
        "Always 1: the versions of awx-eventdebug, Django, channels and channels-redis this process runs.",
    ),
    Family("up", "gauge", ("section",), "1 when the section could be read at this scrape, 0 when it failed."),
    Family(
        "window_seconds", "gauge", (), "Length of the window (HEALTH_WINDOW, ending now) of the lag figures."
    ),
    Family(
        "event_lag_seconds",
        "gauge",
        ("kind", "quantile"),
        "Event lag (modified - created) quantiles of the events stored in the last {window} (HEALTH_WINDOW).",
    ),
    Family(
        "event_lag_events", "gauge", ("kind",), "Events in the lag quantiles, stored in the last {window}."
    ),
    Family(
        "events_missing_created",
        "gauge",
        ("kind",),
        "Events stored in the last {window} without a created time (not in the lag figures).",
    ),
    Family(
        "events_backfilled_created",
        "gauge",
        ("kind",),
        "Events stored in the last {window} whose created AWX's receiver filled in (created = modified; "
        "not in the lag figures).",
    ),
    Family(
        "events_negative_lag",
        "gauge",
        ("kind",),
        "Events stored in the last {window} before they were created (clock skew; not in the lag figures).",
    ),
    Family(
        "overflow_drops",
        "counter",
        ("node", "group_kind"),
        "Group messages channels_redis dropped ('over capacity' records) since the capture was installed, "
        "including purged rows.",
    ),
    Family("queues", "gauge", ("node",), "Channel layer queues holding messages in this node's Redis."),
    Family(
        "queue_messages", "gauge", ("node",), "Messages in all channel layer queues of this node's Redis."
    ),
    Family(
        "queues_full", "gauge", ("node",), "Queues at capacity: channels_redis drops what is sent to them."
    ),
    Family("queue_max_fill_ratio", "gauge", ("node",), "Fill of the fullest queue, 0 to 1 of its capacity."),
    Family(
        "queue_max_oldest_message_age_seconds", "gauge", ("node",), "Age of the oldest message of any queue."
    ),
    *(
        Family(
            f"capture_{counter}",
            "counter",
            ("node",),
            f"{help_text} Counted by this process since it started.",
        )
        for counter, help_text in (
            ("parsed", "channels_redis 'over capacity' records counted by the capture handler."),
            ("ignored", "Other records of the channels_redis.core logger seen by the capture handler."),
            (
                "bounded",
                "Records counted into the shared bucket because CAPTURE_MAX_PENDING_GROUPS was reached.",
            ),
            ("rows_written", "Overflow rows the capture handler wrote (inserted or added to)."),
            (
                "rows_set_aside",
                "Overflow rows the database refused (an unencodable group name): dropped, not retried.",
            ),
            ("flushes", "Writes of the captured aggregate to the database."),
            ("flush_failures", "Writes of the captured aggregate that failed (kept in memory and retried)."),
        )
    ),
    # The critical path: each node as of its latest snapshot (and, derived from the hops' thresholds
    # by path_families(), the per-node figures the check bounds).
    Family(
        "node_snapshot_age_seconds",
        "gauge",
        ("node",),
        "Age of the node's latest snapshot; stale beyond SAMPLE_STALE_INTERVALS of its intervals.",
    ),
)


def path_families() -> tuple[Family, ...]:
    """A per-node gauge for each threshold of a hop read on each node whose metric is not one of
    FAMILIES: the worst of those figures is what the check bounds."""
    declared = {family.name for family in FAMILIES}
    return tuple(
        Family(t.metric, "gauge", ("node",), t.metric_help or f"{t.help}.")
        for hop in hops()
        if hop.snapshot_key
        for t in hop.thresholds
        if t.metric not in declared
    )


def families() -> tuple[Family, ...]:
    return FAMILIES + path_families()


def metric_names() -> tuple[str, ...]:
    """What ?metric= accepts: each family's name, and a counter's sample name with _total too."""
    names = [PREFIX + family.name for family in families()]
    return (*names, *(f"{PREFIX}{f.name}_total" for f in families() if f.kind == "counter"))


def family_named(metric: str) -> str:
    """A name ?metric= accepts -> the family's name without PREFIX."""
    named = {PREFIX + family.name for family in families()}
    return (metric if metric in named else metric.removesuffix("_total")).removeprefix(PREFIX)


class HealthCollector:
    """The families of one scrape of ``data`` (HealthSnapshot.metrics()), ``only`` those named."""

    def __init__(self, data: dict, only: Iterable[str] = ()):
        self.data = data
        self.only = {family_named(metric) for metric in only}

    def collect(self) -> Iterator[Metric]:
        window: Window = self.data["window"]
        length = format_duration((window.until - window.since).total_seconds())
        samples = self.samples(window)
        for family in families():
            if self.only and family.name not in self.only:
                continue
            factory = CounterMetricFamily if family.kind == "counter" else GaugeMetricFamily
            metric = factory(PREFIX + family.name, family.help.format(window=length), labels=family.labels)
            for labels, value in samples.get(family.name, ()):
                metric.add_metric(labels, value)
            yield metric

    def samples(self, window: Window) -> dict[str, list[tuple[list[str], float]]]:
        """{family name: [(label values, value)]}."""
        data, node = self.data, node_name()
        lag, drops, layer = data["lag"], data["overflow"], data["channel_layer"]
        out: dict[str, list] = {
            "build_info": [(build_labels(), 1)],
            "up": [],
            "window_seconds": [([], (window.until - window.since).total_seconds())],
        }
        for section in ("lag", "overflow", "channel_layer", "path"):
            out["up"].append(([section], int(data[section] is not None)))
        if lag is not None:
            out["up"] += [([f"lag_{kind}"], int(stats is not None)) for kind, stats in lag["kinds"].items()]
            kinds = {kind: stats for kind, stats in lag["kinds"].items() if stats is not None}
            out["event_lag_seconds"] = [
                ([kind, quantile(key)], value)
                for kind, stats in kinds.items()
                for key, value in stats["percentiles_seconds"].items()
                if value is not None
            ]
            for name, key in (
                ("event_lag_events", "count"),
                ("events_missing_created", "missing_created_count"),
                ("events_backfilled_created", "backfilled_count"),
                ("events_negative_lag", "negative_count"),
            ):
                out[name] = [([kind], stats[key]) for kind, stats in kinds.items()]
        if drops is not None:
            out["overflow_drops"] = [([n, kind], total) for (n, kind), total in sorted(drops.items())]
        if layer is not None and not layer["note"]:
            summary, fullest = layer["summary"], layer["queues"][:1]
            out["queues"] = [([node], summary["queues"])]
            out["queue_messages"] = [([node], summary["messages"])]
            out["queues_full"] = [([node], summary["full_queues"])]
            out["queue_max_fill_ratio"] = [([node], (q["fill_percent"] or 0.0) / 100) for q in fullest] or [
                ([node], 0.0)
            ]
            if summary["max_oldest_age_seconds"] is not None:
                out["queue_max_oldest_message_age_seconds"] = [([node], summary["max_oldest_age_seconds"])]
        if data["path"] is not None:
            out.update(path_samples(data["path"]))
        handlers: dict[str, dict[str, int]] = {}
        for stats in capture_stats():  # one handler per process; counters add up per node anyway
            totals = handlers.setdefault(stats["node"], {})
            for family in FAMILIES:
                if family.name.startswith("capture_"):
                    counter = family.name.removeprefix("capture_")
                    totals[family.name] = totals.get(family.name, 0) + stats[COUNTER_FIELDS[counter]]
        for handler_node, totals in handlers.items():
            for name, total in totals.items():
                out.setdefault(name, []).append(([handler_node], total))
        return out


@cache
def build_labels() -> list[str]:
    """build_info's label values, read once: a process runs the versions it imported at start
    whatever pip has installed since."""
    found = versions()
    return [found[name] or "" for name in ("awx-eventdebug", "Django", "channels", "channels-redis")]


def path_samples(judged: JudgedPath) -> dict[str, list[tuple[list[str], float]]]:
    """The critical path's families, one sample per node whose figure was read (a node is
    CLUSTER_HOST_ID: as bounded as the cluster)."""
    out = {"node_snapshot_age_seconds": [([node["node"]], node["age_seconds"]) for node in judged.nodes]}
    metrics = {t.name: t for t in thresholds()}
    for family in path_families():
        out[family.name] = []
    for node, figures in judged.node_figures.items():
        for name, value in figures.items():
            threshold = metrics[name]
            if value is not None and threshold.metric in out:
                out[threshold.metric].append(([node], value * threshold.metric_scale))
    return out


def exposition(data: dict, accept: str, only: Iterable[str] = ()) -> tuple[bytes, str]:
    """(body, content type) of ``data`` in the format ``accept`` asks for, as prometheus_client's
    MetricsHandler chooses it (OpenMetrics when asked for, else text 0.0.4).

    Text 0.0.4 ends with a comment per section that failed, naming why (the host or database,
    never a password): scrapers ignore comments, the person reading the page learns what ``up``
    0 means. OpenMetrics allows no comments; ``up`` alone says it there."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HealthCollector(data, only))
    encoder, content_type = choose_encoder(accept)
    body = encoder(registry)
    if content_type.startswith("text/plain"):
        body += "".join(
            f"# {name} unavailable: {' '.join(message.split())}\n" for name, message in data["errors"].items()
        ).encode()
    return body, content_type


def quantile(key: str) -> str:
    """p99.9 -> 0.999"""
    return format(Decimal(key[1:]).scaleb(-2).normalize(), "f")
