"""A real Prometheus (Debian's package, the one `make test` installs with promtool) scraping two
app processes acting as two web nodes of one AWX cluster (one database, CLUSTER_HOST_ID web-1 and
web-2), with the shipped alert rules loaded: every Grafana expression and every alert evaluated
through its HTTP API, and the numbers held to what the test wrote, through one scraped node and
through two.

Scrapes every 2 s, rule evaluations every second: the waits are bounded, a few seconds each."""

import json
import math
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from awx_eventdebug.health.reporter import claim
from awx_eventdebug.lag.histogram import BOUNDS
from awx_eventdebug.lag.sketch import RELATIVE_ERROR
from awx_eventdebug.overflow.upsert import Counts, add_counts
from tests.conftest import REDIS_URL
from tests.health.test_report import run
from tests.support.daphne_server import LiveServer
from tests.support.prometheus_server import PrometheusServer, prometheus_binary
from tests.support.service_node import database_env, wait_for
from tests.support.workloads import add_job
from tests.test_contrib import RULES, dashboard_queries

pytestmark = pytest.mark.django_db(transaction=True)  # the app processes read what the test wrote

METRICS_PATH = "/api/eventdebug/metrics/"
NODES = ("web-1", "web-2")
# Grafana's variables as the test substitutes them: a minute holds every sample since the writes.
VARIABLES = {"$__rate_interval": "1m", "$kind": "job"}
DROPS = {"broadcast": ("broadcast-group_send", 20), "job_events": ("job_events-7", 38)}
# The job's lags: 54 events 0.3 s late, 6 events 15 s late (p99 15 s, in the 10-30 s bucket).
LAGS = [0.3] * 54 + [15.0] * 6
JOB_P99 = (
    'histogram_quantile(0.99, sum by (le) (rate(awx_eventdebug_event_lag_seconds_bucket{kind="job"}[1m])))'
)


def web_node(node: str) -> LiveServer:
    environment = {
        **database_env(),
        "DJANGO_SETTINGS_MODULE": "tests.support.metrics_node_settings",
        "NODE_ID": node,
        "NODE_REDIS_URL": REDIS_URL,
        "NODE_CAPTURE": "0",
        "NODE_MAINTENANCE": "0",
    }
    return LiveServer(connection.settings_dict["NAME"], "", f"prometheus-{node}.server.log", environment)


def alerts(server: PrometheusServer) -> list[dict]:
    return server.get("/api/v1/alerts")["data"]["alerts"]


def bucket_of(seconds: float) -> int:
    """The index of the histogram's bucket holding ``seconds``."""
    return next((i for i, bound in enumerate(BOUNDS) if seconds <= bound), len(BOUNDS))


def test_a_real_prometheus_counts_each_cluster_fact_once_through_one_and_two_web_nodes(
    tmp_path, stand_in_rebuilt
):
    prometheus_binary()
    now = timezone.now()
    # web-1 reports, its counters counting from five minutes ago (before any event written here).
    claim("web-1", now - timedelta(minutes=5))
    claim("web-1", now)
    with ExitStack() as stack:
        web = {}
        for node in NODES:
            web[node] = web_node(node)
            stack.callback(web[node].stop)
        servers = {}
        for count in (1, 2):
            targets = [f"127.0.0.1:{web[node].port}" for node in NODES[:count]]
            servers[count] = PrometheusServer(tmp_path / f"{count}-nodes", targets, METRICS_PATH, [RULES])
            stack.callback(servers[count].stop)
        for count, server in servers.items():
            server.wait_ready(timeout=30)
            wait_for(
                lambda server=server, count=count: (
                    len(server.query("count_over_time(up[1m]) >= 2 and up == 1")) == count
                ),
                30,
                f"two scrapes of {count} web nodes",
            )
            # The drops counters exist at 0 before the first drop: the drops to come are a rise.
            assert server.query('awx_eventdebug_overflow_drops_total{group_kind="broadcast"}')

        start = timezone.now()
        add_counts(
            {
                ("web-1", group, start, "live"): Counts(start, start, drops, drops, 2)
                for group, drops in DROPS.values()
            }
        )
        # Stored in the last 80 s: minutes no rollup can have finished yet (LAG_ROLLUP_GRACE).
        add_job("job", start - timedelta(seconds=80), LAGS)

        for count, server in servers.items():
            wait_for(
                lambda server=server: (
                    [a for a in alerts(server) if a["labels"]["alertname"] == "AWXChannelLayerDrops"]
                    and server.query(
                        'max_over_time(awx_eventdebug_event_lag_seconds_count{kind="job"}[1m]) '
                        '- min_over_time(awx_eventdebug_event_lag_seconds_count{kind="job"}[1m]) == 60'
                    )
                ),
                60,
                f"the drops and the events through {count} web nodes",
            )

        _, out, _ = run("check", "--json")
        checked_p99 = json.loads(out)["figures"]["lag_p99_seconds"]
        assert checked_p99 == pytest.approx(15.0, rel=RELATIVE_ERROR)  # from the rollups' sketch

        for count, server in servers.items():
            # N drops read as N, each once.
            drops = server.query("sum by (group_kind) (awx_eventdebug_overflow_drops_total) > 0")
            assert {r["metric"]["group_kind"]: r["value"] for r in drops} == {
                k: n for k, (_, n) in DROPS.items()
            }
            reporters = server.query("sum(awx_eventdebug_cluster_reporter)")
            assert [r["value"] for r in reporters] == [1], count

            # Every Grafana expression evaluates; none counts a cluster series once per node.
            for expr in dashboard_queries():
                if expr.startswith("label_values("):
                    continue
                for variable, value in VARIABLES.items():
                    expr = expr.replace(variable, value)
                result = server.query(expr)
                labels = [json.dumps(r["metric"], sort_keys=True) for r in result]
                assert len(labels) == len(set(labels)), (count, expr)
            per_minute = server.query(
                "sum by (node, group_kind) (rate(awx_eventdebug_overflow_drops_total[1m])) * 60 > 0"
            )
            assert sorted(r["metric"]["group_kind"] for r in per_minute) == ["broadcast", "job_events"]
            [p99] = server.query(JOB_P99)
            # The quantile is exact to the bucket: the same bucket as the check's exact p99.
            assert not math.isnan(p99["value"]) and bucket_of(p99["value"]) == bucket_of(checked_p99), p99

            # Each alert once: the drops fire per node and group kind with their integer counts,
            # the lag waits out its `for` (pending), none twice.
            found = alerts(server)
            keys = [json.dumps(a["labels"], sort_keys=True) for a in found]
            assert len(keys) == len(set(keys)), found
            fired = {
                a["labels"]["group_kind"]: a["annotations"]["summary"]
                for a in found
                if a["labels"]["alertname"] == "AWXChannelLayerDrops"
            }
            assert fired == {
                kind: f"channels_redis dropped {n} {kind} messages on web-1 in the last 10m"
                for kind, (_, n) in DROPS.items()
            }
            lag = [a for a in found if a["labels"]["alertname"] == "AWXEventLagHigh"]
            assert [(a["labels"]["kind"], a["state"]) for a in lag] == [("job", "pending")]
            rules = server.get("/api/v1/rules")["data"]["groups"][0]["rules"]
            assert all(rule["health"] == "ok" for rule in rules), rules
