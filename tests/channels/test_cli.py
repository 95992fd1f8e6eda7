import json
import socket
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from awx_eventdebug.channels.groups import inspect_groups
from awx_eventdebug.cli.channels import duration
from tests.conftest import REDIS_URL
from tests.support.channel_layers import (
    CAPACITY,
    fill_groups,
    layer_config,
    ttls_count_down,
    use_layer,
    without_times,
)


def run(*args):
    out = StringIO()
    try:
        call_command("eventdebug", *args, stdout=out)
        return 0, out.getvalue()
    except CommandError as exc:
        return exc.returncode, f"{out.getvalue()}\nERROR {exc}"


@pytest.fixture
def filled(settings, key_prefix):
    config = layer_config([REDIS_URL], key_prefix)
    use_layer(settings, config)
    layers, joined = fill_groups(config)
    return joined


def test_groups_json_is_the_core_document(filled):
    code, out = run("groups", "--json")
    assert code == 0
    doc = json.loads(out)
    expected = inspect_groups()
    for member in (m for g in doc["groups"] + expected["groups"] for q in g["queues"] for m in q["members"]):
        member.pop("joined_age_seconds")
    assert without_times(doc) == without_times(expected)
    assert ttls_count_down(doc, expected)


def test_groups_human_output_has_summary_and_aligned_rows(filled):
    code, out = run("groups", "--pattern", "job_events-*")
    assert code == 0
    assert "groups 1  members 9  stale 0  queues 6  nearly full 5 (over 80%)  full 5  oldest message" in out
    rows = [line for line in out.splitlines() if "specific." in line or "small." in line]
    assert len(rows) == 6
    assert rows[0].startswith("job_events-1")
    assert len({line.index("100.0%") for line in rows if "100.0%" in line}) == 1


def test_queues_human_output(filled):
    code, out = run("queues", "--min-depth", str(CAPACITY))
    assert code == 0
    assert "queues 6  messages 23  nearly full 5 (over 80%)  full 5" in out
    assert sum(1 for line in out.splitlines() if "specific." in line) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (("groups", "--limit", "0"), "--limit"),
        (("groups", "--timeout", "soon"), "--timeout"),
        (("queues", "--min-depth", "-1"), "--min-depth"),
        (("watch", "--interval", "0"), "--interval"),
    ],
)
def test_bad_options_are_command_errors(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("eventdebug", *args, stdout=StringIO())


def test_unknown_layer_and_no_layers_exit_2(settings):
    code, out = run("groups", "--layer", "nope")
    assert code == 2 and "no channel layer 'nope'" in out
    settings.CHANNEL_LAYERS = {}
    code, out = run("queues")
    assert code == 2 and "configured: none" in out


def test_silent_redis_fails_within_the_timeout_naming_the_host(settings, key_prefix):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    use_layer(settings, layer_config([f"redis://:hunter2@127.0.0.1:{port}/0"], key_prefix))
    # --timeout must override REDIS_TIMEOUT: with the setting's 60 s the command would hang for a
    # minute; 10 s is far below that and leaves a loaded machine room over the 0.5 s asked for.
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": 60}
    started = time.monotonic()
    code, out = run("groups", "--timeout", "0.5")
    elapsed = time.monotonic() - started
    silent.close()
    assert code == 2
    assert elapsed < 10
    error = out.split("ERROR ", 1)[1]
    assert error.startswith(f"redis redis://:****@127.0.0.1:{port}/0 unreachable:")
    assert "hunter2" not in out and "Traceback" not in out


def test_in_memory_and_pubsub_say_what_they_cannot_show(settings, key_prefix):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    code, out = run("groups")
    assert code == 0 and "cannot be seen from another process" in out
    use_layer(
        settings,
        {"hosts": [REDIS_URL], "prefix": key_prefix},
        "channels_redis.pubsub.RedisPubSubChannelLayer",
    )
    code, out = run("groups")
    assert code == 0 and "PUBSUB NUMSUB" in out and "subscribers  0" in out


def test_watch_json_prints_one_object_per_sample(filled):
    code, out = run("watch", "--count", "2", "--interval", "0.1", "--json")
    assert code == 0
    samples = [json.loads(line) for line in out.splitlines()]
    assert [s["sample"] for s in samples] == [1, 2]
    assert samples[0]["seconds"] is None and samples[1]["seconds"] >= 0.1
    assert all(q["rate_per_second"] == 0.0 for q in samples[1]["queues"])
    assert samples[1]["summary"]["groups"] == 2


class CtrlCAfterSecondSample(StringIO):
    """Output that presses Ctrl-C once the second sample is out: the KeyboardInterrupt SIGINT
    raises, raised right here in the main thread. (_thread.interrupt_main() raises it at some
    later point instead, which could land inside the thread pool's locks and hang the test.)"""

    def write(self, text):
        written = super().write(text)
        if "Sample 2 at" in text:
            raise KeyboardInterrupt
        return written


def test_watch_human_and_ctrl_c_is_a_normal_exit(filled):
    out = CtrlCAfterSecondSample()
    call_command("eventdebug", "watch", "--interval", "0.1", "--pattern", "job_events-*", stdout=out)
    text = out.getvalue()
    assert "Sample 1 at" in text and "Sample 2 at" in text and "Sample 3 at" not in text
    assert "+0.0/s" in text


def test_ttl_durations_are_compact():
    assert [duration(v) for v in (None, 59, 119, 7200, 86400, 157784760)] == [
        "none",
        "59s",
        "119s",
        "2h",
        "24h",
        "1826d",
    ]
