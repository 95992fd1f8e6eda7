"""Test settings: the example project's, with the database chosen by the same environment
variables (EVENTDEBUG_DATABASE=sqlite|postgres, PG*), and a Redis key prefix of this run's own so
that tests never touch keys they did not create."""

import tempfile
import uuid
from pathlib import Path

from example_settings.settings import *  # noqa: F403
from example_settings.settings import CHANNEL_LAYERS, DATABASES

RUN_PREFIX = f"edtest-{uuid.uuid4().hex[:8]}"
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = RUN_PREFIX

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The overflow capture handler is installed by the tests that exercise it (tests/overflow/test_handler.py),
# so overflow records caused by other tests never reach the database of a test counting rows; the
# maintenance thread is run by the tests of it (tests/maintenance/), so no thread of a test process
# (started as `pytest`, a service by its name) writes or purges rows behind another test.
EVENTDEBUG = {"CAPTURE": False, "MAINTENANCE": False}
# SQLite tests run on a file, not in memory: the browser tests' live server is another process
# that must see the rows the test wrote.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"{RUN_PREFIX}.sqlite3")}
