"""Three simulated AWX nodes: three redis-servers (each node's own Redis, as in AWX), service
processes with different CLUSTER_HOST_IDs whose maintenance threads write snapshots into one
database, and ``path`` reading them."""

import threading
import time
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from awx_eventdebug.health.params import path_document
from awx_eventdebug.models import NodeSnapshot
from awx_eventdebug.window import Window
from tests.support.awx_callback import CALLBACK_QUEUE, backlog_events, dispatch
from tests.support.redis_servers import redis_server
from tests.support.service_node import start_node, wait_for

INTERVAL = 1.0
STALE_INTERVALS = 3
NODES = ("node-a", "node-b", "node-c")
SLOW_NODE = "node-b"


def drain_slowly(client: redis.Redis, stop: threading.Event) -> None:
    """A callback receiver far too slow for its backlog: 20 events a second."""
    while not stop.wait(0.1):
        client.lpop(CALLBACK_QUEUE, 2)


def current_path(settings) -> dict:
    now = timezone.now()
    return path_document({"window": Window(now - timedelta(minutes=15), now)})


@pytest.mark.django_db(transaction=True)
def test_path_names_the_slow_node_and_a_killed_node_turns_stale(settings):
    settings.EVENTDEBUG = {"SAMPLE_STALE_INTERVALS": STALE_INTERVALS}
    stop = threading.Event()
    processes = {}
    with redis_server() as port_a, redis_server() as port_b, redis_server() as port_c:
        ports = dict(zip(NODES, (port_a, port_b, port_c), strict=True))
        slow = redis.Redis(port=ports[SLOW_NODE], socket_timeout=5)
        dispatch(slow, backlog_events(3000, oldest_age=30.0))
        drainer = threading.Thread(target=drain_slowly, args=(slow, stop), daemon=True)
        drainer.start()
        try:
            # node-a runs two processes, as AWX runs many per node: still one sample per interval.
            processes = {node: [start_node(node, port, INTERVAL)] for node, port in ports.items()}
            processes["node-a"].append(start_node("node-a", ports["node-a"], INTERVAL))

            def every_node_sampled_twice():
                counts = {node: NodeSnapshot.objects.filter(node=node).count() for node in NODES}
                return all(count >= 2 for count in counts.values())

            wait_for(every_node_sampled_twice, 60, "two snapshots of every node")
            doc = current_path(settings)
            assert doc["first_over"] == {"hop": 3, "node": SLOW_NODE}
            assert doc["headline"].startswith(f"callback receiver on {SLOW_NODE} is ")
            assert "events queued, oldest" in doc["headline"]
            nodes = {n["node"]: n for n in doc["nodes"]}
            assert set(nodes) == set(NODES)
            for node in NODES:
                backlog_hop = next(h for h in nodes[node]["hops"] if h["hop"] == 3)
                assert backlog_hop["verdict"] == ("over" if node == SLOW_NODE else "ok"), backlog_hop
            slow_backlog = nodes[SLOW_NODE]["snapshot"]["backlog"]
            assert slow_backlog["length_events"] > 2000
            assert slow_backlog["oldest_age_seconds"] > 10
            assert slow_backlog["net_per_second"] < 0  # drained (slowly), nothing pushed meanwhile

            # node-c dies: stale once its last snapshot is STALE_INTERVALS intervals old.
            for process in processes["node-c"]:
                process.kill()
                process.wait()
            killed = time.monotonic()
            wait_for(
                lambda: next(n for n in current_path(settings)["nodes"] if n["node"] == "node-c")["stale"],
                30,
                "node-c reported stale",
            )
            # Documented delay: at most (SAMPLE_STALE_INTERVALS + 1) intervals after the node died.
            assert time.monotonic() - killed <= (STALE_INTERVALS + 1) * INTERVAL + 2.0
            doc = current_path(settings)
            assert "stale: node-c" in doc["headline"]
            assert doc["first_over"]["node"] == SLOW_NODE  # still named; node-c is not left out

            # Two processes on node-a, yet one snapshot per slot and no gap of two slots.
            slots = sorted(NodeSnapshot.objects.filter(node="node-a").values_list("slot_start", flat=True))
            assert len(slots) == len(set(slots))
            gaps = [(b - a).total_seconds() for a, b in zip(slots, slots[1:], strict=False)]
            assert gaps and max(gaps) <= 3 * INTERVAL, gaps
        finally:
            stop.set()
            for group in processes.values():
                for process in group:
                    if process.poll() is None:
                        process.terminate()
                    process.wait(10)
            drainer.join(5)
    for group in processes.values():
        for process in group:
            assert "Traceback" not in process.stderr.read()
