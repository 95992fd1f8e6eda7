"""watch goes on through a Redis restart: a failed sample says so on stderr and is retried each
interval, within --retry-for; the summary at the end counts the failed samples."""

import json
import subprocess
import time
from io import StringIO

import pytest
import redis
from django.core.management import CommandError, call_command

from tests.support.channel_layers import fill_groups, layer_config, use_layer
from tests.support.redis_servers import redis_server_process

# Seconds a restarted redis-server may take to answer; generous for a loaded machine.
START_TIMEOUT = 30


def wait_until_answering(port: int) -> None:
    client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        client.close()


class Calls(StringIO):
    """Output that runs ``action`` when a write contains ``text``, the ``times``-th time."""

    def __init__(self, text: str, action, times: int = 1):
        super().__init__()
        self.text, self.action, self.times = text, action, times

    def write(self, written):
        result = super().write(written)
        if self.text in written:
            self.times -= 1
            if self.times == 0:
                self.action()
        return result


@pytest.fixture
def server(settings, key_prefix):
    """A redis-server of this test's own holding the layer's groups: (port, process)."""
    with redis_server_process() as (port, process):
        config = layer_config([f"redis://127.0.0.1:{port}/0"], key_prefix)
        use_layer(settings, config)
        settings.EVENTDEBUG = {"REDIS_TIMEOUT": 0.5}
        fill_groups(config)
        yield port, process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(10)


def test_a_redis_restart_is_retried_and_counted(server):
    port, process = server
    restarted = []

    def restart():
        # The same command line: same port and directory, an empty Redis as after any restart.
        restarted.append(subprocess.Popen(process.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until_answering(port)

    out = Calls('"sample": 2,', lambda: stop(process))
    err = Calls("unreachable", restart, times=2)
    started = time.monotonic()
    try:
        call_command(
            "eventdebug", "watch", "--json", "--interval", "0.2", "--count", "6", stdout=out, stderr=err
        )
    finally:
        for again in restarted:
            stop(again)
    elapsed = time.monotonic() - started

    samples = [json.loads(line) for line in out.getvalue().splitlines()]
    failures = [line for line in err.getvalue().splitlines() if line.startswith("Sample ")]
    assert [sample["sample"] for sample in samples] == [1, 2, 5, 6]
    assert [line.split(" at ")[0] for line in failures] == ["Sample 3", "Sample 4"], err.getvalue()
    assert all(f"127.0.0.1:{port}/0 unreachable" in line and "Retrying" in line for line in failures)
    # The restarted Redis is empty: every member left, measured against the last sample read.
    assert samples[2]["summary"]["groups"] == 0
    assert sum(change["left_count"] for change in samples[2]["membership"]) == 12
    assert samples[2]["seconds"] > 3 * 0.2 - 0.01  # three intervals, to the millisecond
    assert "6 samples: 4 read, 2 failed (Redis unreachable)" in err.getvalue()
    assert elapsed < 60


def test_redis_down_longer_than_retry_for_exits_2(server):
    port, process = server
    out = Calls("Sample 1 at", lambda: stop(process))
    err = StringIO()
    started = time.monotonic()
    with pytest.raises(CommandError, match=f"127.0.0.1:{port}/0 unreachable.*gave up") as error:
        call_command("eventdebug", "watch", "--interval", "0.2", "--retry-for", "1", stdout=out, stderr=err)
    elapsed = time.monotonic() - started
    assert error.value.returncode == 2
    failures = [line for line in err.getvalue().splitlines() if line.startswith("Sample ")]
    assert all("Retrying" in line for line in failures[:-1]) and failures[-1].endswith("Giving up.")
    # Samples at least 0.2 s apart, the first failure retried for 1 s: at most 6 failed samples,
    # fewer on a loaded machine; the first failure always retries.
    assert 2 <= len(failures) <= 6, err.getvalue()
    assert f"{len(failures) + 1} samples: 1 read, {len(failures)} failed" in err.getvalue()
    assert elapsed < 30


def test_redis_unreachable_at_the_first_sample_exits_2_at_once(server):
    port, process = server
    stop(process)
    err = StringIO()
    with pytest.raises(CommandError, match=f"127.0.0.1:{port}/0 unreachable") as error:
        call_command("eventdebug", "watch", "--interval", "0.2", stdout=StringIO(), stderr=err)
    # Nothing was read: a wrong address rather than a restart, not retried.
    assert error.value.returncode == 2 and err.getvalue() == ""
