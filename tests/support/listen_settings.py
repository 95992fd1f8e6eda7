"""Settings for `manage.py eventdebug listen` run as a subprocess by the tests: the channel layer
uses the prefix the test passes in EVENTDEBUG_TEST_PREFIX, so that the test sees its keys."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import CHANNEL_LAYERS

CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["EVENTDEBUG_TEST_PREFIX"]
