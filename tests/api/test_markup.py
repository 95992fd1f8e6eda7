"""What the app's prose quotes between backticks (a command, a field) shows as code in the
browsable API's descriptions and the dashboard's verdict, whether the markdown package is
installed or not; everything else escaped, the quoted text too."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.urls import reverse
from rest_framework.utils import formatting

from awx_eventdebug import urls
from awx_eventdebug.api.base import EventDebugBrowsableAPIRenderer
from awx_eventdebug.api.markup import code_spans, description_html
from tests.support.workloads import required_query

HOSTILE = "`<img src=x onerror=alert(1)>` then <script>alert(2)</script> & a lone ` backtick"
HOSTILE_HTML = (
    "<code>&lt;img src=x onerror=alert(1)&gt;</code> then &lt;script&gt;alert(2)&lt;/script&gt; "
    "&amp; a lone ` backtick"
)
# The routes with a browsable page: their docstring is its description.
BROWSABLE = [
    pattern.name
    for pattern in urls.urlpatterns
    if EventDebugBrowsableAPIRenderer in pattern.callback.view_class.renderer_classes
]


def test_code_spans_escape_first():
    assert code_spans("run `eventdebug lag --by job`, or ``awx-manage`` x") == (
        "run <code>eventdebug lag --by job</code>, or <code>awx-manage</code> x"
    )
    assert code_spans(HOSTILE) == HOSTILE_HTML


def test_a_description_is_its_paragraphs():
    assert (
        description_html("One `a`\nstill one.\n\n  Two.\n")
        == "<p>One <code>a</code>\nstill one.</p><p>Two.</p>"
    )


def description_of(client, route: str) -> str:
    response = client.get(reverse(f"awx_eventdebug:{route}"), required_query(route), HTTP_ACCEPT="text/html")
    assert response.status_code == 200, (route, response.content[:300])
    page = response.content.decode()
    return re.search(r'<div class="pull-left">(.*?)</div>', page, re.S).group(1)


@pytest.fixture
def admin(client, redis_layer_settings):
    client.force_login(get_user_model().objects.create_superuser("admin", "admin@example.invalid", "pw"))
    return client


@pytest.mark.django_db
def test_every_browsable_description_shows_its_code_as_code(admin, monkeypatch):
    assert {"lag", "overflow", "listen-gaps", "check"} <= set(BROWSABLE)
    without = {route: description_of(admin, route) for route in BROWSABLE}
    # With markdown installed, DRF would render the docstrings with it: the app's read the same.
    monkeypatch.setattr(formatting, "apply_markdown", lambda text: "<p>markdown</p>")
    assert {route: description_of(admin, route) for route in BROWSABLE} == without
    for route, description in without.items():
        assert "`" not in description and description.strip().startswith("<p>"), route
    assert "<code>modified - created</code>" in without["lag"]
    assert "<code>lost</code>" in without["listen-gaps"]


def test_the_verdicts_sentences_show_their_code_safely():
    cause = {"hop": 4, "name": "callback receiver", "node": "", "runbook": "docs/runbook.md#x"}
    verdict = {
        "status": "failed",
        "title": "1 check failed",
        "window_length": "15m",
        "failures": [HOSTILE],
        "causes": [{**cause, "cause": HOSTILE, "evidence": HOSTILE, "remedy": HOSTILE}],
        "unchecked": [HOSTILE],
        "rows": [],
    }
    html = render_to_string("awx_eventdebug/verdict.html", {"verdict": verdict, "thresholds": []})
    assert html.count(HOSTILE_HTML) == 5
    assert "<script>" not in html and "<img" not in html
