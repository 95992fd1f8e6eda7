"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium through Debian's
chromedriver (same source package, so always the browser's version; docs/dashboard.md says why
not Playwright), against a daphne server of the example project on the test database and a Redis
key prefix of the test's own. Screenshots go to artifacts/.

`make test` installs Chromium when missing (scripts/ensure-chromium.sh).
"""

import asyncio
import io
import json
import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from awx_eventdebug.overflow import install as capture
from example_settings.awxschema.models import JobEvent
from example_settings.awxschema.overflow import overflow_groups
from example_settings.awxschema.schema import rebuild_schema
from tests.api.test_markup import HOSTILE, HOSTILE_HTML
from tests.conftest import REDIS_URL
from tests.listen.counter_vectors import BOUNDS, VECTORS, as_expected, steps_seen
from tests.settings import CHANNEL_LAYERS
from tests.support import ROOT
from tests.support.capture_helpers import drops_by_group
from tests.support.daphne_server import ARTIFACTS, LiveServer
from tests.support.workloads import add_job, add_job_with_quiet_events, small_workload

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
WAIT = 30  # seconds; generous for a loaded 2-core machine shared with other suites

# The daphne process reads what the test writes: rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser(request):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium or chromedriver is missing; run scripts/ensure-chromium.sh (make test does)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in CHROMIUM_ARGS:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for save_failed_page
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        save_failed_page(driver, request.node.name)
    driver.quit()


def save_failed_page(driver, name):
    """What the page showed when a test failed (a wait timing out says nothing by itself): its
    text, the browser console and a screenshot, next to the server log in artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        text = driver.execute_script("return document.body ? document.body.innerText : ''")
        console = "\n".join(str(entry) for entry in driver.get_log("browser"))
        (ARTIFACTS / f"{name}.page.txt").write_text(
            f"{driver.current_url}\n\n{text}\n\nconsole:\n{console}\n"
        )
        driver.save_screenshot(str(ARTIFACTS / f"{name}.failed.png"))
    except WebDriverException as exc:  # the browser itself is what failed
        (ARTIFACTS / f"{name}.page.txt").write_text(f"page unavailable: {exc}\n")


@pytest.fixture
def seeded():
    """A small workload in the last hour; the stand-in AWX tables are rebuilt afterwards, because
    a transactional test's rows (and PostgreSQL partitions) would outlive it."""
    now = datetime.now(UTC)
    yield small_workload(since=now - timedelta(minutes=50), until=now - timedelta(minutes=10))
    rebuild_schema(connection)


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


def open_dashboard(browser, daphne_server, query=""):
    """Logs the browser in (log_in) and opens the dashboard; returns the session cookie."""
    session = log_in(browser, daphne_server)
    browser.get(daphne_server.url + PAGE + query)
    return session


def screenshot(browser, name, section=None):
    """The window, or only one section of the page (those below the fold)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = str(ARTIFACTS / f"dashboard-{name}.png")
    if section:
        element = browser.find_element(By.ID, section)
        browser.execute_script("arguments[0].scrollIntoView()", element)
        element.screenshot(path)
    else:
        browser.save_screenshot(path)


def get_json(daphne_server, path, session):
    """The JSON of a GET by the logged-in user, outside the browser."""
    request = urllib.request.Request(
        daphne_server.url + path, headers={"Accept": "application/json", "Cookie": f"sessionid={session}"}
    )
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        return json.load(response)


def test_a_browser_signs_in_at_the_login_page_as_in_awx(browser, daphne_server):
    """Basic-auth credentials in the URL are not a session: the browser is sent to the session
    login at AWX's path (/api/login/, the example project's as AWX's), and back after it."""
    get_user_model().objects.create_superuser("admin", "admin@example.invalid", "pw")
    with_credentials = daphne_server.url.replace("://", "://admin:pw@")
    browser.get(with_credentials + PAGE)
    WebDriverWait(browser, WAIT).until(lambda b: "/api/login/" in b.current_url)
    assert browser.current_url == f"{with_credentials}/api/login/?next={PAGE}"
    screenshot(browser, "anonymous-login")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys("pw")
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.ID, "verdict"))
    assert browser.current_url == with_credentials + PAGE


def minute_buckets():
    """From the seeded rows themselves: the minutes (of `modified`) holding job events, and those
    holding at least one event with a lag (created set, not after modified), which get points."""
    minutes, with_lag, events = set(), set(), 0
    for created, modified in JobEvent.objects.values_list("created", "modified"):
        minute = modified.replace(second=0, microsecond=0)
        minutes.add(minute)
        if created is not None and modified >= created:
            with_lag.add(minute)
            events += 1
    return minutes, with_lag, events


def test_page_shows_health_and_one_chart_point_per_minute(browser, daphne_server, seeded):
    minutes, with_lag, events = minute_buckets()
    assert len(minutes) > 5
    session = open_dashboard(browser, daphne_server, "?window=1h")  # the seeded 50 minutes
    chart = WebDriverWait(browser, WAIT).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#lag-chart svg[data-points]")
    )[0]
    # The request the page made: percentiles as one comma-separated value, which the real
    # endpoint accepts, and minute keys as ISO 8601 UTC starts of minutes.
    requested = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(u => u.includes('/lag/'))"
    )
    assert len(requested) == 1 and "percentiles=50%2C95%2C99" in requested[0]
    lag = get_json(daphne_server, requested[0].removeprefix(daphne_server.url), session)
    expected = sorted(m.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00Z") for m in minutes)
    assert [group["key"] for group in lag["groups"]] == expected
    # One group per minute with events, from the real lag endpoint (seeded: the last 50 minutes).
    assert chart.get_attribute("data-points") == str(len(minutes))
    for series in ("p50", "p95", "p99"):
        assert len(browser.find_elements(By.CSS_SELECTOR, f"#lag-chart circle.{series}")) == len(with_lag)
    summary = browser.find_element(By.ID, "lag-summary").text
    assert summary.startswith(f"{events:,} events · p50 ")
    health = browser.find_element(By.ID, "health").text
    assert "The doctor found no problems" in health
    assert "unreachable" not in health
    screenshot(browser, "timeline")


def api_requests(browser, path):
    """The URLs of the page's requests to an endpoint."""
    return browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(u => u.includes(arguments[0]))",
        path,
    )


def test_one_window_chosen_on_the_page_covers_every_section(browser, daphne_server, seeded):
    open_dashboard(browser, daphne_server)
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#lag-chart svg"))
    assert "over the last 15m" in browser.find_element(By.ID, "verdict").text
    browser.find_element(By.CSS_SELECTOR, "#page-window option[value='6h']").click()
    # The page loads again for that window: a link to it.
    WebDriverWait(browser, WAIT).until(lambda b: b.current_url.endswith("?window=6h"))
    WebDriverWait(browser, WAIT).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#lag-chart svg[data-points]")
    )
    assert "over the last 6h" in browser.find_element(By.ID, "verdict").text
    for section in ("lag", "overflow", "worst-jobs", "path"):
        assert "the last 6h" in browser.find_element(By.ID, section).text, section
    # Every script's request asks for the same window: the charts', and the refreshes'.
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "document.getElementById('overflow-refresh').click();"
        "document.getElementById('worst-jobs-refresh').click();"
        "EventDebug.refreshVerdict('check/', document.getElementById('verdict'), '6h').then(done);"
    )
    WebDriverWait(browser, WAIT).until(lambda b: len(api_requests(b, "/overflow/summary/")) == 2)
    WebDriverWait(browser, WAIT).until(lambda b: api_requests(b, "/report/"))
    for path in ("/lag/", "/overflow/summary/", "/check/", "/report/"):
        requested = api_requests(browser, path)
        assert requested and all("since=6h" in url for url in requested), path
    assert "over the last 6h" in browser.find_element(By.ID, "verdict").text


def table_rows(browser, name):
    """The cells' text of each body row of the overflow or queues table, read in one script call
    (the refresh may replace the table between two WebDriver calls)."""
    return browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]),"
        " row => Array.from(row.cells, cell => cell.innerText))",
        f"#{name}-table tbody tr",
    )


def queue_rows(browser):
    """The queues table's rows once the script drew it (at load, with its depth trend), the trend
    cell left out: the server's columns."""
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#queues-table td.trend"))
    return [row[:2] + row[3:] for row in table_rows(browser, "queues")]


def header(browser, name, index):
    return browser.find_elements(By.CSS_SELECTOR, f"#{name}-table th")[index].text


@pytest.fixture
def captured_overflow(settings, key_prefix):
    """A real overflow: channels_redis drops the messages of groups whose member never reads, and
    the app's capture handler, installed as in AWX, records them; written at once by a flush. The
    layer's prefix is not the live server's, so these groups stay out of its queues table."""
    settings.EVENTDEBUG = {"CAPTURE_FLUSH_INTERVAL": 3600}
    handler = capture.install()
    layer = RedisChannelLayer(hosts=[REDIS_URL], prefix=f"{key_prefix}-overflow", capacity=2)

    async def overflow():
        await overflow_groups(layer, {"job_events-49": 6, "broadcast-group_send": 3})
        await layer.close_pools()

    try:
        asyncio.run(overflow())
        assert handler.flush(timeout=10)
    finally:
        capture.uninstall()
    # Capacity 2 and one queue for both groups: 4 drops, then every broadcast is dropped.
    assert drops_by_group() == {"job_events-49": 4, "broadcast-group_send": 3}
    return drops_by_group()


def test_overflow_table_lists_the_captured_groups(browser, daphne_server, captured_overflow):
    open_dashboard(browser, daphne_server)
    # Most drops first, both within the page's window.
    expected = [["job_events-49", "4"], ["broadcast-group_send", "3"]]
    # Rendered by the server: readable before (and without) any script.
    assert [row[:2] for row in table_rows(browser, "overflow")] == expected
    status = "2 groups dropped 7 messages in the last 15m"
    assert status in browser.find_element(By.ID, "overflow-status").text
    assert header(browser, "overflow", 6) == "First seen (UTC)"  # the server's UTC time
    # The script's refresh from GET overflow/summary/ draws the same rows, times in local time.
    served = browser.find_element(By.CSS_SELECTOR, "#overflow-table table")
    browser.find_element(By.ID, "overflow-refresh").click()
    WebDriverWait(browser, WAIT).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#overflow-table table") != served
    )
    rows = table_rows(browser, "overflow")
    assert [row[:2] for row in rows] == expected
    assert header(browser, "overflow", 6) == "First seen"  # the browser's local time
    assert status in browser.find_element(By.ID, "overflow-status").text
    screenshot(browser, "overflow", section="overflow")


def test_worst_jobs_refresh_with_the_other_tables(browser, daphne_server, stand_in_rebuilt):
    """The worst-jobs table, rendered by the server, is refreshed from GET report/ as the other
    tables are from theirs: the same cells and links, and the jobs stored since the page loaded."""
    now = datetime.now(UTC)
    first = add_job("job", now - timedelta(minutes=5), [1.0, 2.0])
    open_dashboard(browser, daphne_server)
    served = table_rows(browser, "worst-jobs")
    assert [row[:2] for row in served] == [[str(first), "job"]]
    link = browser.find_element(By.CSS_SELECTOR, "#worst-jobs-table a").get_attribute("href")
    worse = add_job("project_update", now - timedelta(minutes=4), [5.0, 9.0])
    # Events whose job is gone (job_id NULL): listed under no job, with nothing to link to.
    gone = add_job("job", now - timedelta(minutes=3), [1.0, 1.5])
    JobEvent.objects.filter(job_id=gone).update(job_id=None)
    browser.find_element(By.ID, "worst-jobs-refresh").click()
    WebDriverWait(browser, WAIT).until(lambda b: len(table_rows(b, "worst-jobs")) == 3)
    rows = table_rows(browser, "worst-jobs")
    assert rows[1] == served[0] and rows[0][:2] == [str(worse), "project_update"]
    assert rows[2][:2] == ["–", "job"]
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#worst-jobs-table a")]
    assert links == [f"{daphne_server.url}/#/jobs/project/{worse}/output", link]
    status = browser.find_element(By.ID, "worst-jobs-status").text
    assert status == "The 3 jobs with the highest p99 lag in the last 15m, worst first:"


def queue_key(prefix, channel):
    """channels_redis's queue of a process channel: the prefix and the name up to its `!`."""
    return prefix + channel[: channel.index("!") + 1]


def test_queues_table_shows_a_real_queue_filling(browser, daphne_server, key_prefix):
    """Two layer instances (two AWX processes) on the live server's prefix: the first one's queue
    holds the messages of both groups its channels joined, the second one's only a few."""
    first = RedisChannelLayer(hosts=[REDIS_URL], prefix=key_prefix, capacity=100)
    second = RedisChannelLayer(hosts=[REDIS_URL], prefix=key_prefix, capacity=100)
    channels = {}

    async def fill(sends):
        if not channels:
            channels["job"] = await first.new_channel()
            channels["broadcast"] = await first.new_channel()
            channels["other"] = await second.new_channel()
            await first.group_add("job_events-77", channels["job"])
            await first.group_add("broadcast-group_send", channels["broadcast"])
            await second.group_add("broadcast-group_send", channels["other"])
        for group, count in sends.items():
            for _ in range(count):
                await first.group_send(group, {"type": "x"})
        await first.close_pools()
        await second.close_pools()

    asyncio.run(fill({"job_events-77": 7, "broadcast-group_send": 5}))
    capacity = CHANNEL_LAYERS["default"]["CONFIG"]["capacity"]  # the live server's
    first_queue = queue_key(key_prefix, channels["job"])
    other_queue = queue_key(key_prefix, channels["other"])

    open_dashboard(browser, daphne_server)
    rows = queue_rows(browser)
    assert [row[1] for row in rows] == [first_queue, other_queue]
    assert sorted(rows[0][2].split(", ")) == ["broadcast-group_send", "job_events-77"]
    assert rows[0][3:7] == ["12", "0", f"{capacity:,}", f"{100 * 12 / capacity:.1f} %"]
    assert rows[1][2:4] == ["broadcast-group_send", "5"]
    status = browser.find_element(By.ID, "queues-status").text
    assert status.startswith("2 groups · 3 members · 2 queues")

    asyncio.run(fill({"job_events-77": 4}))
    browser.find_element(By.ID, "queues-refresh").click()
    WebDriverWait(browser, WAIT).until(lambda b: queue_rows(b)[0][3] == "16")
    assert queue_rows(browser)[1][3] == "5"
    screenshot(browser, "queues", section="queues")


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
    open_dashboard(browser, daphne_server)
    browser.find_element(By.ID, "gauge-job").send_keys("4242")
    browser.find_element(By.CSS_SELECTOR, "#gauge-form button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: "Subscribed to job_events-4242" in gauge_text(b, "status"))
    # Idle for longer than redis-py 8's default socket_timeout (5 s): the consumer's blocking
    # receive must survive it (W052), or the socket closes and the events below are lost. The
    # idle time itself is what is tested, and load only lengthens it: a sleep, not a poll.
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
    # The rolling plot: a point for each second events arrived in.
    plot = WebDriverWait(browser, WAIT).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#gauge-plot svg polyline.p50")
    )[0]
    assert plot.get_attribute("points")
    points = int(browser.find_element(By.CSS_SELECTOR, "#gauge-plot svg").get_attribute("data-points"))
    assert 1 <= points <= 30
    screenshot(browser, "gauge", section="gauge")


def test_gauge_tells_gaps_awx_never_sent_from_lost_ones(browser, daphne_server, stand_in_rebuilt):
    # A stored job whose counter 10 had no output (AWX never sends it) and 15 had: one loss.
    job = add_job_with_quiet_events(datetime.now(UTC) - timedelta(minutes=5), 21, quiet=(10,))
    open_dashboard(browser, daphne_server)
    browser.find_element(By.ID, "gauge-job").send_keys(str(job))
    browser.find_element(By.CSS_SELECTOR, "#gauge-form button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: f"Subscribed to job_events-{job}" in gauge_text(b, "status"))
    send_job_events(job, [c for c in range(1, 22) if c not in (10, 15)], lag_seconds=0.5)
    WebDriverWait(browser, WAIT).until(lambda b: gauge_text(b, "gaps") == "1 lost of 2")
    title = browser.find_element(By.ID, "gauge-gaps").get_attribute("title")
    assert title == "Of the 2 checked: 1 lost, 1 not sent by AWX (no output)."


def test_a_refusal_reads_as_its_fields_and_reasons(browser, daphne_server):
    """What the gauge's tooltip and the tables show when the API refuses a query (a 400 naming
    each field), not the body's JSON."""
    open_dashboard(browser, daphne_server)
    message = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const ns = window.EventDebug;"
        "ns.getJSON(ns.apiURL('listen/gaps/', {job: 99999, missing: '1'})).then("
        "  () => done('answered'), (err) => done(err.message));"
    )
    assert message == "HTTP 400: job: no job with id 99999 in main_unifiedjob."


def test_gauge_counts_counter_gaps_by_the_rule_of_listen(browser, daphne_server):
    """gauge.js's CounterGaps, in the page as served, passes the vectors that live/stats.py's
    passes (tests/listen/test_stats.py): the same figures and ranges after every step."""
    open_dashboard(browser, daphne_server)
    bounds, reports = browser.execute_script(
        "const Rule = window.EventDebug.CounterGaps;"
        "return [Rule.bounds, arguments[0].map(([horizon, steps]) => {"
        "  const gaps = horizon === null ? new Rule() : new Rule(horizon);"
        "  return steps.map((seen) => {"
        "    seen.forEach((counter) => gaps.add(counter));"
        "    return JSON.parse(JSON.stringify(gaps));"  # a copy: later steps change the ranges
        "  });"
        "})];",
        [(vector.get("horizon"), steps_seen(vector)) for vector in VECTORS],
    )
    assert bounds == BOUNDS
    for vector, steps in zip(VECTORS, reports, strict=True):
        for step, report in zip(vector["steps"], steps, strict=True):
            assert as_expected(report, step["expected"]) == step["expected"], (vector["name"], step["seen"])


def test_gauge_says_when_the_socket_is_refused(browser, daphne_server):
    open_dashboard(browser, daphne_server)
    daphne_server.stop()
    browser.find_element(By.ID, "gauge-job").send_keys("7")
    browser.find_element(By.CSS_SELECTOR, "#gauge-form button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: "refused or unreachable" in gauge_text(b, "status"))
    assert "Retrying in 1 s" in gauge_text(browser, "status")
    # Exponential backoff: the next failed attempt waits twice as long.
    WebDriverWait(browser, WAIT).until(lambda b: "Retrying in 2 s" in gauge_text(b, "status"))
    screenshot(browser, "gauge-refused")


@pytest.fixture
def failing_check(key_prefix, captured_overflow):
    """What the check fails on, all at once: a job whose events took 12 s (p99 over
    CHECK_MAX_P99), the captured drops, and a queue of the live server's layer at capacity (its
    member never reads; filled with one pipelined ZADD rather than 10,000 sends)."""
    add_job("job", datetime.now(UTC) - timedelta(minutes=5), [0.5] * 10 + [12.0] * 10)
    capacity = CHANNEL_LAYERS["default"]["CONFIG"]["capacity"]
    layer = RedisChannelLayer(hosts=[REDIS_URL], prefix=key_prefix, capacity=capacity)

    async def join():
        channel = await layer.new_channel()
        await layer.group_add("job_events-88", channel)
        await layer.close_pools()
        return channel

    key = queue_key(key_prefix, asyncio.run(join()))
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    now = time.time()
    client.zadd(key, {f"message-{n}": now for n in range(capacity)})
    client.expire(key, 600)
    client.close()
    yield key
    rebuild_schema(connection)


def full_page_screenshot(browser, name):
    """The whole page, however long: the window grows to the document for one screenshot."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = browser.get_window_size()
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(size["width"], max(size["height"], height + 140))
    browser.save_screenshot(str(ARTIFACTS / f"dashboard-{name}.png"))
    browser.set_window_size(size["width"], size["height"])


def test_the_verdicts_code_shows_as_code_and_nothing_else_as_markup(browser, daphne_server):
    """verdict.js redraws a cause's sentences as verdict.html renders them (api/markup.py)."""
    open_dashboard(browser, daphne_server)
    cause = {"hop": 4, "name": "callback receiver", "node": "", "runbook": "docs/runbook.md#x"}
    check = {
        "status": "failed",
        "failures": [HOSTILE],
        "causes": [{**cause, "cause": HOSTILE, "evidence": HOSTILE, "remedy": HOSTILE}],
        "unchecked": [HOSTILE],
        "figures": {},
        "thresholds": {},
        "clock_skew": {"findings": [HOSTILE]},
        "websocket_rate": {"findings": [HOSTILE]},
        "unread": {"clock_skew": HOSTILE},
    }
    shown = browser.execute_script(
        "EventDebug.showVerdict(document.getElementById('verdict'), arguments[0], '15m');"
        "const lines = document.getElementById('verdict-lines');"
        "return [lines.innerHTML, lines.querySelectorAll('img, script').length];",
        check,
    )
    assert shown[0].count(HOSTILE_HTML) == 8 and shown[1] == 0
    assert f'<span class="badge note">ui</span> {HOSTILE_HTML}' in shown[0]
    assert f'<span class="remedy">Remedy: {HOSTILE_HTML}</span>' in shown[0]


def test_failing_check_full_queue_and_drops_are_the_headline(browser, daphne_server, failing_check):
    open_dashboard(browser, daphne_server)
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-status") == "failed"
    text = verdict.text
    assert text.startswith("FAILED 3 checks failed")
    assert "lag p99 of job events is" in text and "above the maximum 10 s" in text
    assert "channels_redis dropped 7 group messages in the window, above the maximum 0 drops" in text
    assert f"queue {failing_check} is 100% full" in text
    # verdict.js redraws the hops' threshold rows from GET check/ as the server rendered them.
    rendered = browser.find_element(By.ID, "verdict-figures").text
    assert (
        "Drops (worst node)\n7 drops · max 0 drops" in rendered
        and "Fullest queue\n100.0% · max 80%" in rendered
    )
    # Each hop over its threshold names its cause and remedy, as verdict.js redraws them too.
    lines = browser.find_element(By.ID, "verdict-lines").text
    assert "cause hop 7 group_send on " in lines and "The channel layer drops websocket messages" in lines
    assert "Remedy: " in lines and "MAX_WEBSOCKET_EVENT_RATE" in lines
    assert "Runbook: /api/eventdebug/runbook/#the-channel-layer-drops-websocket-messages" in lines
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "document.getElementById('verdict-figures').replaceChildren();"
        "document.getElementById('verdict-lines').replaceChildren();"
        "EventDebug.refreshVerdict('check/', document.getElementById('verdict'), '15m').then(done);"
    )
    assert browser.find_element(By.ID, "verdict-figures").text == rendered
    assert browser.find_element(By.ID, "verdict-lines").text == lines

    # The full queue: marked in colour and in words, its name on one line (no break in the hash).
    [row] = [r for r in queue_rows(browser) if r[1] == failing_check]
    assert row[0] == "full" and row[6] == "100.0 %"
    marked = browser.find_element(By.CSS_SELECTOR, "#queues-table tr.marked")
    assert marked.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    key_cell = marked.find_element(By.CSS_SELECTOR, "td.key")
    line = browser.execute_script("return parseFloat(getComputedStyle(arguments[0]).lineHeight)", key_cell)
    assert key_cell.size["height"] < 2 * line

    # The lag chart's threshold line, the events per minute, the drops per minute.
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#lag-chart .threshold"))
    threshold = browser.find_element(By.CSS_SELECTOR, "#lag-chart .threshold")
    assert threshold.get_attribute("data-threshold") == "10"
    assert "max p99 10.00 s" in threshold.text
    events = browser.find_element(By.CSS_SELECTOR, "#lag-events svg")
    assert events.get_attribute("data-total") == "20"
    drops = WebDriverWait(browser, WAIT).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#drops-chart svg[data-total]")
    )[0]
    assert drops.get_attribute("data-total") == "7"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#drops-chart rect.bar")) >= 1
    full_page_screenshot(browser, "failing-check")


def test_log_scale_toggle_redraws_the_lag_chart(browser, daphne_server, failing_check):
    add_job("job", datetime.now(UTC) - timedelta(minutes=30), [0.3] * 10)  # a quiet minute
    open_dashboard(browser, daphne_server, "?window=1h")  # the quiet minute in it
    WebDriverWait(browser, WAIT).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#lag-chart svg[data-scale]")
    )

    def lowest_p50_height():
        return browser.execute_script(
            "const dots = document.querySelectorAll('#lag-chart circle.p50');"
            "const axis = document.querySelector('#lag-chart svg').getAttribute('height') - 28;"
            "return axis - Math.max(...Array.from(dots, dot => +dot.getAttribute('cy')));"
        )

    linear = lowest_p50_height()
    browser.find_element(By.ID, "lag-log").click()
    WebDriverWait(browser, WAIT).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#lag-chart svg").get_attribute("data-scale") == "log"
    )
    # A 12 s p99 squeezes a 0.3 s p50 to the axis on a linear scale; on a log scale it stands up.
    assert lowest_p50_height() > 3 * linear
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#lag-chart text")]
    assert "0.1 s" in labels and "10 s" in labels
    screenshot(browser, "lag-log", section="lag")


def test_queue_depth_sparklines_grow_with_each_sample(browser, daphne_server, failing_check):
    open_dashboard(browser, daphne_server)
    selector = "#queues-table td.trend svg.sparkline"
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, selector))
    for samples in (2, 3):  # at least: the page's own 10 s sampling may add one
        browser.find_element(By.ID, "queues-refresh").click()
        # Each refresh redraws the table: an element found just before it is gone ("stale").
        WebDriverWait(browser, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda b, samples=samples: (
                int(b.find_element(By.CSS_SELECTOR, selector).get_attribute("data-samples")) >= samples
            )
        )
    assert header(browser, "queues", 2) == "Depth trend"  # after the queue's name
    screenshot(browser, "queues-sparklines", section="queues")


# Run in the page: each table cell shown (a narrow page hides the header row, which each cell
# repeats as its label) whose box sticks out of its table's box or of the viewport.
CLIPPED_CELLS = """
const viewport = document.documentElement.clientWidth;
const clipped = [];
document.querySelectorAll('.table-wrap').forEach(wrap => {
  const box = wrap.getBoundingClientRect();
  wrap.querySelectorAll('td, th').forEach(cell => {
    const rect = cell.getBoundingClientRect();
    if (!rect.width) return;
    if (rect.left < Math.max(box.left, 0) - 0.5 || rect.right > Math.min(box.right, viewport) + 0.5)
      clipped.push(wrap.id + ': ' + cell.innerText + ' ' + rect.left + '..' + rect.right);
  });
});
return clipped;
"""

# Run in the page: the threshold label's box, the legend's boxes and the lowest y (the highest
# point on screen) of every series' line and dots, in the chart's coordinates.
CHART_LAYOUT = """
const svg = document.querySelector('#lag-chart svg');
const box = element => { const b = element.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; };
const ys = [];
svg.querySelectorAll('polyline.series').forEach(line =>
  line.getAttribute('points').split(' ').forEach(point => ys.push(+point.split(',')[1])));
svg.querySelectorAll('[data-series] circle').forEach(dot =>
  ys.push(+dot.getAttribute('cy') - +dot.getAttribute('r')));
const line = svg.querySelector('.threshold line');
return {
  label: box(svg.querySelector('.threshold text')),
  sample: Array.from(svg.querySelectorAll('.threshold line.sample'), box),
  legend: Array.from(svg.querySelectorAll('.legend text'), box),
  highest: Math.min(...ys),
  line: +line.getAttribute('y1'),
  width: +svg.getAttribute('width'),
};
"""


def overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("width", [1400, 420])
def test_every_column_and_the_threshold_label_are_in_view(browser, daphne_server, failing_check, width):
    log_in(browser, daphne_server)
    browser.set_window_size(width, 900)
    browser.get(daphne_server.url + PAGE)
    WebDriverWait(browser, WAIT).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#lag-chart svg[data-scale]")
    )
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#drops-chart svg"))
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#queues-table td.trend"))
    viewport = browser.execute_script("return document.documentElement.clientWidth")
    # Nothing sticks out of the page sideways, and no cell out of its table's box: the verdict of
    # each hop and the drops per minute of each group included.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= viewport
    assert browser.execute_script(CLIPPED_CELLS) == []
    for table in ("path", "overflow", "queues", "worst-jobs"):
        assert browser.find_elements(By.CSS_SELECTOR, f"#{table}-table td"), table
    verdicts = browser.find_elements(By.CSS_SELECTOR, "#path-table td[data-label=Verdict]")
    assert verdicts and all(cell.is_displayed() and cell.text for cell in verdicts)
    rates = browser.find_elements(By.CSS_SELECTOR, "#overflow-table td[data-label='Drops / min']")
    assert rates and all(cell.is_displayed() and cell.text for cell in rates)
    # The threshold label stands clear of every series, of the threshold line and of the legend.
    chart = browser.execute_script(CHART_LAYOUT)
    assert chart["label"][3] < chart["highest"] and chart["label"][3] < chart["line"]
    marks = [chart["label"], *chart["sample"]]
    assert not any(overlaps(mark, entry) for mark in marks for entry in chart["legend"])
    assert chart["sample"] or width < 600  # its key beside it, where there is room
    assert 0 <= chart["label"][0] and chart["label"][2] <= chart["width"]
    # Charts are drawn at the width they get, so their labels keep their CSS size.
    for name in ("lag-chart", "lag-events", "drops-chart"):
        svg = browser.find_element(By.CSS_SELECTOR, f"#{name} svg")
        container = browser.find_element(By.ID, name)
        assert svg.size["width"] <= container.size["width"]
        label_height = browser.execute_script(
            "return arguments[0].querySelector('text').getBoundingClientRect().height", svg
        )
        assert label_height >= 10, name
    full_page_screenshot(browser, f"width-{width}")
    for section in ("verdict", "lag", "overflow", "path"):  # readable at their own size
        screenshot(browser, f"width-{width}-{section}", section=section)


def demo_seed_args():
    """The demo's workload, as the Makefile's DEMO_SEED_ARGS gives it to make demo."""
    makefile = (ROOT / "Makefile").read_text()
    return re.search(r"^DEMO_SEED_ARGS \?= (.*)$", makefile, re.M).group(1).split()


def test_the_demo_as_the_readme_shows_it(browser, daphne_server, settings, stand_in_rebuilt):
    """What make demo makes (the seeded workload, a slow consumer overflowing on the live
    server's own layer, one snapshot of the node), on the page: the drops, the group, its full
    queue and the verdict naming them. Its screenshot is the README's (make screenshot)."""
    settings.EVENTDEBUG = {"CAPTURE_FLUSH_INTERVAL": 3600}
    # The live server's layer: its prefix, and the example project's capacity.
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] = CHANNEL_LAYERS["default"]["CONFIG"]["capacity"]
    call_command("seed_awx_events", *demo_seed_args(), stdout=io.StringIO())
    capture.install()
    try:
        call_command("make_overflow", "--live-fill", "200", stdout=io.StringIO())
    finally:
        capture.uninstall()
    call_command("eventdebug", "sample", "--interval", "10", stdout=io.StringIO())
    [job] = [group for group in drops_by_group()]

    log_in(browser, daphne_server)
    browser.set_window_size(1400, 1950)  # the verdict with its causes, the setup and the lag chart
    browser.get(daphne_server.url + PAGE + "?window=2h")  # the seeded two hours
    WebDriverWait(browser, WAIT).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#lag-chart svg[data-points]")
    )
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#queues-table td.trend"))
    verdict = browser.find_element(By.ID, "verdict").text
    assert "channels_redis dropped 50 group messages" in verdict and "100% full" in verdict
    assert [row[0] for row in table_rows(browser, "overflow")] == [job]
    status = browser.find_element(By.ID, "queues-status").text
    assert status.startswith("1 groups · 2 members · 2 queues") and "1 full" in status
    assert queue_rows(browser)[0][:3] == ["full", queue_rows(browser)[0][1], job]
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard-demo.png"))


def test_a_status_verdict_js_has_no_words_for_shows_as_itself(browser, daphne_server):
    """verdict.js draws a status the check may add later ("paused", say) as its own badge with
    the check's headline, grey: never OK's green, nor a failure's red."""
    open_dashboard(browser, daphne_server)
    colours = browser.execute_script(
        "const section = document.getElementById('verdict');"
        "const colour = () => getComputedStyle(section.querySelector('.badge')).backgroundColor;"
        "const check = {status: 'ok', failures: [], causes: [], unchecked: [], figures: {}, thresholds: {},"
        " clock_skew: null, websocket_rate: null, unread: {}};"
        "EventDebug.showVerdict(section, check, '15m'); const ok = colour();"
        "EventDebug.showVerdict(section, Object.assign({}, check, {status: 'failed'}), '15m');"
        "const failed = colour();"
        "EventDebug.showVerdict(section, Object.assign({}, check,"
        " {status: 'paused', headline: 'no events stored since 10:04'}), '15m');"
        "return [ok, failed, colour()];"
    )
    assert len(set(colours)) == 3
    title = browser.find_element(By.ID, "verdict-title").text
    assert title == "PAUSED no events stored since 10:04 over the last 15m"
    assert browser.find_element(By.ID, "verdict").get_attribute("class") == "card verdict paused"
