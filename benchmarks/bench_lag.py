"""Benchmark of event lag percentiles on PostgreSQL (docs/lag.md quotes its figures).

    python benchmarks/bench_lag.py [--repeat 5] [--reseed] [--big-events 100000]

Seeds (once; later runs reuse it) a database of its own, PGDATABASE (default
awx_eventdebug_bench_lag): 19 jobs of 100k events (--big-events) and 100 jobs of 1000 events, 2M
job events over 26 hourly partitions. Then measures, in the same run:

  (a) `eventdebug lag --json` and the API view over a window of about 1M events, against the bare
      percentile_cont statement on the same rows (target: at most 1.3x);
  (b) the naive way, the ORM's values_list of both timestamps, lag and sort in Python, against
      `eventdebug lag --json` (target: at least 10x slower);
  (c) `eventdebug lag --json --job` of one 100k-event job (target: median 50 ms or less), beside
      the bare percentile_cont of that job's partition key, written by hand.
"""

import argparse
import os
from datetime import UTC, datetime, timedelta
from io import StringIO

from common import interleaved_medians, progress, setup_django
from django.conf import settings
from django.core.management import call_command
from django.db import connection

START = datetime(2026, 11, 1, tzinfo=UTC)
HOURS = 26
BIG_JOBS, BIG_EVENTS = 19, 100_000
SMALL_JOBS, SMALL_EVENTS = 100, 1000
PERCENTILES = [0.5, 0.9, 0.95, 0.99]

BARE_SQL = """
SELECT percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY date_part('epoch', modified - created))
FROM main_jobevent WHERE modified >= %s AND modified < %s AND created IS NOT NULL
"""
JOB_BARE_SQL = """
SELECT percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY date_part('epoch', modified - created))
FROM main_jobevent WHERE job_id = %s AND job_created = %s AND created IS NOT NULL
"""


def seed(reseed, big_events):
    from example_settings.awxschema.schema import ensure_partitions
    from example_settings.awxschema.workload import WorkloadSpec, seed_workload

    events = BIG_JOBS * big_events + SMALL_JOBS * SMALL_EVENTS
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM main_unifiedjob")
        jobs = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM main_jobevent")
        if (jobs, cursor.fetchone()[0]) == (BIG_JOBS + SMALL_JOBS, events) and not reseed:
            progress(f"reusing the seeded database {settings.DATABASES['default']['NAME']}")
            return
        progress(f"seeding {events:,} job events (once; --reseed to redo) ...")
        cursor.execute("TRUNCATE main_unifiedjob, main_jobevent")
        ensure_partitions(cursor, "main_jobevent", [START + timedelta(hours=h) for h in range(HOURS)])
    until = START + timedelta(hours=HOURS)
    common = dict(kinds=("job",), since=START, until=until, job_duration=1800.0, profile="bursty")
    seed_workload(WorkloadSpec(jobs=BIG_JOBS, events=big_events, seed=11, **common))
    seed_workload(WorkloadSpec(jobs=SMALL_JOBS, events=SMALL_EVENTS, seed=12, **common))


def dataset(big_events):
    """The window of (a) and (b), its event count, the job of (c), and the partition count."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT j.id, j.created FROM main_unifiedjob j WHERE (SELECT count(*) FROM main_jobevent e "
            "WHERE e.job_id = j.id AND e.job_created = j.created) = %s ORDER BY j.created",
            [big_events],
        )
        big = cursor.fetchall()
        # About 1M events: the first ten big jobs, plus small jobs' events in between.
        since, until = START, big[9][1] + timedelta(seconds=1800 + 120)
        cursor.execute(
            "SELECT count(*) FROM main_jobevent WHERE modified >= %s AND modified < %s", [since, until]
        )
        in_window = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'main_jobevent'::regclass")
        partitions = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM main_jobevent")
        total = cursor.fetchone()[0]
    return since, until, in_window, big[len(big) // 2], partitions, total


def command(*args):
    call_command("eventdebug", "lag", "--json", *args, stdout=StringIO())


def api_view(params):
    from django.contrib.auth.models import User
    from rest_framework.test import APIRequestFactory, force_authenticate

    from awx_eventdebug.api.lag import LagView

    request = APIRequestFactory().get("/api/eventdebug/lag/", params)
    force_authenticate(request, user=User(username="bench", is_superuser=True))
    response = LagView.as_view()(request)
    response.render()
    assert response.status_code == 200, response.content


def bare_sql(since, until):
    with connection.cursor() as cursor:
        cursor.execute(BARE_SQL, [PERCENTILES, since, until])
        cursor.fetchall()


def bare_job_sql(job, job_created):
    with connection.cursor() as cursor:
        cursor.execute(JOB_BARE_SQL, [PERCENTILES, job, job_created])
        cursor.fetchall()


def naive_orm(since, until):
    from example_settings.awxschema.models import JobEvent

    lags = sorted(
        (modified - created).total_seconds()
        for created, modified in JobEvent.objects.filter(modified__gte=since, modified__lt=until)
        .exclude(created=None)
        .values_list("created", "modified")
        .iterator(chunk_size=10_000)
    )
    result = []
    for fraction in PERCENTILES:
        position = (len(lags) - 1) * fraction
        low = int(position)
        high = min(low + 1, len(lags) - 1)
        result.append(lags[low] + (position - low) * (lags[high] - lags[low]))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="Timed runs per figure (median).")
    parser.add_argument("--reseed", action="store_true", help="Seed again even if the data is there.")
    parser.add_argument("--big-events", type=int, default=BIG_EVENTS, help="Events of each of the big jobs.")
    options = parser.parse_args()
    setup_django(postgres="awx_eventdebug_bench_lag")
    seed(options.reseed, options.big_events)
    since, until, in_window, job, partitions, total = dataset(options.big_events)
    window = ["--since", since.isoformat(), "--until", until.isoformat()]
    params = {"since": since.isoformat(), "until": until.isoformat()}
    repeat = options.repeat
    progress(f"{total} events, {partitions} partitions; window of {in_window} events; job {job[0]}")

    progress("(a) window: bare SQL, command, API view ...")
    bare, cli, api = interleaved_medians(
        [lambda: bare_sql(since, until), lambda: command(*window), lambda: api_view(params)], repeat
    )
    progress("(b) naive ORM + Python sort (2 runs) ...")
    [naive] = interleaved_medians([lambda: naive_orm(since, until)], 1)
    progress("(c) one 100k-event job ...")
    job_bare, job_command = interleaved_medians(
        [lambda: bare_job_sql(*job), lambda: command("--job", str(job[0]))], max(repeat, 20)
    )

    rows = [
        ("(a) bare percentile_cont SQL", bare, "baseline", ""),
        ("(a) eventdebug lag --json", cli, f"{cli / bare:.2f}x bare", "<= 1.3x"),
        ("(a) API view (GET lag/)", api, f"{api / bare:.2f}x bare", "<= 1.3x"),
        ("(b) naive ORM values_list + sort", naive, f"{naive / cli:.1f}x slower than command", ">= 10x"),
        ("(c) bare percentile_cont SQL, one job", job_bare, "baseline", ""),
        (
            "(c) eventdebug lag --job (100k events)",
            job_command,
            f"{job_command / job_bare:.2f}x bare",
            "<= 50 ms",
        ),
    ]
    width = max(len(row[0]) for row in rows)
    print(f"PostgreSQL {connection.pg_version}, {os.cpu_count()} cores")
    print(
        f"{total} events in {partitions} hourly partitions; window of {in_window} events; median of {repeat}"
    )
    print(f"{'measure'.ljust(width)}  {'median ms':>10}  {'ratio':<28}  target")
    for name, seconds, ratio, target in rows:
        print(f"{name.ljust(width)}  {seconds * 1000:>10.1f}  {ratio:<28}  {target}".rstrip())


if __name__ == "__main__":
    main()
