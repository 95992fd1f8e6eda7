"""Run every ``eventdebug`` subcommand and every endpoint once, in this process, against the
services the environment names (a fault test points them at a refused, blackholed, slow or
password-protected target), and print one JSON line per target: its exit code or HTTP status,
seconds taken, and everything it printed or answered.

Usage: python -m tests.support.fault_probe TARGET...
TARGET: a subcommand line; a path (asked for as the API's clients do, authenticated without a
query); or ``html:`` and a path (asked for as a browser does: HTML, signed in by the session
cookie PROBE_SESSION, which the database looks up).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from io import StringIO

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def probe(target: str) -> dict:
    from django.core.management import CommandError, call_command
    from django.db import connection

    from awx_eventdebug import db

    # Each target is timed as the first of its process: not helped by a connect failure that an
    # earlier target left in memory.
    db._unreachable.clear()
    started = time.monotonic()
    out, err = StringIO(), StringIO()
    try:
        if target.startswith("html:"):
            result = {"status": get_page(target.removeprefix("html:"), out)}
        elif target.startswith("/"):
            result = {"status": get(target, out)}
        else:
            try:
                call_command("eventdebug", *target.split(), stdout=out, stderr=err)
                result = {"exit": 0}
            except CommandError as exc:
                err.write(f"CommandError: {exc}")
                result = {"exit": exc.returncode}
    except BaseException:  # what the probe looks for: a traceback instead of an answer
        err.write(traceback.format_exc())
        result = {"exit": "traceback", "status": "traceback"}
    finally:
        connection.close()
    return {
        "target": target,
        "seconds": time.monotonic() - started,
        "output": out.getvalue() + err.getvalue(),
        **result,
    }


def get(path: str, out: StringIO) -> int:
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    client = APIClient()
    # Authenticated without a query: the database may be the fault under test.
    client.force_authenticate(User(username="probe", is_superuser=True))
    response = client.get(path)
    out.write(response.content.decode(errors="replace"))
    return response.status_code


def get_page(path: str, out: StringIO) -> int:
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_ACCEPT="text/html")
    client.cookies[settings.SESSION_COOKIE_NAME] = os.environ["PROBE_SESSION"]
    response = client.get(path)
    out.write(f"Content-Type: {response['Content-Type']}\n{response.content.decode(errors='replace')}")
    return response.status_code


def main(targets: list[str]) -> None:
    import django
    from django.test.utils import override_settings

    django.setup()
    # The test client's host is "testserver", which the example settings do not allow outside a test run.
    override_settings(
        EVENTDEBUG=json.loads(os.environ.get("PROBE_EVENTDEBUG", "{}")), ALLOWED_HOSTS=["testserver"]
    ).enable()
    for target in targets:
        print(json.dumps(probe(target)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
