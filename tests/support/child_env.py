"""The environment of a child process that must use the test run's own database and Redis
(tests.settings, the test database by name), for tests that kill or break a real process."""

from __future__ import annotations

import os

from tests.conftest import REDIS_URL


def django_child_environment() -> dict:
    from django.db import connection

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "EVENTDEBUG_REDIS_URL": REDIS_URL}
    database = connection.settings_dict
    if connection.vendor == "postgresql":
        env.update(
            EVENTDEBUG_DATABASE="postgres",
            PGHOST=database["HOST"],
            PGPORT=str(database["PORT"]),
            PGUSER=database["USER"],
            PGDATABASE=database["NAME"],
        )
    else:
        env.update(EVENTDEBUG_DATABASE="sqlite", EVENTDEBUG_SQLITE_PATH=database["NAME"])
    return env
