from contextlib import contextmanager
from datetime import timedelta

import redis
from django.utils import timezone

from tests.support.redis_servers import redis_server
from tests.support.workloads import add_job


@contextmanager
def node_named(settings, name: str):
    """This process as AWX node ``name`` whose Redis (BROKER_URL) is a server of its own, with an
    event stored a minute ago (a window without any is idle, not ok); yields a client of that
    Redis."""
    add_job("system_job", timezone.now() - timedelta(minutes=1), [0.5])
    with redis_server() as port:
        settings.CLUSTER_HOST_ID = name
        settings.BROKER_URL = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis(port=port, socket_timeout=5)
        yield client
        client.close()
