"""The cost of GET metrics/'s drops counter on PostgreSQL, as the overflow table grows
(docs/report.md quotes its figures).

    python benchmarks/bench_drops_total.py [--sizes 10000,100000,1000000] [--repeat 9]

On PostgreSQL, database awx_eventdebug_bench_drops, dropped and created first.

The counter reads the totals the writers keep (OverflowTotal: a row per node, group kind and
source). Against it, in the same run, what it cost to add up the table's rows per node and group
(the counter's statement before the totals, one GROUP BY over every row). The table grows to each
of ``--sizes`` rows in turn: 99 jobs' groups and the broadcast group overflowing on 3 nodes, one
row per group and node per minute, going back in time (a million rows is 2.3 days of it, within
RETENTION's default 30 days, so no purge deletes any), written through the capture's own upsert,
which keeps the totals.

Goal: the counter's cost flat in the rows (the largest size within 1.5x of the smallest).
"""

import argparse
import time
from datetime import UTC, datetime, timedelta

from common import interleaved_medians, print_table, progress, setup_django

SIZES = (10_000, 100_000, 1_000_000)
PAUSE = 0.2  # seconds


def sizes(text: str) -> tuple[int, ...]:
    values = tuple(sorted(int(value) for value in text.split(",")))
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("row counts of at least 1, comma-separated")
    return values


def grow(first: int, last: int, now: datetime) -> None:
    """Rows number ``first`` to ``last`` - 1, older as they go, 5,000 per batch."""
    from awx_eventdebug.overflow.upsert import Counts, add_counts

    batch = {}
    for index in range(first, last):
        group = "broadcast-group_send" if index % 100 == 0 else f"job_events-{index % 100}"
        at = now - timedelta(minutes=index // 300)
        batch[(f"awx-{index // 100 % 3}", group, at, "live")] = Counts(at, at, 1 + index % 7, 1, 2)
        if len(batch) == 5000:
            add_counts(batch)
            batch = {}
    add_counts(batch)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=sizes, default=SIZES, help="overflow rows, comma-separated")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    setup_django("awx_eventdebug_bench_drops", fresh=True)

    from django.db.models import Sum

    from awx_eventdebug.models import ChannelOverflow
    from awx_eventdebug.overflow.queries import cumulative_drops

    now = datetime.now(UTC).replace(second=0, microsecond=0)

    def pause():
        time.sleep(PAUSE)

    def every_row():
        list(ChannelOverflow.objects.values("node", "group").annotate(drops=Sum("drops")).order_by())

    rows, measured, stored = [], {}, 0
    for size in args.sizes:
        progress(f"growing the overflow table to {size:,} rows ...")
        grow(stored, size, now)
        stored = size
        # The same pause before each reading at every size: right after a long one (the baseline
        # at a million rows) a sub-millisecond reading runs on a colder CPU, 3x slower here.
        counter = interleaved_medians([cumulative_drops, pause], args.repeat)[0]
        before = interleaved_medians([every_row, pause], args.repeat)[0]
        measured[size] = counter
        recorded = sum(cumulative_drops().values())
        summed = ChannelOverflow.objects.aggregate(drops=Sum("drops"))["drops"]
        assert recorded == summed, (recorded, summed)  # the totals are the rows' sums
        rows.append(
            (
                f"{size:,}",
                len(cumulative_drops()),
                f"{counter * 1000:.2f}",
                f"{before * 1000:.1f}",
                f"{before / counter:.0f}x",
            )
        )
    print_table(("overflow rows", "series", "counter ms", "every row ms (before)", "before/counter"), rows)
    growth = measured[max(measured)] / measured[min(measured)]
    print(
        f"counter: {max(measured):,} / {min(measured):,} rows {growth:.2f}x (target <= 1.5) "
        f"{'ok' if growth <= 1.5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
