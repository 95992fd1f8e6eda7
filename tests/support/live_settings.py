"""Settings of the browser tests' live server, a daphne process serving example_settings.asgi:
the test settings, on the database and Redis key prefix of the test that started it (passed in
the environment by tests/support/daphne_server.py)."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import CHANNEL_LAYERS, DATABASES

DATABASES["default"]["NAME"] = os.environ["EVENTDEBUG_LIVE_DATABASE"]
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["EVENTDEBUG_LIVE_REDIS_PREFIX"]
# example_settings.asgi serves the static files itself in DEBUG, as runserver would.
DEBUG = True
