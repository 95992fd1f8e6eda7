from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from awx_eventdebug.overflow import install as capture
from tests.support.capture_helpers import drops_by_group
from tests.support.channel_layers import use_layer


@pytest.fixture
def installed(settings):
    settings.EVENTDEBUG = {"CAPTURE_FLUSH_INTERVAL": 3600}
    capture.install()
    yield
    capture.uninstall()


@pytest.mark.django_db(transaction=True)
def test_a_real_overflow_is_captured_and_its_keys_removed(installed, redis_client, key_prefix):
    out = StringIO()
    call_command("make_overflow", "--messages", "15", "--prefix", key_prefix, stdout=out)
    # Queue capacity 10, one queue for all three groups: 5 of the first group's 15 are dropped,
    # then every message of the other two. No seeded jobs here: jobs 1 and 2.
    assert drops_by_group() == {"job_events-1": 5, "broadcast-group_send": 7, "job_events-2": 3}
    assert "15 overflow records captured" in out.getvalue()
    assert not list(redis_client.scan_iter(match=f"{key_prefix}*", count=1000))


@pytest.mark.django_db
def test_refuses_without_the_capture():
    with pytest.raises(CommandError, match="capture is off"):
        call_command("make_overflow")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("make_overflow", "--messages", "0")


@pytest.mark.django_db
def test_redis_down_is_one_line_not_a_traceback(installed, settings):
    from tests.support.redis_servers import closed_port

    with closed_port() as port:
        use_layer(settings, {"hosts": [f"redis://127.0.0.1:{port}/0"]})
        with pytest.raises(
            CommandError, match=f"no demo overflow: Redis redis://127.0.0.1:{port}/0 unreachable"
        ):
            call_command("make_overflow", stdout=StringIO())
