"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium through Debian's
chromedriver (same source package, so always the browser's version; docs/dashboard.md says why
not Playwright), against a daphne server of the example project on the test database and a Redis
key prefix of the test's own. Screenshots go to artifacts/.

`make test` installs Chromium when missing (scripts/ensure-chromium.sh). The overflow and queues
tables get their browser tests once their endpoints (issues 4 and 5) are merged.
"""

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from example_settings.awxschema.schema import create_schema, drop_schema
from tests.daphne_server import ARTIFACTS, LiveServer
from tests.workloads import small_workload

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1300",
)
PAGE = "/api/eventdebug/"
WAIT = 20  # seconds; generous for a 2-core machine shared with other suites

# The daphne process reads what the test writes: rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium or chromedriver is missing; run scripts/ensure-chromium.sh (make test does)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in CHROMIUM_ARGS:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def seeded():
    """A small workload in the last hour; the stand-in AWX tables are rebuilt afterwards, because
    a transactional test's rows (and PostgreSQL partitions) would outlive it."""
    now = datetime.now(UTC)
    yield small_workload(since=now - timedelta(minutes=50), until=now - timedelta(minutes=10))
    drop_schema(connection)
    create_schema(connection)


@pytest.fixture
def daphne_server(redis_layer_settings, key_prefix, request):
    server = LiveServer(connection.settings_dict["NAME"], key_prefix, f"{request.node.name}.server.log")
    yield server
    server.stop()


def log_in(browser, daphne_server):
    """Logs the browser in as a superuser through a session cookie; returns the cookie."""
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.invalid", "pw"))
    session = client.cookies["sessionid"].value
    # A cookie can only be set on a page of its domain.
    browser.get(daphne_server.url + "/static/awx_eventdebug/dashboard.css")
    browser.add_cookie({"name": "sessionid", "value": session, "path": "/"})
    return session


def screenshot(browser, name):
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"dashboard-{name}.png"))


def get_json(daphne_server, path, session):
    request = urllib.request.Request(
        daphne_server.url + path, headers={"Accept": "application/json", "Cookie": f"sessionid={session}"}
    )
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        return json.load(response)


def test_anonymous_user_is_redirected_to_login(browser, daphne_server):
    browser.get(daphne_server.url + PAGE)
    WebDriverWait(browser, WAIT).until(lambda b: "/admin/login/" in b.current_url)
    assert browser.current_url == f"{daphne_server.url}/admin/login/?next={PAGE}"
    assert browser.find_element(By.NAME, "username")
    screenshot(browser, "anonymous-login")


def test_page_shows_health_and_one_chart_point_per_minute(browser, daphne_server, seeded):
    session = log_in(browser, daphne_server)
    browser.get(daphne_server.url + PAGE)
    chart = WebDriverWait(browser, WAIT).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#lag-chart svg[data-points]")
    )[0]
    query = "kind=job&since=1h&by=minute&percentiles=50,95,99"  # what the page asks for by default
    lag = get_json(daphne_server, f"/api/eventdebug/lag/?{query}", session)
    minutes = len(lag["groups"])
    assert minutes > 0
    assert chart.get_attribute("data-points") == str(minutes)
    for series in ("p50", "p95", "p99"):
        assert len(browser.find_elements(By.CSS_SELECTOR, f"#lag-chart circle.{series}")) == minutes
    summary = browser.find_element(By.ID, "lag-summary").text
    assert f"{lag['count']:,} events" in summary
    health = browser.find_element(By.ID, "health").text
    assert "The doctor found no problems" in health
    assert "unreachable" not in health
    screenshot(browser, "timeline")


def test_window_selector_reloads_the_timeline(browser, daphne_server, seeded):
    log_in(browser, daphne_server)
    browser.get(daphne_server.url + PAGE)
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#lag-chart svg"))
    first = browser.find_element(By.CSS_SELECTOR, "#lag-chart svg")
    browser.find_element(By.CSS_SELECTOR, "#lag-window option[value='6h']").click()
    # The chart is redrawn: a new svg element replaces the first one.
    WebDriverWait(browser, WAIT).until(
        lambda b: (
            b.find_elements(By.CSS_SELECTOR, "#lag-chart svg")
            and b.find_element(By.CSS_SELECTOR, "#lag-chart svg") != first
        )
    )


def send_job_events(job_id, counters, lag_seconds):
    """What AWX's callback receiver sends for each saved event: an internal.message whose text is
    the serialized event, to the group job_events-<id>."""

    async def send():
        layer = get_channel_layer()
        for counter in counters:
            created = datetime.now(UTC) - timedelta(seconds=lag_seconds)
            event = {
                "group_name": "job_events",
                "job": job_id,
                "counter": counter,
                "event": "runner_on_ok",
                "created": created.isoformat(),
            }
            message = {"type": "internal.message", "text": json.dumps(event)}
            await layer.group_send(f"job_events-{job_id}", message)

    async_to_sync(send)()


def gauge_text(browser, name):
    return browser.find_element(By.ID, f"gauge-{name}").text


def test_gauge_shows_live_lag_of_events_sent_through_the_channel_layer(browser, daphne_server):
    log_in(browser, daphne_server)
    browser.get(daphne_server.url + PAGE)
    browser.find_element(By.ID, "gauge-job").send_keys("4242")
    browser.find_element(By.CSS_SELECTOR, "#gauge-form button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: "Subscribed to job_events-4242" in gauge_text(b, "status"))
    # Idle for longer than redis-py 8's default socket_timeout (5 s): the consumer's blocking
    # receive must survive it (W052), or the socket closes and the events below are lost.
    time.sleep(6)
    assert "Subscribed to job_events-4242" in gauge_text(browser, "status")

    counters = [c for c in range(1, 22) if c != 10]  # counter 10 never arrives: one gap
    send_job_events(4242, counters, lag_seconds=1.5)
    WebDriverWait(browser, WAIT).until(lambda b: gauge_text(b, "count") == str(len(counters)))

    average = float(gauge_text(browser, "avg").removesuffix(" s"))
    maximum = float(gauge_text(browser, "max").removesuffix(" s"))
    stdev = float(gauge_text(browser, "stdev").removesuffix(" s"))
    # now - created at arrival: the 1.5 s the events were backdated, plus delivery time.
    assert 1.5 <= average <= maximum < 10
    assert 0 <= stdev < 5
    assert gauge_text(browser, "gaps") == "1"
    assert float(gauge_text(browser, "rate")) > 0
    assert "Receiving events of job_events-4242" in gauge_text(browser, "status")
    screenshot(browser, "gauge")


def test_gauge_says_when_the_socket_is_refused(browser, daphne_server):
    log_in(browser, daphne_server)
    browser.get(daphne_server.url + PAGE)
    daphne_server.stop()
    browser.find_element(By.ID, "gauge-job").send_keys("7")
    browser.find_element(By.CSS_SELECTOR, "#gauge-form button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: "refused or unreachable" in gauge_text(b, "status"))
    assert "Retrying in 1 s" in gauge_text(browser, "status")
    # Exponential backoff: the next failed attempt waits twice as long.
    WebDriverWait(browser, WAIT).until(lambda b: "Retrying in 2 s" in gauge_text(b, "status"))
    screenshot(browser, "gauge-refused")
