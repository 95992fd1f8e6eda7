"""Benchmark of the health figures (GET metrics/, `eventdebug check --json`, the dashboard page,
`eventdebug report --json`) against the exact lag statements over the same window, at growing
event counts (docs/report.md quotes its figures).

    python benchmarks/bench_health.py [--sizes 250000,1000000,4000000] [--repeat 5]

Seeds a PostgreSQL database of its own, PGDATABASE (default awx_eventdebug_bench_health), size
after size: the events added at each size are jobs of 100 events of each kind stored over the 10
minutes that end LAG_ROLLUP_GRACE plus 2 minutes before the seeding, so every event of the window
is in a final minute (the open minutes, read from the events on every reading, hold none: their
cost is the exact statement's over their events, docs/report.md). At each size the rollups are
emptied and filled again once, as the maintenance thread would have (timed apart), then, in
interleaved rounds, medians of --repeat:

  exact:     the lag statement of every kind over the window, exact (what each reading ran before);
  metrics:   GET metrics/ with HEALTH_CACHE 0 (one reading per scrape), rendered;
  check:     `eventdebug check --json`;
  dashboard: the dashboard page, rendered (with the doctor, the overflow and queue tables);
  report:    `eventdebug report --json` (its worst jobs exact over the latest events of each kind).

First the same readings with no event at all (what no event count changes: the floor), then
at each size. Then the largest relative difference of the health lag percentiles from the exact
ones, and the goals: metrics, check and dashboard at the largest size within 1.5x of the smallest, at
least 20x faster than exact at 1M events (or the size nearest it), every percentile within 1%.
"""

import argparse
import math
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

from common import interleaved_medians, print_table, progress, setup_django
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import override_settings

SIZES = (250_000, 1_000_000, 4_000_000)
EVENTS_PER_JOB = 100
SEEDED_MINUTES = 10
# What is measured with no event at all: a reading's cost that no event count changes.
FLOOR = ("metrics", "check", "dashboard")


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


def add_events(count: int, seed: int) -> None:
    """``count`` events more (rounded to whole jobs) in final minutes."""
    from awx_eventdebug.awx.tables import KINDS
    from awx_eventdebug.conf import get_config
    from example_settings.awxschema.workload import WorkloadSpec, seed_workload

    jobs = max(1, count // (EVENTS_PER_JOB * len(KINDS)))
    until = datetime.now(UTC) - get_config()["LAG_ROLLUP_GRACE"] - timedelta(minutes=2)
    since = until - timedelta(minutes=SEEDED_MINUTES)
    spec = WorkloadSpec(
        jobs=jobs, events=EVENTS_PER_JOB, since=since, until=until, job_duration=60, seed=seed
    )
    seed_workload(spec)


def refill_rollups(since: datetime) -> float:
    """Empty the rollups (their minutes got events since they were filled) and fill them again."""
    import time

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

    empty_tables()
    first = None
    rows, measured = [], {}
    with override_settings(EVENTDEBUG={"HEALTH_CACHE": 0}):
        progress("measuring with no event at all ...")
        floor = interleaved_medians([scrape, command("check"), dashboard], args.repeat)
    seeded = 0
    for number, size in enumerate(args.sizes):
        progress(f"seeding {size - seeded:,} more events ({size:,} in the window) ...")
        add_events(size - seeded, seed=number + 1)
        seeded = size
        now = datetime.now(UTC)
        first = first or now - timedelta(minutes=SEEDED_MINUTES + 5)
        # Every reading over the same window, from before the first seeded event to now.
        minutes = math.ceil((now - first).total_seconds() / 60) + 1
        overrides = {"HEALTH_WINDOW": f"{minutes}m", "HEALTH_CACHE": 0}
        with override_settings(EVENTDEBUG=overrides):
            window = health_window(datetime.now(UTC))
            filled = refill_rollups(window.since)

            def exact(window=window):
                for kind in KINDS:
                    lag_report(
                        LagQuery(
                            kind=kind,
                            since=window.since,
                            until=window.until,
                            percentiles=percentiles,
                            exact=True,
                        )
                    )

            progress(f"measuring at {size:,} events ...")
            times = interleaved_medians(
                [exact, scrape, command("check"), dashboard, command("report")], args.repeat
            )
            error = largest_error(
                lag_summary(health_window(datetime.now(UTC)), 0), window, lag_report, LagQuery
            )
        measured[size] = dict(zip(("exact", "metrics", "check", "dashboard", "report"), times, strict=True))
        count = lag_report(LagQuery(since=window.since, until=window.until))["count"]
        rows.append(
            (
                f"{size:,}",
                f"{count:,}",
                f"{filled:.2f}",
                *(f"{seconds * 1000:.0f}" for seconds in times),
                f"{times[0] / times[1]:.0f}x",
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
            "exact/metrics",
            "max error",
        ),
        rows,
    )
    print(
        "floor, no event in the window: "
        + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in zip(FLOOR, floor, strict=True))
    )
    goals(measured)


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
    for name in ("metrics", "check", "dashboard"):
        growth = measured[largest][name] / measured[smallest][name]
        faster = measured[nearest]["exact"] / measured[nearest][name]
        print(
            f"{name}: {largest:,} / {smallest:,} events {growth:.2f}x (target <= 1.5) "
            f"{'ok' if growth <= 1.5 else 'MISSED'}; {faster:.0f}x faster than exact at {nearest:,} "
            f"(target >= 20) {'ok' if faster >= 20 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
