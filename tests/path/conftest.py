from contextlib import contextmanager

import redis

from tests.support.redis_servers import redis_server


@contextmanager
def node_named(settings, name: str):
    """This process as AWX node ``name`` whose Redis (BROKER_URL) is a server of its own; yields
    a client of that Redis."""
    with redis_server() as port:
        settings.CLUSTER_HOST_ID = name
        settings.BROKER_URL = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis(port=port, socket_timeout=5)
        yield client
        client.close()
