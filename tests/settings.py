"""Test settings: the example project's, with the database chosen by the same environment
variables (EVENTDEBUG_DATABASE=sqlite|postgres, PG*), and a Redis key prefix of this run's own so
that tests never touch keys they did not create."""

import uuid

from example_settings.settings import *  # noqa: F403
from example_settings.settings import CHANNEL_LAYERS

RUN_PREFIX = f"edtest-{uuid.uuid4().hex[:8]}"
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = RUN_PREFIX

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The overflow capture handler is installed by the tests that exercise it (tests/test_capture.py),
# so overflow records caused by other tests never reach the database of a test counting rows.
EVENTDEBUG = {"CAPTURE": False}
