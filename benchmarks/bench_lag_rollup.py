"""Lag over 30 days from the per-minute rollups, against the exact statement on the same events.

    python benchmarks/bench_lag_rollup.py [--events 20000000] [--days 30] [--repeat 5]

Seeds (once; later runs reuse it) a PostgreSQL database of its own, PGDATABASE (default
awx_eventdebug_bench_rollup): --events job events spread evenly over --days days in hourly
partitions (one job per hour), lags log-normal around 0.5 s with a daily swing, 0.1% without
created; none backfilled (created = modified: both methods count those apart, which
tests/lag/test_rollup.py covers). Only
the primary key and AWX's index on modified are kept: the other indexes of main_jobevent do not
take part in these reads, and would only make seeding slower. Then measures:

1. the exact 30-day p50/p99 (`lag --exact`), and the exact by-hour timeline, once each;
2. the fill: every minute of the 30 days computed and stored, total and per minute of events;
3. the same two from the rollups, median of --repeat, and the largest relative difference of the
   percentiles from the exact ones.
"""

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from common import progress, setup_django
from django.db import connection

START = datetime(2026, 10, 1, tzinfo=UTC)
EXTRA_INDEXES = ("event", "uuid", "parent_uuid", "counter")

SEED_HOUR = """
INSERT INTO main_jobevent (created, modified, event_data, uuid, counter, stdout, verbosity,
    start_line, end_line, event, failed, changed, playbook, play, role, task, job_id, host_id,
    host_name, parent_uuid, job_created)
SELECT CASE WHEN n %% 1000 = 0 THEN NULL
            ELSE modified - make_interval(secs => lag) END,
       modified, '', '', n, '', 0, 0, 0, 'runner_on_ok', false, false, '', '', '', '', %s, NULL,
       '', '', %s
FROM (
    SELECT n, %s + (n * %s) * interval '1 second' AS modified,
           exp(ln(0.5) + 0.9 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
             * (1.5 + sin(2 * pi() * %s / 24)) AS lag
    FROM generate_series(0, %s - 1) AS n
) AS seeded
"""


def seed(events: int, days: int) -> None:
    from example_settings.awxschema.schema import ensure_partitions

    hours = days * 24
    per_hour = events // hours
    with connection.cursor() as cursor:
        for column in EXTRA_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS main_jobevent_job_id_job_created_{column}_idx")
        cursor.execute("SELECT count(*) FROM main_jobevent")
        if cursor.fetchone()[0] == per_hour * hours:
            progress(f"reusing {per_hour * hours} seeded events")
            return
        cursor.execute("TRUNCATE main_jobevent")
        ensure_partitions(cursor, "main_jobevent", [START + timedelta(hours=h) for h in range(hours)])
        started = time.perf_counter()
        for hour in range(hours):
            at = START + timedelta(hours=hour)
            cursor.execute(SEED_HOUR, [hour + 1, at, at, 3600 / per_hour, hour % 24, per_hour])
            if hour % 24 == 23:
                progress(f"seeded day {hour // 24 + 1} of {days} ({time.perf_counter() - started:.0f} s)")
        cursor.execute("ANALYZE main_jobevent")


def lag(since, until, **options):
    from awx_eventdebug.lag.query import LagQuery
    from awx_eventdebug.lag.report import lag_report

    percentiles = (Decimal(50), Decimal(99))
    return lag_report(LagQuery(since=since, until=until, percentiles=percentiles, **options))


def timed(function, repeat=1):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def worst_difference(mine: dict, exact: dict) -> float:
    pairs = [(mine["percentiles_seconds"][k], v) for k, v in exact["percentiles_seconds"].items() if v]
    for a, b in zip(mine["groups"], exact["groups"], strict=True):
        pairs += [(a["percentiles_seconds"][k], v) for k, v in b["percentiles_seconds"].items() if v]
    return max(abs(m - e) / e for m, e in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    setup_django("awx_eventdebug_bench_rollup")
    from django.test import override_settings

    from awx_eventdebug.lag.rollup import fill_rollups
    from awx_eventdebug.models import LagRollup

    seed(args.events, args.days)
    since, until = START, START + timedelta(days=args.days)
    # The exact statements over every event need more than the default 30 s timeout here, and
    # the seeded days are kept (rollups older than RETENTION are never stored), however long ago.
    kept = (datetime.now(UTC) - START).days + 1
    override_settings(EVENTDEBUG={"STATEMENT_TIMEOUT": 3600, "RETENTION": f"{kept}d"}).enable()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM main_jobevent")
        total = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]

    progress("exact 30-day statistics ...")
    exact_s, exact = timed(lambda: lag(since, until, exact=True))
    progress("exact by-hour timeline ...")
    exact_hours_s, exact_hours = timed(lambda: lag(since, until, exact=True, by="hour"))

    LagRollup.objects.filter(kind="job").delete()
    progress("filling the rollups ...")
    fill_s, left = timed(lambda: fill_rollups(kinds=["job"], since=since, until=until))
    assert left == {"job": 0}, left
    minutes = args.days * 24 * 60

    rollup_s, rolled = timed(lambda: lag(since, until), args.repeat)
    rollup_hours_s, rolled_hours = timed(lambda: lag(since, until, by="hour"), args.repeat)
    assert rolled["method"] == rolled_hours["method"] == "rollup"
    assert rolled["count"] == exact["count"], (rolled, exact)

    print(
        f"{total} job events over {args.days} days ({total // minutes} per minute), PostgreSQL "
        f"{version}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    rows = [
        ("exact 30-day p50/p99 (lag --exact)", exact_s, ""),
        ("exact by-hour timeline (720 hours)", exact_hours_s, ""),
        ("fill: all 30 days of minutes", fill_s, f"{1000 * fill_s / minutes:.1f} ms per minute"),
        ("rollup 30-day p50/p99", rollup_s, f"{exact_s / rollup_s:.0f}x faster"),
        ("rollup by-hour timeline", rollup_hours_s, f"{exact_hours_s / rollup_hours_s:.0f}x faster"),
    ]
    print(f"{'measure':40} {'seconds':>9}  note")
    for name, seconds, note in rows:
        print(f"{name:40} {seconds:9.3f}  {note}")
    mine, theirs = rolled["percentiles_seconds"], exact["percentiles_seconds"]
    print(
        f"p50 {mine['p50']:.4f} vs exact {theirs['p50']:.4f}; "
        f"p99 {mine['p99']:.4f} vs exact {theirs['p99']:.4f}; largest "
        f"relative difference over the total and 720 hours: "
        f"{worst_difference(rolled_hours, exact_hours):.4%} (bound 1%)"
    )
    print(f"fill per 1000 events: {1000 * fill_s / total * 1000:.2f} ms")


if __name__ == "__main__":
    main()
