"""The overflow parameters (overflow/params.py): one validation, the same message from both faces."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.overflow.test_api import LIST, SUMMARY, get, run

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (LIST, {"page": "0"}, "page"),
        (LIST, {"page_size": "5000"}, "page_size"),
        (LIST, {"page": "two"}, "page"),
        (LIST, {"source": "file"}, "source"),
        (LIST, {"since": "yesterday"}, "since"),
        (LIST, {"since": "999999999d"}, "since"),
        (LIST, {"since": "2026-11-27T10:00:00Z", "until": "2026-11-27T09:00:00Z"}, "until"),
        (LIST, {"group": "g" * 300}, "group"),
        (LIST, {"node": "a\x00b"}, "node"),
        (SUMMARY, {"timeline": "day"}, "timeline"),
        (SUMMARY, {"limit": "0"}, "limit"),
        (SUMMARY, {"until": "99999-01-01"}, "until"),
    ],
)
def test_bad_query_is_a_400_naming_the_field(admin_client, url, params, field):
    status, body = get(admin_client, url, **params)
    assert status == 400
    assert field in body


def test_command_bad_options_name_them():
    with pytest.raises(CommandError, match="--page-size:") as caught:
        run("--page-size", "0")
    assert caught.value.returncode == 2
    with pytest.raises(CommandError, match="--timeline:"):
        run("--summary", "--timeline", "week")
    assert "No channel overflow" in run()


def test_bad_age_is_a_command_error():
    with pytest.raises(CommandError, match="--older-than: 'a month'") as caught:
        call_command("eventdebug", "purge", "--older-than", "a month", stdout=StringIO())
    assert caught.value.returncode == 2


@pytest.mark.parametrize(
    ("option", "value", "field", "url"),
    [
        ("--page", "two", "page", LIST),
        ("--page-size", "0", "page_size", LIST),
        ("--limit", "x", "limit", SUMMARY),
    ],
)
def test_both_faces_give_the_same_message(admin_client, option, value, field, url):
    _, body = get(admin_client, url, **{field: value})
    summary = ("--summary",) if url == SUMMARY else ()
    with pytest.raises(CommandError) as caught:
        run(*summary, option, value)
    assert str(caught.value) == f"{option}: {' '.join(body[field])}"
    assert caught.value.returncode == 2


@pytest.mark.parametrize(
    "age, message",
    [("99999999d", "out of range."), ("999999999999999d", "'999999999999999d' is too long")],
)
def test_an_age_beyond_the_calendar_is_a_command_error(age, message):
    with pytest.raises(CommandError, match=f"^--older-than: {message}$") as caught:
        call_command("eventdebug", "purge", "--older-than", age, "--dry-run", stdout=StringIO())
    assert caught.value.returncode == 2
