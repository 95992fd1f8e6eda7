"""The cost of GET metrics/'s drops counter on PostgreSQL (docs/report.md quotes its figures).

    PGDATABASE=awx_eventdebug_bench_drops python benchmarks/bench_drops_total.py [--rows 100000] [--repeat 9]

The counter is cumulative: every scrape adds up the whole overflow table per node and group kind
(plus the purged totals). Against it, in the same run, the aggregate the endpoint ran before,
per group and node over the last 15 minutes (summarize_overflow with by_node). The table holds
about ``--rows`` rows (keys that coincide merge): 2,000 jobs' groups and the broadcast group on 3
nodes, one row per group and node per minute, spread over RETENTION's default 30 days (what purge
leaves at most).
"""

import argparse
from datetime import UTC, datetime, timedelta

from common import interleaved_medians, setup_django


def seed(rows: int) -> None:
    from awx_eventdebug.models import ChannelOverflow
    from awx_eventdebug.overflow.upsert import Counts, add_counts

    if ChannelOverflow.objects.count() >= rows:
        return
    ChannelOverflow.objects.all().delete()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    batch = {}
    for index in range(rows):
        group = "broadcast-group_send" if index % 10 == 0 else f"job_events-{index % 2000}"
        at = now - timedelta(minutes=index % (30 * 24 * 60))
        batch[(f"awx-{index % 3}", group, at, "live")] = Counts(at, at, 1 + index % 7, 1, 2)
        if len(batch) == 5000:
            add_counts(batch)
            batch = {}
    add_counts(batch)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    setup_django("awx_eventdebug_bench_drops")

    from django.utils import timezone

    from awx_eventdebug.models import ChannelOverflow
    from awx_eventdebug.overflow.queries import OverflowFilter, cumulative_drops, summarize_overflow

    seed(args.rows)

    def windowed():
        since = timezone.now() - timedelta(minutes=15)
        summarize_overflow(OverflowFilter(since=since), limit=20, by_node=True)

    counter, before = interleaved_medians([cumulative_drops, windowed], args.repeat)
    print(f"overflow rows                                  {ChannelOverflow.objects.count():>10,}")
    print(f"series of the counter                          {len(cumulative_drops()):>10}")
    print(f"cumulative drops per node and group kind       {counter * 1000:>8.1f} ms")
    print(f"before: drops per group and node, last 15 min  {before * 1000:>8.1f} ms")
    print(f"ratio                                          {counter / before:>10.2f}")


if __name__ == "__main__":
    main()
