"""Settings of one simulated AWX node, for the processes tests/path starts: the test settings,
with the node's name, its own Redis (BROKER_URL and the channel layer, as in AWX) and its
sampler interval from environment variables."""

import os

from example_settings.settings import redis_host
from tests.settings import *  # noqa: F403
from tests.settings import CHANNEL_LAYERS

CLUSTER_HOST_ID = os.environ["NODE_ID"]
BROKER_URL = os.environ["NODE_REDIS_URL"]
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [redis_host(BROKER_URL)]
EVENTDEBUG = {
    "CAPTURE": True,
    "SAMPLE_INTERVAL": float(os.environ.get("NODE_SAMPLE_INTERVAL", "0")),
    "REDIS_TIMEOUT": float(os.environ.get("NODE_REDIS_TIMEOUT", "1")),
}
