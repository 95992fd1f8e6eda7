"""Database access on the default alias: diagnostic reads (read-only, under a statement timeout)
and the batched deletes of the app's retention purges."""

from __future__ import annotations

import functools
import time
from contextlib import contextmanager

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import QuerySet

from .conf import get_config
from .errors import QueryTimeout, Unavailable, first_line
from .secrets import mask_secrets

# SQLSTATE of "canceling statement due to statement timeout".
QUERY_CANCELED = "57014"
# SQLSTATEs of an undefined table and an undefined column.
MISSING_RELATION = ("42P01", "42703")


# What a database the app cannot reach (refused, no answer, wrong role or name) raises: a
# condition of the diagnosed system, answered 503 / exit 2 wherever it surfaces.
CONNECTION_ERRORS = (OperationalError, InterfaceError)


def database_label() -> str:
    """How every message names the database: vendor, host:port/name; never a password."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite {settings['NAME']}"
    where = f"{settings.get('HOST') or 'localhost'}:{settings.get('PORT') or 5432}/{settings.get('NAME')}"
    return mask_secrets(f"{connection.vendor} {where}")


# Seconds a failed connect attempt is answered from memory: the sections of one report each
# query, and each would otherwise wait the whole connect timeout of a blackholed database again.
UNREACHABLE_FOR = 5.0
_unreachable: dict[str, tuple[float, str]] = {}


def database_failed(exc: DatabaseError) -> Unavailable:
    """``exc`` as one line naming the database."""
    return Unavailable(f"database {database_label()} failed: {first_line(exc)}")


def ensure_reachable() -> None:
    """Connect unless connected; Unavailable naming the database when that fails, or failed less
    than UNREACHABLE_FOR ago."""
    deadline, message = _unreachable.get(connection.alias, (0.0, ""))
    if time.monotonic() < deadline:
        raise Unavailable(message)
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        error = database_failed(exc)
        _unreachable[connection.alias] = (time.monotonic() + UNREACHABLE_FOR, error.message)
        raise error from exc


def bound_connect() -> None:
    """Give this process's connections a connect timeout (EVENTDEBUG['CONNECT_TIMEOUT']) unless
    DATABASES sets one: libpq waits forever for a host that accepts and never answers. Only for
    the commands' own processes; AWX's web processes keep their settings."""
    if connection.vendor == "postgresql":
        connection.settings_dict["OPTIONS"].setdefault("connect_timeout", get_config()["CONNECT_TIMEOUT"])


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
        ensure_reachable()
        try:
            return function(*args, **kwargs)
        except DatabaseError as exc:
            if is_missing_relation(exc):
                raise Unavailable(
                    f"the app's tables are missing ({first_line(exc)}).",
                    hint="Run `awx-manage migrate awx_eventdebug` (`manage.py migrate` outside AWX).",
                ) from exc
            raise database_failed(exc) from exc

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
    ensure_reachable()
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
        if is_missing_relation(exc):
            raise  # the caller says which of AWX's tables this AWX lacks
        raise database_failed(exc) from exc


def delete_oldest(rows: QuerySet, age_field: str, batch_size: int, before_delete=None) -> int:
    """Delete up to ``batch_size`` of ``rows``, oldest ``age_field`` first, in one transaction,
    and return how many: a purge never holds locks on many rows. On PostgreSQL the rows are
    locked first and those another purge holds are skipped, so purges running at once (the
    maintenance threads of several nodes, a manual `purge`) delete disjoint batches.
    ``before_delete(batch)`` runs in the same transaction, on the locked rows."""
    with transaction.atomic():
        oldest = rows.order_by(age_field).select_for_update(skip_locked=True)
        ids = list(oldest.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return 0
        batch = rows.model.objects.filter(pk__in=ids)
        if before_delete is not None:
            before_delete(batch)
        return batch.delete()[0]


def bound_session_statements() -> None:
    """Put every later statement of this connection's session under STATEMENT_TIMEOUT
    (PostgreSQL): for a background thread, which closes its connection after its work."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            timeout = f"{int(get_config()['STATEMENT_TIMEOUT'] * 1000)}ms"
            cursor.execute("SELECT set_config('statement_timeout', %s, false)", [timeout])
