"""Diagnostic database access: read-only, under a statement timeout, on the default alias."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction

from .conf import get_config
from .errors import QueryTimeout

# SQLSTATE of "canceling statement due to statement timeout".
QUERY_CANCELED = "57014"


@contextmanager
def diagnostic_cursor(narrow_hint: str = ""):
    """A cursor for diagnostic reads of AWX's tables.

    On PostgreSQL the statements run in a read-only transaction with ``statement_timeout`` set
    from EVENTDEBUG['STATEMENT_TIMEOUT']; a timeout raises QueryTimeout carrying
    ``narrow_hint`` (how the caller can make the query cheaper). Inside an enclosing transaction
    (tests, or a caller's atomic block) the access mode cannot change any more, so only the
    timeout is applied, and put back afterwards.
    """
    postgres = connection.vendor == "postgresql"
    outer = connection.in_atomic_block
    timeout_ms = int(get_config()["STATEMENT_TIMEOUT"] * 1000)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                if not outer:
                    cursor.execute("SET TRANSACTION READ ONLY")
                cursor.execute("SELECT current_setting('statement_timeout')")
                previous = cursor.fetchone()[0]
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{timeout_ms}ms"])
            yield cursor
            if postgres and outer:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
    except DatabaseError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == QUERY_CANCELED:
            raise QueryTimeout(
                f"the query ran longer than the statement timeout ({get_config()['STATEMENT_TIMEOUT']:g} s).",
                hint=narrow_hint,
            ) from exc
        raise
