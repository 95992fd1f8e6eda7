import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from io import StringIO

import pytest
import redis
from channels_redis.core import RedisChannelLayer
from django.core.management import CommandError, call_command

from awx_eventdebug.cli.listen import counter_text, membership_line
from example_settings.awxschema.emit import emit_events
from tests.conftest import REDIS_URL
from tests.support import ROOT
from tests.support.redis_servers import redis_server_process
from tests.support.workloads import BASE, add_job


class Terminal(StringIO):
    def isatty(self):
        return True


def listen(*args, stdout=None):
    out = stdout or StringIO()
    err = StringIO()
    call_command("eventdebug", "listen", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_job_or_group_is_required():
    with pytest.raises(CommandError, match=r"\(--job N\) or a group \(--group NAME\)") as error:
        listen()
    assert error.value.returncode == 2


@pytest.mark.parametrize("name", ["job events", "x" * 100, "jobs/1"])
def test_group_name_channels_would_refuse_is_a_usage_error(name):
    with pytest.raises(CommandError, match="is not a group name") as error:
        listen("--group", name)
    assert error.value.returncode == 2


@pytest.mark.parametrize("value", ["0", "-1", "2147483648", "x"])
def test_job_outside_awx_ids_is_a_usage_error(value):
    """The bounds GET lag/ and eventdebug lag accept (awx.tables.MAX_JOB_ID)."""
    with pytest.raises(CommandError, match="--job"):
        listen("--job", value)


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_bad_duration_is_a_usage_error(value):
    with pytest.raises(CommandError, match="--duration"):
        listen("--job", "1", "--duration", value)


def test_unknown_layer_and_unreachable_redis_exit_2(settings):
    with pytest.raises(CommandError, match="no channel layer 'nope'") as error:
        listen("--group", "job_events-1", "--layer", "nope")
    assert error.value.returncode == 2
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": 0.5}
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    with pytest.raises(CommandError, match="unreachable") as error:
        listen("--group", "job_events-1")
    assert error.value.returncode == 2


@pytest.mark.django_db
def test_a_job_that_does_not_exist_is_refused_as_lag_refuses_it(redis_layer_settings):
    """One line naming --job, exit 2, before listening; the same rule as lag's (awx/jobs.py)."""
    with pytest.raises(CommandError) as lag:
        call_command("eventdebug", "lag", "--job", "99999", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError) as error:
        listen("--job", "99999", "--duration", "5")
    assert (error.value.returncode, lag.value.returncode) == (2, 2)
    assert str(error.value) == f"--job: {lag.value}" == "--job: no job with id 99999 in main_unifiedjob."
    update = add_job("project_update", BASE, [0.5])
    with pytest.raises(
        CommandError, match=f"--job: job {update} is of kind project_update, not job. Ask"
    ) as error:
        listen("--job", str(update), "--duration", "5")
    assert error.value.returncode == 2


@pytest.mark.django_db
def test_lines_when_not_a_terminal(redis_layer_settings):
    # Two updates at least, to compare their columns: 20 intervals leave a loaded machine room.
    job = add_job("job", BASE, [0.5])
    out, err = listen("--job", str(job), "--duration", "2", "--interval", "0.1")
    assert f"Listening on job_events-{job}" in err
    updates = [line for line in out.splitlines() if line.startswith("20")]
    assert len(updates) >= 2
    assert len({line.index(" lag ") for line in updates}) == 1  # fixed-width: columns align
    assert "\x1b[" not in out
    assert "stopped        duration" in out
    assert "MAX AVERAGE" in out


def test_redraws_in_place_on_a_terminal(redis_layer_settings):
    out, _ = listen("--group", "job_events-3", "--duration", "2", "--interval", "0.1", stdout=Terminal())
    first, *redraws = out.split("\x1b[9F\x1b[J")  # cursor up the block's 9 lines, clear below
    assert len(redraws) >= 1
    assert first.count("\n") == 9 and first.startswith("job_events-3")
    assert all(redraw.startswith("job_events-3") for redraw in redraws)


def test_json_lines_end_with_the_summary(redis_layer_settings):
    out, _ = listen("--group", "job_events-3", "--duration", "0.5", "--interval", "0.2", "--json")
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["type"] for o in objects[:-1]] == ["update"] * (len(objects) - 1)
    assert objects[-1]["type"] == "summary"
    assert objects[-1]["groups"] == ["job_events-3"]
    assert set(objects[-1]) >= {"lag", "peaks", "counters", "queue", "overall", "stopped", "not_left"}


def start_listen(key_prefix, *args, redis_url=REDIS_URL):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.support.listen_settings",
        "EVENTDEBUG_TEST_PREFIX": key_prefix,
        "EVENTDEBUG_REDIS_URL": redis_url,
    }
    return subprocess.Popen(
        [sys.executable, "example_settings/manage.py", "eventdebug", "listen", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_member(redis_client, key, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = redis_client.zrange(key, 0, -1)
        if found:
            return [m.decode() for m in found]
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"listen never joined {key}")


def read_until(process, predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        report = json.loads(line)
        if predicate(report):
            return report
    raise AssertionError("listen never reported what was expected")


@pytest.mark.parametrize(
    ("signum", "stopped"),
    [(signal.SIGTERM, "terminated"), (signal.SIGINT, "interrupted"), (signal.SIGHUP, "hangup")],
)
def test_signal_stops_with_summary_and_leaves_the_group(redis_client, key_prefix, signum, stopped):
    group_key = f"{key_prefix}:group:job_events-77"
    process = start_listen(key_prefix, "--group", "job_events-77", "--json", "--interval", "0.1")
    try:
        (channel,) = wait_for_member(redis_client, group_key, process)
        assert redis_client.zscore(group_key, channel) is not None
        layer = RedisChannelLayer(hosts=[REDIS_URL], prefix=key_prefix, capacity=10000)
        asyncio.run(emit_events(layer, "job", 77, [1, 2, 3, 5, 6], lag=0.25))
        read_until(process, lambda report: report["events"] == 5)
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    summary = json.loads(out.splitlines()[-1])
    assert summary["type"] == "summary" and summary["stopped"] == stopped
    assert summary["events"] == 5
    assert summary["counters"]["missing"] == 1
    # Backdated 0.25 s; delivery adds the rest, seconds on a loaded machine: the lower bound is exact.
    assert 0.25 <= summary["overall"]["avg_seconds"] < 30
    assert summary["not_left"] == []
    assert redis_client.zscore(group_key, channel) is None
    assert list(redis_client.scan_iter(match=f"{key_prefix}*", count=1000)) == []


def test_redis_stopping_mid_run_prints_the_summary_and_exits_2(key_prefix):
    with redis_server_process() as (port, server):
        process = start_listen(
            key_prefix,
            "--group",
            "job_events-5",
            "--json",
            "--interval",
            "0.1",
            redis_url=f"redis://127.0.0.1:{port}/0",
        )
        wait_for_member(redis.Redis(port=port), f"{key_prefix}:group:job_events-5", process)
        server.terminate()
        server.wait(10)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "redis error while listening" in err and "Traceback" not in err
    summary = json.loads(out.splitlines()[-1])
    assert summary["stopped"] == "error" and summary["not_left"] == ["job_events-5"]
    assert f"ZREM {key_prefix}:group:job_events-5 {summary['channel']}" in err


def test_reader_going_away_stops_quietly_and_leaves_the_group(redis_client, key_prefix):
    group_key = f"{key_prefix}:group:job_events-78"
    process = start_listen(key_prefix, "--group", "job_events-78", "--json", "--interval", "0.05")
    try:
        (channel,) = wait_for_member(redis_client, group_key, process)
        process.stdout.readline()
        process.stdout.close()  # as `listen --json | head -1` does
        process.wait(30)
        err = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert redis_client.zscore(group_key, channel) is None


def test_counters_say_what_is_lost_and_why_the_rest_is_missing():
    causes = {"no_output": 200, "live_updates_off": 0, "rate_limited": 60, "not_stored": 0, "lost": 11}
    counters = {
        "missing": 271,
        "gaps": 27,
        "late": 2,
        "duplicates": 0,
        "lost_counters": 11,
        "cause_counters": {**causes, "unchecked": 0},
    }
    assert counter_text(counters) == (
        "11 lost; 271 missing in 27 gaps (200 not sent by AWX (no output), 60 likely rate-limited by AWX)"
        ", 2 late, 0 duplicates"
    )
    line = membership_line({"group": "job_events-4", "at": "2026-11-30T05:00:00Z", "why": "group_gone"})
    assert line.startswith("Not in group job_events-4 any more at 2026-11-30T05:00:00Z: the group's key")
    assert "daphne start deletes asgi:* keys" in line and line.endswith("did not reach the probe.")
