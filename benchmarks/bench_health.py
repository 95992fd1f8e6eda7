"""Benchmark of the health figures (GET metrics/, `eventdebug check --json`, the dashboard page,
`eventdebug report --json`) against the exact lag statements over the same window, at growing
event counts (docs/report.md quotes its figures).

    python benchmarks/bench_health.py [--sizes 250000,1000000,4000000] [--repeat 5]

Seeds a PostgreSQL database per size, PGDATABASE (default awx_eventdebug_bench_health) and the
size (0 too: the floor, what no event count changes): jobs of 100 events of each kind stored over
the 10 minutes that end LAG_ROLLUP_GRACE plus 2 minutes before the seeding, so every event of the
window is in a final minute (the open minutes, read from the events on every reading, hold none:
their cost is the exact statement's over their events, docs/report.md); then fills its rollups
once, as the maintenance thread would have (timed apart). Then rounds: in each, every size in
turn (the connection moved to its database, one reading untimed, the execution nodes' clock
estimate stored when a minute old, as the maintenance thread keeps it) and each of these once; medians
of --repeat rounds after one to warm up. Sizes measured in the same rounds share the machine's
load, so their ratios hold on a shared machine whose speed drifts:

  exact:     the lag statement of every kind over the window, exact (what each reading ran before);
  metrics:   GET metrics/ with HEALTH_CACHE 0 (one reading per scrape), rendered;
  check:     `eventdebug check --json`;
  dashboard: the dashboard page, rendered (with the doctor, the overflow and queue tables);
  report:    `eventdebug report --json` (its worst jobs exact over the latest events of each kind);
  metrics first, check first: the same, as the first reading of its minute in the process (the
             sum of the window's final minutes read from the rollups, not kept from the reading
             before: lag/reuse.py; the counters' final minutes read too); what a command, a
             process of its own, always pays (besides Python's and Django's start).

Then the largest relative difference of the health lag percentiles from the exact ones, and
the goals: metrics, check and dashboard (the first two as the first reading of a minute too) at
the largest size within 1.5x of the smallest, at least 20x faster than exact at 1M events (or the
size nearest it), every percentile within 1%.
"""

import argparse
import math
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

from common import create_database, print_table, progress, setup_django
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import override_settings

SIZES = (250_000, 1_000_000, 4_000_000)
EVENTS_PER_JOB = 100
SEEDED_MINUTES = 10
# Minutes the window reaches before the seeded events: the readings of every round see them all.
MEASURING_MINUTES = 30


def sizes(text: str) -> tuple[int, ...]:
    values = tuple(sorted(int(value) for value in text.split(",")))
    if not values or values[0] < 1000:
        raise argparse.ArgumentTypeError("sizes of at least 1000 events, comma-separated")
    return values


def empty_tables() -> None:
    from awx_eventdebug.awx.tables import KINDS

    with connection.cursor() as cursor:
        for kind in KINDS.values():
            cursor.execute(f"TRUNCATE {kind.table}")
        cursor.execute("TRUNCATE main_unifiedjob")


def use_database(name: str) -> None:
    """Point the default connection at database ``name``, created and migrated when missing."""
    from awx_eventdebug.lag import histogram, reuse

    connection.close()
    settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = name
    create_database(drop=False)
    call_command("migrate", verbosity=0, stdout=StringIO())
    histogram._FINAL.clear()  # the Prometheus counters' sums of the other database
    reuse.forget()  # its lag windows' sums


def overrides(first: datetime) -> dict:
    """One reading per request, over a window holding every event seeded after ``first``."""
    minutes = math.ceil((datetime.now(UTC) - first).total_seconds() / 60) + MEASURING_MINUTES
    return {"HEALTH_WINDOW": f"{minutes}m", "HEALTH_CACHE": 0}


def add_events(count: int, seed: int) -> None:
    """``count`` events more (rounded to whole jobs) in final minutes."""
    from awx_eventdebug.awx.tables import KINDS
    from awx_eventdebug.conf import get_config
    from example_settings.awxschema.workload import WorkloadSpec, seed_workload

    if not count:
        return
    jobs = max(1, count // (EVENTS_PER_JOB * len(KINDS)))
    until = datetime.now(UTC) - get_config()["LAG_ROLLUP_GRACE"] - timedelta(minutes=2)
    since = until - timedelta(minutes=SEEDED_MINUTES)
    spec = WorkloadSpec(
        jobs=jobs, events=EVENTS_PER_JOB, since=since, until=until, job_duration=60, seed=seed
    )
    seed_workload(spec)


def refill_rollups(since: datetime) -> float:
    """Empty the rollups (their minutes got events since they were filled) and fill them again."""
    from awx_eventdebug.lag.rollup import fill_rollups
    from awx_eventdebug.models import LagRollup

    LagRollup.objects.all().delete()
    started = time.perf_counter()
    left = fill_rollups(since=since)
    assert not any(left.values()), left
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=sizes, default=SIZES, help="events in the window, comma-separated")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    setup_django(postgres="awx_eventdebug_bench_health")
    from django.contrib.auth.models import User
    from rest_framework.test import APIRequestFactory, force_authenticate

    from awx_eventdebug.api.health import MetricsView
    from awx_eventdebug.awx.tables import KINDS
    from awx_eventdebug.dashboard.views import DashboardView
    from awx_eventdebug.health.report import health_window
    from awx_eventdebug.lag import histogram, reuse
    from awx_eventdebug.lag.nodes import store_clocks
    from awx_eventdebug.lag.query import LagQuery
    from awx_eventdebug.lag.report import lag_report
    from awx_eventdebug.lag.summary import lag_percentiles, lag_summary

    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"bench-health-{uuid.uuid4().hex[:8]}"
    user = User(username="bench", is_superuser=True)
    percentiles = lag_percentiles()

    def get(view, path):
        request = APIRequestFactory().get(path)
        force_authenticate(request, user=user)
        response = view.as_view()(request)
        if hasattr(response, "render"):  # the dashboard's TemplateResponse; metrics/ is plain text
            response.render()
        assert response.status_code == 200, response.status_code

    def scrape():
        get(MetricsView, "/api/eventdebug/metrics/")

    def dashboard():
        get(DashboardView, "/api/eventdebug/")

    def command(name):
        def run():
            try:
                call_command("eventdebug", name, "--json", stdout=StringIO())
            except Exception:  # exit 1 (a threshold exceeded) is a verdict, not a failure
                pass

        return run

    base = settings.DATABASES["default"]["NAME"]
    counts = (0, *args.sizes)
    firsts, filled = {}, {}
    for size in counts:
        use_database(f"{base}_{size}")
        progress(f"seeding {size:,} events into {base}_{size} ...")
        empty_tables()
        add_events(size, seed=1)
        firsts[size] = datetime.now(UTC) - timedelta(minutes=SEEDED_MINUTES + 5)
        with override_settings(EVENTDEBUG=overrides(firsts[size])):
            filled[size] = refill_rollups(health_window(datetime.now(UTC)).since)

    def exact():
        window = health_window(datetime.now(UTC))
        for kind in KINDS:
            lag_report(
                LagQuery(
                    kind=kind, since=window.since, until=window.until, percentiles=percentiles, exact=True
                )
            )

    def first_in_its_minute(reading):
        """``reading`` as the first of its minute in the process: the sum of the window's final
        minutes read from the rollups, not kept from an earlier reading (lag/reuse.py), and the
        Prometheus counters' final minutes read too (a new minute's: histogram.py)."""

        def run():
            reuse.forget()
            histogram._FINAL.clear()
            reading()

        return run

    readings = {
        "exact": exact,
        "metrics": scrape,
        "check": command("check"),
        "dashboard": dashboard,
        "report": command("report"),
        "metrics first": first_in_its_minute(scrape),
        "check first": first_in_its_minute(command("check")),
    }
    # Every size in every round, each reading in turn: the load of a shared machine weighs on all
    # sizes alike, and their ratios hold. The first round warms up and is not counted.
    samples = {(size, name): [] for size in counts for name in readings}
    for number in range(args.repeat + 1):
        progress(f"round {number} of {args.repeat} ...")
        for size in counts:
            use_database(f"{base}_{size}")
            with override_settings(EVENTDEBUG=overrides(firsts[size])):
                scrape()  # not timed: the new connection
                store_clocks()  # not timed: the maintenance thread's, once a minute (lag/nodes.py)
                for name, reading in readings.items():
                    started = time.perf_counter()
                    reading()
                    if number:
                        samples[size, name].append(time.perf_counter() - started)
    measured = {size: {name: statistics.median(samples[size, name]) for name in readings} for size in counts}
    rows = []
    for size in counts:
        use_database(f"{base}_{size}")
        with override_settings(EVENTDEBUG=overrides(firsts[size])):
            window = health_window(datetime.now(UTC))
            error = largest_error(lag_summary(window, 0), window, lag_report, LagQuery)
            count = lag_report(LagQuery(since=window.since, until=window.until))["count"]
        times = list(measured[size].values())
        rows.append(
            (
                f"{size:,}",
                f"{count:,}",
                f"{filled[size]:.2f}",
                *(f"{seconds * 1000:.0f}" for seconds in times),
                f"{times[0] / times[1]:.1f}x",
                f"{error * 100:.2f}%",
            )
        )
    print_table(
        (
            "events",
            "job events",
            "fill s (once)",
            "exact ms",
            "metrics ms",
            "check ms",
            "dashboard ms",
            "report ms",
            "metrics first ms",
            "check first ms",
            "exact/metrics",
            "max error",
        ),
        rows,
    )
    goals({size: figures for size, figures in measured.items() if size})


def largest_error(summary, window, lag_report, LagQuery) -> float:
    """The largest relative difference of the summary's percentiles from the exact ones."""
    largest = 0.0
    for kind, figures in summary["kinds"].items():
        exact = lag_report(LagQuery(kind=kind, since=window.since, until=window.until, exact=True))
        for key, value in exact["percentiles_seconds"].items():
            if value:
                largest = max(largest, abs(figures["percentiles_seconds"][key] - value) / value)
    return largest


def goals(measured: dict) -> None:
    smallest, largest = min(measured), max(measured)
    nearest = min(measured, key=lambda size: abs(math.log(size / 1_000_000)))
    for name in ("metrics", "check", "dashboard", "metrics first", "check first"):
        growth = measured[largest][name] / measured[smallest][name]
        faster = measured[nearest]["exact"] / measured[nearest][name]
        print(
            f"{name}: {largest:,} / {smallest:,} events {growth:.2f}x (target <= 1.5) "
            f"{'ok' if growth <= 1.5 else 'MISSED'}; {faster:.0f}x faster than exact at {nearest:,} "
            f"(target >= 20) {'ok' if faster >= 20 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
