import os
import uuid

import pytest
import redis

from awx_eventdebug.health.cache import READINGS
from example_settings.settings import redis_host

REDIS_URL = os.environ.get("EVENTDEBUG_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_client():
    """The real Redis server; the suite fails (not skips) when it is down."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is not reachable ({exc}); `make test` starts it.")
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis_client):
    """A channel layer prefix of this test's own; its keys are deleted afterwards (SCAN)."""
    prefix = f"edtest-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def redis_layer_settings(settings, key_prefix):
    """CHANNEL_LAYERS['default'] on the real Redis, with this test's own prefix. socket_timeout
    None as the example project (W052): redis-py 8's 5 s default would end a consumer's blocking
    receive with a TimeoutError whenever a test on a loaded machine idles that long."""
    host = redis_host(REDIS_URL)
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [host], "prefix": key_prefix, "capacity": 100},
        }
    }
    return settings.CHANNEL_LAYERS["default"]


def pytest_collection_modifyitems(config, items):
    """Skip the tests marked ``postgres_only(reason=...)`` when the run is on SQLite."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    for item in items:
        marker = item.get_closest_marker("postgres_only")
        if marker is not None:
            needs = marker.kwargs.get("reason", "PostgreSQL behaviour")
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL only ({needs}); this run is on SQLite"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (``item.report_call``), for fixtures that save
    evidence of a failure, such as the browser tests' page text."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def pytest_sessionfinish(session, exitstatus):
    """Delete the keys left under the run's own prefix (tests/settings.py RUN_PREFIX) by tests
    that use the default layer rather than the ``key_prefix`` fixture."""
    from django.conf import settings

    prefix = getattr(settings, "RUN_PREFIX", None)
    if not prefix:
        return
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # Redis down: the run has failed already, there is nothing of ours to delete
    finally:
        client.close()


@pytest.fixture
def capture_installed(settings):
    """The app's own capture installation on channels_redis.core, writing every 0.2 s."""
    from awx_eventdebug.overflow import install as capture

    settings.EVENTDEBUG = {"CAPTURE_FLUSH_INTERVAL": 0.2}
    handler = capture.install()
    yield handler
    capture.uninstall()


def pytest_report_header(config):
    import channels
    import channels_redis
    import rest_framework
    from django.conf import settings
    from django.utils.version import get_version

    database = settings.DATABASES["default"]
    where = (
        database["NAME"]
        if database["ENGINE"].endswith("sqlite3")
        else f"{database['HOST']}:{database['PORT']}"
    )
    return [
        f"database: {database['ENGINE'].rsplit('.', 1)[-1]} ({where}); redis: {REDIS_URL}",
        f"Django {get_version()}, channels {channels.__version__}, channels_redis "
        f"{channels_redis.__version__}, DRF {rest_framework.__version__}, redis-py {redis.__version__}",
    ]


@pytest.fixture
def node_redis(settings):
    """A node, node-t, with a Redis of its own at BROKER_URL, which is also its channel layer's."""
    from tests.support.redis_servers import redis_server

    with redis_server() as port:
        url = f"redis://127.0.0.1:{port}/0"
        settings.CLUSTER_HOST_ID = "node-t"
        settings.BROKER_URL = url
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}
        }
        client = redis.Redis(port=port, socket_timeout=5)
        yield client
        client.close()


@pytest.fixture
def stand_in_rebuilt():
    """The stand-in AWX tables rebuilt after the test: a transactional test's rows (and
    PostgreSQL partitions) would outlive it."""
    from django.db import connection

    from example_settings.awxschema.schema import rebuild_schema

    yield
    rebuild_schema(connection)


@pytest.fixture(autouse=True)
def lag_sums_forgotten():
    """What a process summed of the final lag rollups (lag/histogram.py, lag/reuse.py) holds for
    the database it read; each test's database is another."""
    from awx_eventdebug.lag import histogram, reuse

    yield
    histogram._FINAL.clear()
    reuse.forget()


@pytest.fixture(autouse=True)
def unshared_health_readings():
    """Each test reads the health anew: a reading another test's data made is never served."""
    READINGS.clear()
