"""Settings of one web node of a simulated AWX cluster serving GET metrics/ to a real Prometheus
(tests/health/test_prometheus_server.py): node_settings' node (NODE_ID, NODE_REDIS_URL), open to
an anonymous scraper as METRICS_ALLOW_ANONYMOUS opens it."""

from tests.support.node_settings import *  # noqa: F403
from tests.support.node_settings import EVENTDEBUG

EVENTDEBUG["METRICS_ALLOW_ANONYMOUS"] = True
