"""GET runbook/: the runbook as a page, where each cause's ``runbook`` link and each alert rule's
``runbook_url`` lead (path/hop.py runbook_url).

Its one text is docs/runbook.md; awx_eventdebug/runbook.md points to it, so the package (and the
wheel, which copies what it points to) carries it. Rendered with Python-Markdown when importable
(AWX ships Markdown 3.5.2 on 24.6.1 and devel), else as its text under each heading; either way
each heading's anchor is the one GitHub makes (path/hop.py anchor), so a link works on both. A
JSON client (``Accept: application/json``, ``?format=json``) gets the text itself and each
section's heading by its anchor.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from rest_framework.response import Response

from ..path.hop import anchor
from .views import DashboardView

RUNBOOK = Path(__file__).resolve().parent.parent / "runbook.md"
HEADING = re.compile(r"^(#{1,3}) (.+)$", flags=re.MULTILINE)


@cache
def runbook_text() -> str:
    """Read once per process: the file changes only with the package."""
    return RUNBOOK.read_text(encoding="utf-8")


def runbook_html(text: str) -> SafeString:
    try:
        import markdown
    except ImportError:
        return plain_html(text)
    toc = {"slugify": lambda heading, separator: anchor(heading)}
    return mark_safe(
        markdown.markdown(text, extensions=["tables", "fenced_code", "toc"], extension_configs={"toc": toc})
    )


def plain_html(text: str) -> SafeString:
    """Each heading with its anchor, what follows it as written."""
    parts = HEADING.split(text)  # text, then (hashes, heading, text) for each heading
    out = [f"<pre>{escape(parts[0].strip())}</pre>" if parts[0].strip() else ""]
    for hashes, heading, body in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        level = len(hashes)
        out.append(f'<h{level} id="{anchor(heading)}">{escape(heading)}</h{level}>')
        if body.strip():
            out.append(f"<pre>{escape(body.strip())}</pre>")
    return mark_safe("\n".join(out))


class RunbookView(DashboardView):
    """A page of the dashboard's: its permission rule, the login form for an anonymous visitor."""

    template_name = "awx_eventdebug/runbook.html"
    query_serializer_class = None

    def get(self, request):
        text = runbook_text()
        if not self.answers_html():
            sections = {anchor(heading): heading for _, heading in HEADING.findall(text)}
            return Response({"markdown": text, "sections": sections})
        return Response({"runbook": runbook_html(text)})
