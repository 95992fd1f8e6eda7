"""Send AWX-shaped job event messages from another process, through a real channels_redis layer."""

import asyncio
import multiprocessing

from channels_redis.core import RedisChannelLayer

from example_settings.awxschema.emit import emit_events
from tests.conftest import REDIS_URL


def _send(prefix, kind, job, counters, lag, rate, hosts):
    layer = RedisChannelLayer(hosts=hosts, prefix=prefix, capacity=10000)
    asyncio.run(emit_events(layer, kind, job, counters, lag=lag, rate=rate))


def start_sender(prefix, job, counters, *, kind="job", lag=0.0, rate=None, hosts=(REDIS_URL,)):
    """A started process (spawned: nothing of the test's event loop or sockets is inherited)."""
    process = multiprocessing.get_context("spawn").Process(
        target=_send, args=(prefix, kind, job, list(counters), lag, rate, list(hosts)), daemon=True
    )
    process.start()
    return process
