"""Every benchmark script runs to its end at tiny sizes (the figures are meaningless, the code
paths are those of a full run): a benchmark that nothing runs breaks unnoticed.

The scripts need what `make test` provides (PostgreSQL, redis-server, Chromium) and take their
time, so they run where EVENTDEBUG_BENCHMARK_SMOKE is set: in one of `make test`'s sessions
(noxfile.py), not in each. Their PostgreSQL database is one of the smoke run's own, never a full
run's seeded one.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import ROOT

BENCHMARKS = ROOT / "benchmarks"
# Each script's options for a run of seconds.
SMOKE_OPTIONS = {
    "bench_capture.py": [
        "--records",
        "2000",
        "--names",
        "2000",
        "--seconds",
        "0.2",
        "--ingest-megabytes",
        "0.4",
    ],
    "bench_channels.py": ["--groups", "40", "--members", "2", "--queues", "20", "--repeat", "1"],
    "bench_dashboard.py": ["--repeat", "2", "--messages", "200"],
    "bench_drops_total.py": ["--sizes", "100,200", "--repeat", "1"],
    "bench_health.py": ["--sizes", "1000,2000", "--repeat", "1"],
    "bench_ingest.py": ["--megabytes", "1"],
    "bench_lag.py": ["--big-events", "200", "--repeat", "1"],
    "bench_lag_rollup.py": ["--events", "4800", "--days", "1", "--repeat", "1"],
    "bench_listen.py": ["--messages", "2000", "--senders", "1", "--rate", "5000"],
    "bench_path.py": ["--groups", "40", "--events", "200", "--repeat", "1"],
    "bench_seed.py": ["--events", "2000", "--baseline-events", "500"],
}

smoke_runs_asked = pytest.mark.skipif(
    not os.environ.get("EVENTDEBUG_BENCHMARK_SMOKE"),
    reason="benchmark smoke runs: EVENTDEBUG_BENCHMARK_SMOKE",
)


def test_every_script_has_its_smoke_options():
    assert sorted(SMOKE_OPTIONS) == sorted(path.name for path in BENCHMARKS.glob("bench_*.py"))


# Scripts run at once: most of a smoke run is startup and waiting on the databases.
AT_ONCE = 4


def run_script(script: str) -> subprocess.CompletedProcess:
    """The script at its smoke options, on a PostgreSQL database of its own (a script seeds and
    truncates its tables) named after the test run's, never a full run's."""
    base = os.environ.get("PGDATABASE", "awx_eventdebug")
    environment = {**os.environ, "PGDATABASE": f"{base}_smoke_{script[:-3]}", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *SMOKE_OPTIONS[script]],
        cwd=BENCHMARKS,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def smoke_runs():
    """Every script started, AT_ONCE at a time, when the first test asks for its run."""
    with ThreadPoolExecutor(AT_ONCE) as pool:
        yield {script: pool.submit(run_script, script) for script in SMOKE_OPTIONS}


@smoke_runs_asked
@pytest.mark.parametrize("script", sorted(SMOKE_OPTIONS))
def test_benchmark_runs_at_tiny_sizes(script, smoke_runs):
    run = smoke_runs[script].result()
    assert run.returncode == 0, run.stderr[-3000:]
