"""A refused choice names every choice, whatever face refuses it: each option of every
subcommand that has choices, and each query parameter with choices of every endpoint."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from awx_eventdebug.api.base import EventDebugView
from awx_eventdebug.fields import ChoiceField
from awx_eventdebug.management.commands.eventdebug import Command
from awx_eventdebug.urls import urlpatterns
from tests.support.workloads import required_query

pytestmark = pytest.mark.django_db

# What a subcommand needs before it looks at its other options.
NEEDS = {
    "ingest": ("/dev/null",),
    "listen": ("--group", "job_events-1", "--duration", "0.1"),
    "overflow --timeline": ("--summary",),
}


def options_with_choices():
    parser = Command().create_parser("manage.py", "eventdebug")
    subparsers = next(a for a in parser._actions if a.dest == "subcommand")
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            # Django's own --verbosity aside: argparse refuses it before the subcommand runs.
            if (
                isinstance(action.metavar, str)
                and action.metavar.startswith("{")
                and action.dest != "verbosity"
            ):
                yield name, action.option_strings[-1], action.metavar.strip("{}").split(",")


def test_every_refused_option_lists_its_choices():
    swept = list(options_with_choices())
    assert len(swept) >= 5
    for name, flag, choices in swept:
        with pytest.raises(CommandError) as refused:
            needs = NEEDS.get(name, ()) + NEEDS.get(f"{name} {flag}", ())
            call_command("eventdebug", name, *needs, flag, "bogus", stdout=StringIO())
        message = str(refused.value)
        assert "bogus" in message and all(choice in message for choice in choices), (name, flag, message)


def test_every_refused_query_parameter_lists_its_choices(admin_client):
    swept = 0
    for pattern in urlpatterns:
        view = getattr(pattern.callback, "view_class", None)
        serializer = getattr(view, "query_serializer_class", None) if view else None
        if not (isinstance(view, type) and issubclass(view, EventDebugView) and serializer):
            continue
        for field_name, field in serializer().fields.items():
            if isinstance(getattr(field, "child", field), ChoiceField):
                query = {**required_query(pattern.name), field_name: "bogus"}
                response = admin_client.get(reverse(f"awx_eventdebug:{pattern.name}"), query)
                text = response.content.decode()
                choices = list(getattr(field, "child", field).choices)[: ChoiceField.LISTED]
                assert response.status_code == 400 and all(str(c) in text for c in choices), text
                swept += 1
    assert swept >= 5
