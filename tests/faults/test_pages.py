"""Every HTML page's error path renders without the database: with PostgreSQL refused, refusing
the role, or out of connections, the dashboard and every endpoint's browsable page, asked for by
a signed-in browser (whose session the database looks up), answer 503 with a page naming the
database, within BOUND: never a 500 or a traceback. Endpoints without an HTML face answer their
own 503 naming the database. Each is enumerated from urls.py, run in a fresh process
(tests/support/fault_probe.py).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from awx_eventdebug import urls
from tests.support.fault_sweep import base_environment, endpoint_path, out_of_connections, run_probes, sick

pytestmark = pytest.mark.postgres_only(reason="a PostgreSQL of the run's own to break")

# The endpoints answering a browser with a page: a renderer of HTML among their renderers.
PAGES = {
    pattern.name
    for pattern in urls.urlpatterns
    if any(renderer.media_type == "text/html" for renderer in pattern.callback.view_class.renderer_classes)
}


def test_the_dashboard_and_the_browsable_api_are_pages():
    assert {"dashboard", "overflow", "check"} <= PAGES and "metrics" not in PAGES


@contextmanager
def database(fault: str):
    """(environment variables, port the database is reached at) of ``fault``."""
    real_port = int(connection.settings_dict["PORT"] or 5432)
    if fault == "healthy":
        yield {}, real_port
    elif fault == "out of connections":
        with out_of_connections() as env:
            yield env, real_port
    else:
        with sick("postgres", fault) as (env, port):
            yield env, port


# Transactional: the probes' own processes must find the signed-in user's session.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", ["healthy", "refused", "wrong credentials", "out of connections"])
def test_every_page_answers_503_without_the_database(fault, stand_in_rebuilt):
    browser = Client()
    browser.force_login(get_user_model().objects.create_superuser("admin", "admin@example.invalid", "pw"))
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    probes = {pattern.name: f"html:{endpoint_path(pattern.name)}" for pattern in urls.urlpatterns}
    with database(fault) as (env, port):
        answers = run_probes({**base_environment(), **env, "PROBE_SESSION": session}, probes)
    problems = []
    for name, answer in answers.items():
        output, status = answer["output"], answer["status"]
        page = output.startswith("Content-Type: text/html")
        if name in PAGES and not page:
            problems.append(f"{name}: not a page: {output[:200]}")
        if fault == "healthy":
            if status != 200:
                problems.append(f"{name}: {status} {output[-400:]}")
            continue
        if status != 503 or "Traceback" in output:
            shown = output[output.index("Traceback") :] if "Traceback" in output else output
            problems.append(f"{name}: {status} {shown[-400:]}")
        elif f"database postgresql 127.0.0.1:{port}/" not in output:
            problems.append(f"{name}: does not name the database at 127.0.0.1:{port}: {output[-400:]}")
    assert not problems, "\n".join(p[:500] for p in problems)
