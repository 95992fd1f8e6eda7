"""Benchmark of report, check and metrics on PostgreSQL (docs/report.md quotes its figures).

    python benchmarks/bench_health.py [--repeat 5] [--reseed]

Seeds (once; later runs reuse it) a database of its own, PGDATABASE (default
awx_eventdebug_bench_health): 2,000 jobs of 100 events of each kind in the last 15 minutes (1M
events), so the report's per-job query returns more jobs than LAG_MAX_GROUPS keeps. Redis is the
real one (an empty layer prefix of this run's own). Then measures, in the same run:

  (a) the lag query per job ordered by p99 (what the report's worst jobs need) against the same
      query in key order: the ORDER BY repeats the SELECT list's aggregate, which PostgreSQL
      computes once (target: at most 1.1x);
  (b) `eventdebug report --json` against the sum of its parts called one by one (build_report,
      lag_report per kind, summarize_overflow, inspect_queues): what the shared core adds
      (target: at most 1.1x);
  (c) a GET metrics/ scrape against `eventdebug check --json`, the same figures without the
      worst jobs and the doctor (target: at most 1.2x).
"""

import argparse
import math
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

from common import interleaved_medians, progress, setup_django
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import override_settings

JOBS, EVENTS = 2000, 100


def seed(reseed) -> datetime:
    """The seeded events' time range start (events are reused while they are recent enough)."""
    from awx_eventdebug.awx.tables import KINDS
    from example_settings.awxschema.workload import WorkloadSpec, seed_workload

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), min(created) FROM main_unifiedjob")
        jobs, first = cursor.fetchone()
        if jobs == JOBS * len(KINDS) and not reseed:
            progress(f"reusing the seeded database {settings.DATABASES['default']['NAME']}")
            return first
        for kind in KINDS.values():
            cursor.execute(f"TRUNCATE {kind.table}")
        cursor.execute("TRUNCATE main_unifiedjob")
    progress(f"seeding {JOBS * EVENTS * len(KINDS):,} events (once; --reseed to redo) ...")
    until = datetime.now(UTC)
    since = until - timedelta(minutes=14)
    seed_workload(WorkloadSpec(jobs=JOBS, events=EVENTS, since=since, until=until, job_duration=60, seed=5))
    return since


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    setup_django(postgres="awx_eventdebug_bench_health")
    from django.contrib.auth.models import User
    from rest_framework.test import APIRequestFactory, force_authenticate

    from awx_eventdebug.api.health import MetricsView
    from awx_eventdebug.awx.tables import KINDS
    from awx_eventdebug.channels.queues import inspect_queues
    from awx_eventdebug.health.doctor import build_report
    from awx_eventdebug.health.report import health_window
    from awx_eventdebug.lag.query import LagQuery
    from awx_eventdebug.lag.report import lag_report
    from awx_eventdebug.lag.summary import lag_percentiles
    from awx_eventdebug.overflow.queries import OverflowFilter, summarize_overflow

    first = seed(args.reseed)
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"bench-health-{uuid.uuid4().hex[:8]}"
    # The window covers every seeded event however long ago they were seeded (at most the max).
    since = min(first, datetime.now(UTC) - timedelta(minutes=15))
    window = health_window(datetime.now(UTC), since)
    percentiles = lag_percentiles()

    def lag_by_job(worst_by):
        query = LagQuery(
            since=window.since, until=window.until, by="job", percentiles=percentiles, worst_by=worst_by
        )
        return lambda: lag_report(query)

    def parts():
        build_report()
        for kind in KINDS:
            query = LagQuery(
                kind=kind,
                since=window.since,
                until=window.until,
                by="job",
                percentiles=percentiles,
                worst_by=Decimal(99),
            )
            lag_report(query)
        summarize_overflow(OverflowFilter(since=window.since, until=window.until), limit=5)
        inspect_queues(limit=5)

    iso = window.since.isoformat()

    def report():
        call_command("eventdebug", "report", "--json", "--since", iso, stdout=StringIO())

    def check():
        try:
            call_command("eventdebug", "check", "--json", stdout=StringIO())
        except Exception:  # exit 1 on this lagging workload is the expected verdict
            pass

    user = User(username="bench", is_superuser=True)

    def scrape():
        request = APIRequestFactory().get("/api/eventdebug/metrics/")
        force_authenticate(request, user=user)
        response = MetricsView.as_view()(request)
        response.render()
        assert response.status_code == 200

    groups = lag_report(LagQuery(since=window.since, until=window.until, by="job"))
    progress(f"{groups['count']:,} job events in the window, {len(groups['groups'])} job groups returned")
    ordered, keyed = interleaved_medians([lag_by_job(Decimal(99)), lag_by_job(None)], args.repeat)
    whole, summed = interleaved_medians([report, parts], args.repeat)
    # Metrics read EVENTDEBUG['HEALTH_WINDOW'] back from now: make it, and check, cover the seed.
    minutes = math.ceil((datetime.now(UTC) - window.since).total_seconds() / 60) + 1
    with override_settings(EVENTDEBUG={"HEALTH_WINDOW": f"{minutes}m"}):
        metrics, checked = interleaved_medians([scrape, check], args.repeat)
    rows = [
        ("(a) lag by job, worst p99 first", ordered, "key order", keyed, 1.1),
        ("(b) eventdebug report --json", whole, "its parts one by one", summed, 1.1),
        ("(c) GET metrics/", metrics, "eventdebug check --json", checked, 1.2),
    ]
    for name, measured, baseline_name, baseline, target in rows:
        ratio = measured / baseline
        print(
            f"{name}: {measured * 1000:.0f} ms; {baseline_name}: {baseline * 1000:.0f} ms; "
            f"ratio {ratio:.2f} (target <= {target}) {'ok' if ratio <= target else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
