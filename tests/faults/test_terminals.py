"""Names read from Redis, logs and the database reach a terminal escaped: a group, node or key
carrying ESC]0;...BEL (retitle), ESC[2J (wipe), a carriage return or a newline (a forged line
such as "FAKE OK") shows as text on its own line in every human output and every exit message;
JSON keeps it."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from awx_eventdebug.cli.base import escape_controls, terminal_safe
from awx_eventdebug.models import ChannelOverflow

pytestmark = pytest.mark.django_db

FORGED = "FAKE OK: every check passed"
HOSTILE = f"job_events-\x1b]0;pwned\x07\x1b[2J\r\u202eevil\x9b\n{FORGED}\r\n{FORGED}"
SHOWN = escape_controls(HOSTILE)
# Every text output that shows names read from Redis, the overflow table or the snapshots (the
# node is CLUSTER_HOST_ID, as AWX's instance names are).
HUMAN = [("groups",), ("queues",), ("watch", "--count", "1"), ("overflow",), ("overflow", "--summary")]
HUMAN += [("overflow", "--summary", "--timeline", "minute"), ("report",), ("check",), ("doctor",)]
HUMAN += [("sample", "--interval", "60"), ("path",), ("cleanup",)]
# ...and the exit messages quoting such a name, cut (errors.quoted).
QUOTING = [("listen", "--group", HOSTILE, "--duration", "0.2"), ("groups", "--layer", HOSTILE)]
# Where the whole name is shown (the others name the node only, or quote the name cut).
NAMING = {"groups", "queues", "overflow", "report", "check", "path"}


@pytest.fixture
def hostile_names(redis_layer_settings, settings, redis_client, key_prefix):
    settings.CLUSTER_HOST_ID = HOSTILE
    # Written as any client of that Redis could: channels itself refuses such group names.
    redis_client.zadd(f"{key_prefix}:group:{HOSTILE}", {f"specific.{HOSTILE}!x": 1e12})
    redis_client.zadd(f"{key_prefix}specific.{HOSTILE}!", {b"message": 1e12})
    now = timezone.now()
    ChannelOverflow.objects.create(
        node=HOSTILE,
        group=HOSTILE,
        window_start=now - timedelta(minutes=1),
        first_seen=now - timedelta(seconds=30),
        last_seen=now - timedelta(seconds=20),
        drops=3,
        queues_over=3,
        max_group_size=4,
        source="live",
    )


def run(*args):
    """What the terminal shows: stdout, stderr and the exit message."""
    out, err = StringIO(), StringIO()
    try:
        call_command("eventdebug", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue() + err.getvalue() + "\n" + str(exc)
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize("args", HUMAN + QUOTING, ids=lambda args: " ".join(args)[:30])
def test_human_output_escapes_control_characters(hostile_names, args):
    if args[0] == "path":
        run("sample", "--interval", "60")  # the hostile node's snapshot
    text = run(*args)
    assert not [c for c in text if c not in "\n\t" and (ord(c) < 32 or 0x7F <= ord(c) <= 0x9F)], repr(text)
    assert "\u202e" not in text
    assert not [line for line in text.splitlines() if line.lstrip().startswith(FORGED)], text
    if args[0] in NAMING and args not in QUOTING:
        assert SHOWN in text, text


@pytest.mark.parametrize("args", [("groups",), ("overflow",)], ids=" ".join)
def test_json_keeps_the_names_as_they_are(hostile_names, args):
    document = json.dumps(json.loads(run(*args, "--json")), ensure_ascii=False)
    assert json.dumps(HOSTILE, ensure_ascii=False)[1:-1] in document


def test_the_commands_own_colours_survive():
    assert terminal_safe("\x1b[1mHeading\x1b[0m \x1b[2J") == "\x1b[1mHeading\x1b[0m \\x1b[2J"
