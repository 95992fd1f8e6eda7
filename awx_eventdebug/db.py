"""Diagnostic database access: read-only, under a statement timeout, on the default alias."""

from __future__ import annotations

import functools
from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction

from .conf import get_config
from .errors import QueryTimeout, Unavailable, first_line

# SQLSTATE of "canceling statement due to statement timeout".
QUERY_CANCELED = "57014"
# SQLSTATEs of an undefined table and an undefined column.
MISSING_RELATION = ("42P01", "42703")


def is_missing_relation(exc: DatabaseError) -> bool:
    """The statement named a table or column the database does not have (both backends)."""
    if getattr(exc.__cause__, "sqlstate", None) in MISSING_RELATION:
        return True
    return str(exc).startswith(("no such table", "no such column"))


def app_tables(function):
    """Decorate a function reading or writing the app's own tables (overflow rows, ingest
    fingerprints): a database error becomes Unavailable (503 / exit 2) with what to do, not a
    traceback; a missing table means `migrate` was not run after installing the app."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except DatabaseError as exc:
            reason = first_line(exc)
            if is_missing_relation(exc):
                raise Unavailable(
                    f"the app's tables are missing ({reason}).",
                    hint="Run `awx-manage migrate awx_eventdebug` (`manage.py migrate` outside AWX).",
                ) from exc
            raise Unavailable(f"the database failed: {reason}.") from exc

    return wrapper


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
