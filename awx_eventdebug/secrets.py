"""Credentials never leave the process: every text that may name a connection target (a Redis
host, the database, an error message quoting either) goes through ``mask_secrets`` first.

It knows each form redis-py and psycopg accept for a password: URL userinfo
(``redis://user:pw@host``), a ``password=`` query parameter or conninfo keyword, and a
``'password': ...`` key of a dict as repr() shows it (the layer's host dicts, Sentinel's
``sentinel_kwargs``).
"""

from __future__ import annotations

import re

MASK = "****"

_KEYS = r"(?:password|passwd|pwd|sslpassword|sentinel_password)"
# Up to the last @ before the path, as urlsplit reads it: a password may contain an @.
_USERINFO = re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^\s/?#]*(?=@)", re.IGNORECASE)
_KEYWORD = re.compile(rf"(?P<keep>\b{_KEYS}\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s&;,'\"]+)", re.IGNORECASE)
_DICT_KEY = re.compile(
    rf"""(?P<keep>(?P<q>['"]){_KEYS}(?P=q)\s*:\s*)(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|b'[^']*'|[^,}}\s]+)""",
    re.IGNORECASE,
)


def mask_secrets(text: str) -> str:
    """``text`` with every password it spells replaced by ****."""
    for pattern in (_USERINFO, _KEYWORD, _DICT_KEY):
        text = pattern.sub(lambda match: match.group("keep") + MASK, text)
    return text
