"""The app's prose as HTML: what a view's docstring or a cause's remedy quotes between backticks
(a command, a field, a setting) shown as code, everything else escaped. Not markdown: DRF renders
descriptions as markdown only where the markdown package is installed, and AWX may run without
it; this reads the same either way."""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# A run of backticks, text without one, the same run: `x` and the docstrings' ``x`` (as
# api.js codeSpans). A lone backtick stays as it is.
CODE_SPAN = re.compile(r"(`+)([^`]+)\1")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def code_spans(text: str) -> SafeString:
    """``text`` escaped, each code span as <code>; escaped first, so nothing in it is markup."""
    return mark_safe(CODE_SPAN.sub(r"<code>\2</code>", escape(text)))


def description_html(text: str) -> SafeString:
    """A docstring's paragraphs (separated by a blank line), each a <p> with its code spans."""
    return mark_safe("".join(f"<p>{code_spans(p.strip())}</p>" for p in PARAGRAPH_BREAK.split(text.strip())))
