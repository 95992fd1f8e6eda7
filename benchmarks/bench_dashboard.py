"""The dashboard's own costs, each against a baseline measured in the same run.

(a) Serving the page (test client, superuser) versus the doctor report it renders
    (build_report() alone): what the view and template add; and the two tables the server renders
    (overflow summary over OVERFLOW_ROWS rows, the channel layer's groups and queues) against the
    same baseline.
(b) The live gauge's handling of one websocket event message in Debian's Chromium (parse, lag,
    counter gaps, window of 1024) versus a bare JSON.parse of the same message; and one redraw of
    the figures (statistics over 1024 events), which happens at most once per animation frame.

    python benchmarks/bench_dashboard.py [--repeat 30] [--messages 20000]

Runs on a temporary SQLite database and the Redis of the example settings.
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from common import ROOT, setup_django

STATIC = ROOT / "awx_eventdebug" / "static" / "awx_eventdebug"

GAUGE_PAGE = """<!doctype html><html><body data-csrf-cookie="csrftoken">
<p id="status"></p><span id="job"></span><span id="mean"></span><span id="stdev"></span><span id="max"></span>
<span id="rate"></span><span id="count"></span><span id="gaps"></span><button id="stop"></button>
<script src="{static}/api.js"></script><script src="{static}/gauge.js"></script></body></html>"""

# Run in the page with execute_script(script, messages); returns costs per message and per redraw.
GAUGE_SCRIPT = (Path(__file__).parent / "bench_dashboard_gauge.js").read_text()


def median_ms(function, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# Overflow rows of the page's summary table: 50 groups over 20 one-minute windows.
OVERFLOW_GROUPS = 50
OVERFLOW_WINDOWS = 20


def add_overflow_rows():
    from datetime import UTC, datetime, timedelta

    from awx_eventdebug.overflow.upsert import Counts, add_counts

    start = datetime.now(UTC) - timedelta(hours=1)
    rows = {}
    for window in range(OVERFLOW_WINDOWS):
        at = start + timedelta(minutes=window)
        for group in range(OVERFLOW_GROUPS):
            rows[("bench", f"job_events-{group}", at, "live")] = Counts(at, at, 1 + group, 1 + group, 1)
    add_counts(rows)


def page_versus_report(repeat):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from awx_eventdebug.dashboard.tables import overflow_table, queues_table
    from awx_eventdebug.health.doctor import build_report
    from awx_eventdebug.health.report import health_window

    call_command(
        "seed_awx_events", "--jobs", "5", "--events", "200", "--since", "1h", stdout=open(os.devnull, "w")
    )
    add_overflow_rows()
    client = Client(HTTP_HOST="127.0.0.1")  # ALLOWED_HOSTS of the example settings
    client.force_login(get_user_model().objects.create_superuser("bench", "bench@example.invalid", "bench"))

    def get_page():
        assert client.get("/api/eventdebug/").status_code == 200

    get_page()  # warm the template cache and the Redis connection

    def tables():
        overflow_table(health_window(timezone.now()))
        queues_table()

    return median_ms(get_page, repeat), median_ms(build_report, repeat), median_ms(tables, repeat)


def gauge_costs(messages):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    page = Path(tempfile.mkdtemp()) / "gauge.html"
    page.write_text(GAUGE_PAGE.format(static=STATIC.as_uri()))
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(page.as_uri())
        driver.execute_script(GAUGE_SCRIPT, 2000)  # warm the JIT
        return driver.execute_script(GAUGE_SCRIPT, messages)
    finally:
        driver.quit()


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30, help="page requests timed (median)")
    parser.add_argument("--messages", type=int, default=20000, help="websocket messages fed to the gauge")
    args = parser.parse_args()
    setup_django()
    page_ms, report_ms, tables_ms = page_versus_report(args.repeat)
    gauge = gauge_costs(args.messages)
    assert gauge["received"] == args.messages, gauge  # every message went through the whole path
    rows = [
        ("GET the dashboard page", f"{page_ms:.1f} ms", f"{page_ms / report_ms:.2f}x"),
        ("build_report() alone (baseline)", f"{report_ms:.1f} ms", "1.00x"),
        ("the two tables of the page", f"{tables_ms:.1f} ms", f"{tables_ms / report_ms:.2f}x"),
        (
            "gauge: one event message",
            f"{gauge['receive_us']:.2f} us",
            f"{gauge['receive_us'] / gauge['parse_us']:.2f}x",
        ),
        ("JSON.parse of it alone (baseline)", f"{gauge['parse_us']:.2f} us", "1.00x"),
        ("gauge: one redraw (1024 events)", f"{gauge['render_us']:.1f} us", ""),
    ]
    width = max(len(row[0]) for row in rows)
    print(f"{'measure':<{width}}  {'median/mean':>12}  {'ratio':>6}")
    for name, value, ratio in rows:
        print(f"{name:<{width}}  {value:>12}  {ratio:>6}")


if __name__ == "__main__":
    main()
