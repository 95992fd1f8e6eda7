import json
import socket
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from awx_eventdebug.overflow.queries import purge_overflow, table_totals
from awx_eventdebug.overflow.upsert import Counts, add_counts
from tests.support.workloads import add_job, small_workload

pytestmark = pytest.mark.django_db


def run_doctor(*args):
    out = StringIO()
    try:
        call_command("eventdebug", "doctor", *args, stdout=out)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        out.write(f"\nERROR {exc}")
    return code, out.getvalue()


def test_healthy_report_lists_tables_and_rows(redis_layer_settings):
    small_workload()
    code, out = run_doctor("--json")
    assert code == 0
    report = json.loads(out)
    assert report["problems"] == []
    tables = {t["table"]: t for t in report["database"]["tables"]}
    assert set(tables) >= {
        "main_jobevent",
        "main_projectupdateevent",
        "main_inventoryupdateevent",
        "main_adhoccommandevent",
        "main_systemjobevent",
        "main_unifiedjob",
    }
    assert all(t["exists"] for t in tables.values())
    assert tables["main_jobevent"]["approx_rows"] == 100
    assert report["versions"]["Django"]
    assert report["channel_layer"]["ping"][0]["ok"] is True
    assert report["settings"]["LAYER"] == "default"


def test_human_report_is_aligned(redis_layer_settings):
    small_workload()
    code, out = run_doctor()
    assert code == 0
    lines = [line for line in out.splitlines() if line.strip().startswith("main_")]
    assert len(lines) == 6
    assert len({line.index(" yes") for line in lines}) == 1


def test_unreachable_redis_fails_fast_with_masked_password(settings):
    # A socket that accepts connections but never answers: PING must give up at the timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": 0.5}
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://:hunter2@127.0.0.1:{port}/0", "redis://:hunter2@127.0.0.1:1/0"]},
        }
    }
    started = time.monotonic()
    code, out = run_doctor()
    elapsed = time.monotonic() - started
    silent.close()
    assert code == 1
    # Without the timeout PING would wait forever; 10 s leaves a loaded machine room over 0.5 s.
    assert elapsed < 10
    assert "hunter2" not in out
    assert f"redis://:****@127.0.0.1:{port}/0 unreachable" in out
    assert "redis://:****@127.0.0.1:1/0 unreachable" in out
    assert "main_jobevent" in out  # the rest of the report is still there


def test_missing_layer_alias_is_a_problem_not_a_traceback(settings):
    settings.EVENTDEBUG = {"LAYER": "nope"}
    code, out = run_doctor()
    assert code == 1
    assert "no channel layer 'nope'" in out
    assert "awx_eventdebug.W004" in out


def test_capture_counters_say_whose_they_are_beside_the_table_totals(redis_layer_settings, settings):
    settings.CLUSTER_HOST_ID = "awx-1"
    now = timezone.now()
    old = now - timedelta(days=60)
    add_counts(
        {
            ("awx-1", "job_events-1", now, "live"): Counts(now, now, 50, 50, 2),
            ("awx-2", "broadcast-group_send", now, "live"): Counts(now, now, 8, 8, 2),
            ("awx-2", "job_events-2", old, "live"): Counts(old, old, 3, 3, 2),
        }
    )
    # Ingested from a log: recorded from a node, but no live drop.
    add_counts({("awx-3", "job_events-3", old, "ingest"): Counts(old, old, 4, 4, 2)})
    purge_overflow(timedelta(days=30))
    _, out = run_doctor()
    assert "counters of this process (pid " in out and " on awx-1, " in out
    assert (
        "the table, all processes and nodes: 65 drops recorded from 3 nodes, purged rows included "
        "(4 from logs `ingest` read), last " in out
    )
    _, out = run_doctor("--json")
    overflow = json.loads(out)["overflow"]
    assert overflow["table"] == {
        "drops": 65,
        "drops_by_source": {"live": 61, "ingest": 4},
        "nodes": 3,
        # The latest record, read from the rows of the newest windows only.
        "last_seen": now.isoformat().replace("+00:00", "Z"),
    }
    assert overflow["capture"]["process"]["node"] == "awx-1"


def test_the_table_totals_read_no_row_beyond_the_newest_windows():
    """The doctor's (and the report's) table figures cost the same whatever the table holds: the
    totals, the newest window on its index, and the rows of the hour of windows before it."""
    now = timezone.now()
    add_counts(
        {
            ("awx-1", "job_events-1", now - timedelta(days=d), "live"): Counts(now, now, 1, 1, 2)
            for d in range(9)
        }
    )
    with CaptureQueriesContext(connection) as captured:
        assert table_totals()["drops"] == 9
    rows = [q["sql"] for q in captured.captured_queries if "awx_eventdebug_channeloverflow" in q["sql"]]
    assert len(rows) == 2 and "LIMIT 1" in rows[0] and '"window_start" >' in rows[1], rows


def test_the_latest_record_is_found_in_a_wider_window_before_the_newest(settings):
    """A row counts its window's records, CAPTURE_WINDOW long when it was written: after the
    window was narrowed, the latest record can be in an hour-wide row before the newest row."""
    now = timezone.now().replace(microsecond=0)
    hour = now.replace(minute=0, second=0) - timedelta(hours=1)
    late = hour + timedelta(minutes=59)
    add_counts({("awx-1", "job_events-1", hour, "live"): Counts(hour, late, 1, 1, 2)})  # 3600 s wide
    newest = hour + timedelta(minutes=30)
    add_counts({("awx-1", "job_events-2", newest, "live"): Counts(newest, newest, 1, 1, 2)})  # 60 s
    assert table_totals()["last_seen"] == late.isoformat().replace("+00:00", "Z")


def test_doctor_estimates_each_execution_nodes_clock_over_the_health_window(redis_layer_settings):
    start = timezone.now() - timedelta(minutes=5)
    add_job("job", start, [1.0 + 0.01 * n for n in range(30)], nodes=("exec-1", "awx-1"))
    add_job("job", start, [4.0 + 0.01 * n for n in range(30)], nodes=("exec-2", "awx-1"))
    report = json.loads(run_doctor("--json")[1])
    clocks = report["clock_skew"]
    assert {n["node"]: n["verdict"] for n in clocks["nodes"]} == {"exec-1": "in_sync", "exec-2": "behind"}
    assert clocks["window"]["until"] > clocks["window"]["since"]
    out = run_doctor()[1]
    section = out.split("Execution nodes (clock skew estimate)\n")[1]
    assert "execution node exec-2: clock behind by about 3.0 s" in section
