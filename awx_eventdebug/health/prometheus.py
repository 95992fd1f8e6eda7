"""GET metrics/: the health figures (HealthSnapshot.metrics()) as a prometheus_client collector,
exposed in the text format 0.0.4 or OpenMetrics, whichever the scraper asks for, as
prometheus_client's own handler negotiates (AWX's /api/v2/metrics/ is built on the same library).

Label values are bounded whatever the workload: event kinds, group kinds (``job_events``, never a
group name such as ``job_events-<id>``: awx.messages.group_kind), node names and
the sections. A queue name changes with every process restart, so queues are exported as per-node
aggregates; per-group and per-queue detail stays in the JSON endpoints. Thresholds are never part
of a name: alerts compare values.

Each family is of a scope (docs/report.md, "One cluster, several web nodes"): a ``node`` family is
this node's own figures (its queues as read now, its build), exported by every scraped node; a
``cluster`` family is read from the shared database (lag, drops, every node's snapshot) and
exported only by the node holding the reporter's lease (health/reporter.py), so that ``sum`` over
the scraped instances counts each figure once, whatever the number of web nodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry
from prometheus_client.utils import floatToGoString

from ..awx.messages import GROUP_KINDS, OTHER_GROUP_KIND
from ..jsondoc import rounded
from ..lag.histogram import BOUNDS, LagCounters
from ..overflow.record import node_name
from ..path.judge import JudgedPath
from ..path.registry import hops, thresholds
from ..sections import attempt
from ..timeutil import format_duration
from ..window import Window
from .doctor import versions
from .report import health_window
from .reporter import claim
from .snapshot import HealthSnapshot

PREFIX = "awx_eventdebug_"


@dataclass(frozen=True)
class Family:
    name: str  # without PREFIX; a counter's without _total
    kind: str  # gauge, counter or histogram
    labels: tuple[str, ...]
    help: str  # "{window}" is replaced by the window's length
    scope: str = "cluster"  # or "node": see the module's docstring


FAMILIES = (
    # As exporters expose their build (prometheus_build_info, node_exporter_build_info): always 1,
    # the versions in its labels, so a query can join them to any other series of the instance.
    Family(
        "build_info",
        "gauge",
        ("version", "django", "channels", "channels_redis"),
        "Always 1: the versions of awx-eventdebug, Django, channels and channels-redis this process runs.",
        "node",
    ),
    Family(
        "up",
        "gauge",
        ("section",),
        "1 when the section could be read at this scrape, 0 when it failed (cluster sections only on the "
        "reporting node).",
        "node",
    ),
    Family(
        "cluster_reporter",
        "gauge",
        ("node",),
        "1 on the node exporting the cluster-wide series (the reporter's lease), 0 on the others.",
        "node",
    ),
    Family(
        "window_seconds", "gauge", (), "Length of the window (HEALTH_WINDOW, ending now) of the lag counts."
    ),
    Family(
        "event_lag_seconds",
        "histogram",
        ("kind",),
        "Event lag (modified - created) of the events stored since the reporter's origin, from the "
        "lag rollups.",
    ),
    Family(
        "event_lag_events",
        "gauge",
        ("kind",),
        "Events with a lag (created set, modified later), stored in the last {window}.",
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
        "Group messages channels_redis dropped ('over capacity' records captured live) since the capture "
        "was installed, including purged rows; never the records `eventdebug ingest` read from logs.",
    ),
    Family(
        "queues", "gauge", ("node",), "Channel layer queues holding messages in this node's Redis.", "node"
    ),
    Family(
        "queue_messages",
        "gauge",
        ("node",),
        "Messages in all channel layer queues of this node's Redis.",
        "node",
    ),
    Family(
        "queues_full",
        "gauge",
        ("node",),
        "Queues at capacity: channels_redis drops what is sent to them.",
        "node",
    ),
    Family(
        "queue_max_fill_ratio",
        "gauge",
        ("node",),
        "Fill of the fullest queue, 0 to 1 of its capacity.",
        "node",
    ),
    Family(
        "queue_max_oldest_message_age_seconds",
        "gauge",
        ("node",),
        "Age of the oldest message of any queue.",
        "node",
    ),
    # The critical path: each node as of its latest snapshot (and, derived from the hops' thresholds
    # by path_families(), the per-node figures the check bounds).
    Family(
        "node_snapshot_age_seconds",
        "gauge",
        ("node",),
        "Age of the node's latest snapshot; stale beyond SAMPLE_STALE_INTERVALS of its intervals.",
    ),
    Family(
        "node_snapshot_stale",
        "gauge",
        ("node",),
        "1 when the node's latest snapshot is older than SAMPLE_STALE_INTERVALS of its intervals.",
    ),
)


def path_families() -> tuple[Family, ...]:
    """A per-node gauge for each threshold of a hop read on each node whose metric is not one of
    FAMILIES: the worst of those figures is what the check bounds; one gauge for the cluster of a
    threshold whose figure is the hop's cluster-wide read."""
    declared = {family.name for family in FAMILIES}
    return tuple(
        Family(t.metric, "gauge", () if t.cluster_wide else ("node",), t.metric_help or f"{t.help}.")
        for hop in hops()
        if hop.snapshot_key
        for t in hop.thresholds
        if t.metric not in declared
    )


def families() -> tuple[Family, ...]:
    return FAMILIES + path_families()


# The names of a family's samples beside its own: a counter's, a histogram's.
SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}


def metric_names() -> tuple[str, ...]:
    """What ?metric= accepts: each family's name, and its samples' names (_total, _bucket...)."""
    names = [PREFIX + family.name for family in families()]
    return (*names, *(PREFIX + f.name + end for f in families() for end in SAMPLE_SUFFIXES.get(f.kind, ())))


def family_named(metric: str) -> str:
    """A name ?metric= accepts -> the family's name without PREFIX."""
    for family in families():
        if metric in (
            PREFIX + family.name,
            *(PREFIX + family.name + end for end in SAMPLE_SUFFIXES.get(family.kind, ())),
        ):
            return family.name
    return metric.removeprefix(PREFIX)


class HealthCollector:
    """The families of one scrape of ``data`` (HealthSnapshot.metrics()), ``only`` those named:
    the node's own, and the cluster's when this node reports them."""

    def __init__(self, data: dict, only: Iterable[str] = ()):
        self.data = data
        self.only = {family_named(metric) for metric in only}

    def collect(self) -> Iterator[Metric]:
        window: Window = self.data["window"]
        length = format_duration((window.until - window.since).total_seconds())
        samples = self.samples(window)
        reporting = self.data["reporter"] is not None and self.data["reporter"].reporting
        for family in families():
            if (self.only and family.name not in self.only) or (family.scope == "cluster" and not reporting):
                continue
            name, documentation = PREFIX + family.name, family.help.format(window=length)
            if family.kind == "histogram":
                metric = HistogramMetricFamily(name, documentation, labels=family.labels)
                for labels, (buckets, total) in samples.get(family.name, ()):
                    metric.add_metric(labels, buckets, total)
                yield metric
                continue
            factory = CounterMetricFamily if family.kind == "counter" else GaugeMetricFamily
            metric = factory(name, documentation, labels=family.labels)
            for labels, value in samples.get(family.name, ()):
                metric.add_metric(labels, rounded(value))
            yield metric

    def samples(self, window: Window) -> dict[str, list[tuple[list[str], Any]]]:
        """{family name: [(label values, value)]}; a histogram's value is (buckets, sum)."""
        data, node = self.data, node_name()
        reporter, layer = data["reporter"], data["channel_layer"]
        out: dict[str, list] = {
            "build_info": [(build_labels(), 1)],
            "up": [(["reporter"], int(reporter is not None)), (["channel_layer"], int(layer is not None))],
            "cluster_reporter": [([node], int(reporter is not None and reporter.reporting))],
            "window_seconds": [([], (window.until - window.since).total_seconds())],
        }
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
        if reporter is None or not reporter.reporting:
            return out
        lag, counters, drops = data["lag"], data["lag_counters"], data["overflow"]
        for section in ("lag", "lag_histogram", "overflow", "path"):
            value = counters if section == "lag_histogram" else data[section]
            out["up"].append(([section], int(value is not None)))
        if lag is not None:
            out["up"] += [([f"lag_{kind}"], int(stats is not None)) for kind, stats in lag["kinds"].items()]
            kinds = {kind: stats for kind, stats in lag["kinds"].items() if stats is not None}
            for name, key in (
                ("event_lag_events", "count"),
                ("events_missing_created", "missing_created_count"),
                ("events_backfilled_created", "backfilled_count"),
                ("events_negative_lag", "negative_count"),
            ):
                out[name] = [([kind], stats[key]) for kind, stats in kinds.items()]
        if counters is not None:
            out["event_lag_seconds"] = [
                ([kind], (histogram_buckets(found), rounded(found.total))) for kind, found in counters.items()
            ]
        if drops is not None:
            out["overflow_drops"] = drops_samples(drops, data["path"], node)
        if data["path"] is not None:
            out.update(path_samples(data["path"]))
        return out


def drops_samples(drops: dict, judged: JudgedPath | None, here: str) -> list[tuple[list[str], int]]:
    """The drops counters, at 0 for every group kind of every node known (this one, those with a
    snapshot or with drops) before its first drop: a series born with its first drops would
    hide them from ``increase()`` and the alert (a series' first sample is no increase)."""
    nodes = {here, *(node for node, _ in drops), *(n["node"] for n in (judged.nodes if judged else ()))}
    kinds = (*GROUP_KINDS, OTHER_GROUP_KIND)
    return [([node, kind], drops.get((node, kind), 0)) for node in sorted(nodes) for kind in kinds]


def histogram_buckets(counters: LagCounters) -> list[tuple[str, int]]:
    """(le, cumulative count) pairs, +Inf last, as prometheus_client writes a histogram."""
    pairs = zip(BOUNDS, counters.buckets, strict=True)
    return [(floatToGoString(bound), count) for bound, count in pairs] + [("+Inf", counters.count)]


@cache
def build_labels() -> list[str]:
    """build_info's label values, read once: a process runs the versions it imported at start
    whatever pip has installed since."""
    found = versions()
    return [found[name] or "" for name in ("awx-eventdebug", "Django", "channels", "channels-redis")]


def path_samples(judged: JudgedPath) -> dict[str, list[tuple[list[str], float]]]:
    """The critical path's families, one sample per node whose figure was read (a node is
    CLUSTER_HOST_ID: as bounded as the cluster)."""
    out = {
        "node_snapshot_age_seconds": [([node["node"]], node["age_seconds"]) for node in judged.nodes],
        "node_snapshot_stale": [([node["node"]], int(node["stale"])) for node in judged.nodes],
    }
    metrics = {t.name: t for t in thresholds()}
    for family in path_families():
        out[family.name] = []
    for node, figures in judged.node_figures.items():
        for name, value in figures.items():
            threshold = metrics[name]
            if value is not None and threshold.metric in out and not threshold.cluster_wide:
                out[threshold.metric].append(([node], value * threshold.metric_scale))
    for threshold in metrics.values():
        value = judged.figures.get(threshold.figure_key)
        if threshold.cluster_wide and value is not None and threshold.metric in out:
            out[threshold.metric].append(([], value * threshold.metric_scale))
    return out


def metrics_reading() -> dict:
    """The figures of one scrape of GET metrics/: this node takes or renews the reporter's lease,
    then reads its own families, and the cluster's when it holds the lease. Shared by the
    process's scrapes for HEALTH_CACHE seconds (health/cache.py): the lease is renewed far more
    often than it expires."""
    reporter, error = attempt(lambda: claim(node_name(), timezone.now()))
    data = HealthSnapshot(health_window(timezone.now()), explain=False).metrics(reporter)
    if error:
        data["errors"]["reporter"] = error
    return data


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
