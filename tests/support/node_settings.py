"""Settings of one simulated AWX node, for the processes tests/path and tests/maintenance start:
the test settings, with the node's name, its own Redis (BROKER_URL and the channel layer, as in
AWX), its sampling interval, and CAPTURE and MAINTENANCE (default on) from environment variables."""

import os

from example_settings.settings import redis_host
from tests.settings import *  # noqa: F403
from tests.settings import CHANNEL_LAYERS

CLUSTER_HOST_ID = os.environ["NODE_ID"]
BROKER_URL = os.environ["NODE_REDIS_URL"]
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [redis_host(BROKER_URL)]
EVENTDEBUG = {
    "CAPTURE": os.environ.get("NODE_CAPTURE", "1") == "1",
    "MAINTENANCE": os.environ.get("NODE_MAINTENANCE", "1") == "1",
    "SAMPLE_INTERVAL": float(os.environ.get("NODE_SAMPLE_INTERVAL", "0")),
    "REDIS_TIMEOUT": float(os.environ.get("NODE_REDIS_TIMEOUT", "1")),
}
