"""`eventdebug ingest` throughput against `grep -c 'over capacity'` on the same file, in the same run.

    python benchmarks/bench_ingest.py [--megabytes 1000] [--overflow-percent 1] [--postgres]

Writes a tower.log of AWX-like lines where --overflow-percent of the lines are channels_redis
overflow records (a third of them for broadcast-group_send, the others over 50 job groups), then
measures:

1. grep -c 'over capacity' on it (the floor: a read and a search per byte, in C);
2. ingest of it into an empty table (every record new), in this process;
3. the same for its gzip copy, against zcat | grep -c (zlib bounds both);
4. peak RSS of `manage.py eventdebug ingest` in a child process for the file and for a quarter
   of it: flat memory means the two are equal.

The counts must be identical: records + rejected lines == grep's count.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, progress, setup_django

OTHER_LINES = (
    "2026-11-27 09:{m:02d}:{s:02d},{ms:03d} INFO     [{h:08x}] awx.main.dispatch task "
    "awx.main.tasks.system.cluster_node_heartbeat(*[], **{{}}) finished in 0.0{ms:03d}s\n",
    "2026-11-27 09:{m:02d}:{s:02d},{ms:03d} DEBUG    [{h:08x}] awx.main.commands.run_callback_receiver "
    "JobEvent.objects.bulk_create(18)\n",
    "2026-11-27 09:{m:02d}:{s:02d},{ms:03d} INFO     [-] awx.analytics.job_lifecycle job-{h} "
    "event processing finished\n",
    "2026-11-27 09:{m:02d}:{s:02d},{ms:03d} WARNING  [{h:08x}] awx.main.wsrelay Connection from "
    "awx-web-{ms} to awx-task lost, retrying in 5 seconds\n",
)
OVERFLOW_LINE = (
    "2026-11-27 09:{m:02d}:{s:02d},{ms:03d} INFO     [-] channels_redis.core "
    "1 of {n} channels over capacity in group {group}\n"
)


def write_log(path: Path, megabytes: int, percent: float) -> int:
    """A log of about ``megabytes`` MB; returns the overflow lines written."""
    every = round(100 / percent)
    written = overflow = n = 0
    with open(path, "w") as out:
        while written < megabytes * 1_000_000:
            chunk = []
            for _ in range(10000):
                fields = {"m": n // 60000 % 60, "s": n // 1000 % 60, "ms": n % 1000, "h": n}
                if n % every == 0:
                    # As on a busy AWX: the broadcast group and the job groups of running jobs.
                    group = f"job_events-{n % 50}" if n % 3 else "broadcast-group_send"
                    chunk.append(OVERFLOW_LINE.format(n=2 + n % 7, group=group, **fields))
                    overflow += 1
                else:
                    chunk.append(OTHER_LINES[n % 4].format(**fields))
                n += 1
            text = "".join(chunk)
            out.write(text)
            written += len(text)
    return overflow


def timed(command: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, result.stdout.strip()


def ingest(path: Path, node: str) -> tuple[float, dict]:
    from awx_eventdebug.overflow.ingest import ingest_streams

    started = time.perf_counter()
    with open(path, "rb") as stream:
        result = ingest_streams([(str(path), stream)], node=node)
    return time.perf_counter() - started, result


def child_peak_rss(path: Path, node: str) -> float:
    """Peak RSS in MB of ``manage.py eventdebug ingest`` on ``path`` in a process of its own.

    Read from the child's /proc VmHWM while it runs: its rusage would count this process's
    memory too (Linux carries the high-water mark across the fork and exec)."""
    command = [sys.executable, str(ROOT / "example_settings" / "manage.py"), "eventdebug", "ingest"]
    process = subprocess.Popen([*command, "--node", node, str(path)], stdout=subprocess.DEVNULL)
    peak_kb = 0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:
            break
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak_kb = max(peak_kb, int(line.split()[1]))
        time.sleep(0.05)
    process.wait()
    return peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=1000)
    parser.add_argument("--overflow-percent", type=float, default=1.0)
    parser.add_argument("--postgres", action="store_true", help="Count into PostgreSQL (else SQLite).")
    args = parser.parse_args()
    setup_django("awx_eventdebug_bench_ingest" if args.postgres else None, fresh=args.postgres)
    from django.db import connection

    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        log = workdir / "tower.log"
        progress(f"writing {args.megabytes} MB with {args.overflow_percent}% overflow lines")
        expected = write_log(log, args.megabytes, args.overflow_percent)
        size = log.stat().st_size / 1e6
        quarter = workdir / "quarter.log"
        with open(log, "rb") as source, open(quarter, "wb") as target:
            target.write(source.read(int(size * 1e6 / 4)))
        packed = workdir / "tower.log.gz"
        subprocess.run(f"gzip -c {log} > {packed}", shell=True, check=True)
        timed(f"cat {log} > /dev/null")  # the page cache holds the file for every reader alike

        grep_s, grep_count = timed(f"grep -c 'over capacity' {log}")
        ours_s, result = ingest(log, "bench-plain")
        zgrep_s, zgrep_count = timed(f"zcat {packed} | grep -c 'over capacity'")
        gz_s, gz_result = ingest(packed, "bench-gzip")
        rss_full = child_peak_rss(log, "bench-rss-full")
        rss_quarter = child_peak_rss(quarter, "bench-rss-quarter")

        totals, gz_totals = result["totals"], gz_result["totals"]
        print(
            f"{size:.0f} MB tower.log, {args.overflow_percent}% overflow lines ({expected} records), "
            f"{connection.vendor}, {os.cpu_count()} cores, python {sys.version.split()[0]}"
        )
        rows = [
            ("grep -c 'over capacity'", grep_s, size / grep_s, grep_count),
            ("eventdebug ingest", ours_s, size / ours_s, totals["records"] + totals["bad_lines"]),
            ("zcat | grep -c (gzip)", zgrep_s, size / zgrep_s, zgrep_count),
            ("eventdebug ingest (gzip)", gz_s, size / gz_s, gz_totals["records"] + gz_totals["bad_lines"]),
        ]
        print(f"{'reader':28} {'seconds':>8} {'MB/s':>8} {'count':>10}")
        for name, seconds, rate, count in rows:
            print(f"{name:28} {seconds:8.2f} {rate:8.1f} {count:>10}")
        print(f"ingest / grep time: {ours_s / grep_s:.1f}x; gzip ingest / zcat|grep: {gz_s / zgrep_s:.1f}x")
        identical = int(grep_count) == totals["records"] == totals["new_records"] == expected
        print(f"counts identical: {identical}")
        print(f"peak RSS of the command: {rss_full:.0f} MB (whole file), {rss_quarter:.0f} MB (a quarter)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
