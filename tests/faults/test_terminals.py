"""Names read from Redis and from logs reach a terminal escaped: a group, node or key carrying
ESC]0;...BEL (retitle) or ESC[2J (wipe) shows as text in every human output; JSON keeps it."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from awx_eventdebug.cli.base import escape_controls, terminal_safe
from awx_eventdebug.models import ChannelOverflow

pytestmark = pytest.mark.django_db

HOSTILE = "job_events-\x1b]0;pwned\x07\x1b[2J\r\u202eevil\x9b"
SHOWN = escape_controls(HOSTILE)
HUMAN = [("groups",), ("queues",), ("watch", "--count", "1"), ("overflow",), ("overflow", "--summary")]
HUMAN += [("report",), ("check",), ("doctor",), ("path",), ("sample", "--interval", "60"), ("cleanup",)]


@pytest.fixture
def hostile_names(redis_layer_settings, redis_client, key_prefix):
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
    out = StringIO()
    try:
        call_command("eventdebug", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return out.getvalue() + str(exc)
    return out.getvalue()


@pytest.mark.parametrize("args", HUMAN, ids=" ".join)
def test_human_output_escapes_control_characters(hostile_names, args):
    text = run(*args)
    assert not [c for c in text if c not in "\n\t" and (ord(c) < 32 or 0x7F <= ord(c) <= 0x9F)], repr(text)
    assert "\u202e" not in text
    if args[0] in ("groups", "overflow"):
        assert SHOWN in text


@pytest.mark.parametrize("args", [("groups",), ("overflow",)], ids=" ".join)
def test_json_keeps_the_names_as_they_are(hostile_names, args):
    document = json.dumps(json.loads(run(*args, "--json")), ensure_ascii=False)
    assert json.dumps(HOSTILE, ensure_ascii=False)[1:-1] in document


def test_the_commands_own_colours_survive():
    assert terminal_safe("\x1b[1mHeading\x1b[0m \x1b[2J") == "\x1b[1mHeading\x1b[0m \\x1b[2J"
