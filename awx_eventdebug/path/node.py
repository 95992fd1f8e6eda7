"""This node as AWX configures it: the Redis at ``settings.BROKER_URL`` holding the callback
queue and wsrelay's stats, and the node's role in AWX's instance table (awx/main/models/ha.py).

In AWX every node has a Redis of its own (BROKER_URL is a unix socket to it by default), and
the node's name is settings.CLUSTER_HOST_ID, the ``hostname`` of its Instance row.
"""

from __future__ import annotations

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..awx.tables import table_info
from ..db import diagnostic_cursor
from ..errors import Misconfigured
from ..secrets import mask_secrets

# AWX's defaults (awx/settings/defaults.py) when the settings do not say.
DEFAULT_CALLBACK_QUEUE = "callback_tasks"
INSTANCE_TABLE = "main_instance"
# Roles in AWX's Instance.Types; wsrelay runs on the nodes with a web service only.
WEB_ROLES = ("control", "hybrid")
# Most instance hostnames read to name wsrelay's remote nodes: a cluster has a few dozen.
MAX_INSTANCES = 1000


def callback_queue() -> str:
    """The Redis list CallbackQueueDispatcher RPUSHes events onto (settings.CALLBACK_QUEUE)."""
    return getattr(settings, "CALLBACK_QUEUE", None) or DEFAULT_CALLBACK_QUEUE


def broker_url() -> str:
    url = getattr(settings, "BROKER_URL", None)
    if not url:
        raise Misconfigured(
            "settings.BROKER_URL is not set: the node's Redis (callback queue, wsrelay stats) is unknown.",
            hint="AWX sets it; outside AWX set BROKER_URL to the Redis the callback queue lives in.",
        )
    return str(url)


def broker_label() -> str:
    """BROKER_URL as output shows it: password masked."""
    return mask_secrets(broker_url())


def broker_client(timeout: float) -> redis.Redis:
    """A client of BROKER_URL (unix://, redis://, rediss://, with or without a password) with
    connect and command timeouts and no retries, as every Redis connection of the app."""
    return redis.Redis.from_url(
        broker_url(), socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


def instances() -> dict[str, str] | None:
    """hostname -> node_type of AWX's instances, or None where the table does not exist."""
    if not table_info(INSTANCE_TABLE).exists:
        return None
    with diagnostic_cursor() as cursor:
        cursor.execute(
            f"SELECT hostname, node_type FROM {INSTANCE_TABLE} ORDER BY hostname LIMIT %s",  # noqa: S608
            [MAX_INSTANCES],
        )
        return dict(cursor.fetchall())
