"""Loading generated events into PostgreSQL: the workload generator's COPY path against plain
batched INSERTs (executemany) of the same rows, measured in the same run.

    python benchmarks/bench_seed.py [--events 1000000]
"""

import argparse
import time
from datetime import UTC, datetime, timedelta

from common import print_table, setup_django


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="events for the COPY run")
    parser.add_argument("--baseline-events", type=int, default=50_000, help="events for the INSERT run")
    args = parser.parse_args()
    setup_django(postgres="awx_eventdebug_bench", fresh=True)
    from example_settings.awxschema.workload import WorkloadSpec, seed_workload

    until = datetime.now(UTC)
    jobs = 100
    spec = WorkloadSpec(
        kinds=("job",), jobs=jobs, events=args.events // jobs, since=until - timedelta(hours=26)
    )
    copy_result = seed_workload(spec)
    copy_rate = args.events / copy_result.seconds

    # Baseline: the same generator, rows sent with executemany INSERT in batches of 1000.
    spec = WorkloadSpec(
        kinds=("job",), jobs=10, events=args.baseline_events // 10, since=until - timedelta(hours=26)
    )
    spec.load, spec.batch = "insert", 1000
    started = time.perf_counter()
    seed_workload(spec)
    insert_rate = args.baseline_events / (time.perf_counter() - started)

    print_table(
        ("method", "events", "seconds", "events/s", "vs INSERT"),
        [
            (
                "COPY (seed_awx_events)",
                args.events,
                f"{copy_result.seconds:.1f}",
                f"{copy_rate:,.0f}",
                f"{copy_rate / insert_rate:.1f}x",
            ),
            (
                "executemany INSERT",
                args.baseline_events,
                f"{args.baseline_events / insert_rate:.1f}",
                f"{insert_rate:,.0f}",
                "1.0x",
            ),
        ],
    )


if __name__ == "__main__":
    main()
