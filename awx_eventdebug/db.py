"""Database access on the default alias: every statement the app runs under a statement and a lock
timeout (and JIT off), diagnostic reads of AWX's tables read-only, the batched deletes of the app's
retention purges, errors named for the database they come from."""

from __future__ import annotations

import functools
import hashlib
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.models import QuerySet

from .conf import get_config
from .errors import QueryTimeout, Unavailable, first_line
from .secrets import mask_secrets

# SQLSTATEs of "canceling statement due to statement timeout" and "... due to lock timeout".
QUERY_CANCELED = "57014"
LOCK_NOT_AVAILABLE = "55P03"
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


def timeouts() -> dict[str, float]:
    """Seconds of the PostgreSQL timeouts every statement of the app runs under: STATEMENT_TIMEOUT,
    and half of it for a wait on a lock, so that a table another session holds (a migration,
    VACUUM FULL, pg_repack) is named as such, and a statement that got its lock keeps the other
    half to run."""
    seconds = get_config()["STATEMENT_TIMEOUT"]
    return {"statement_timeout": seconds, "lock_timeout": seconds / 2}


def statement_settings() -> dict[str, str]:
    """The PostgreSQL settings every statement of the app runs under: timeouts() in milliseconds
    (never 0 ms, which PostgreSQL reads as no timeout), and JIT off: the planner turns it on from
    cost alone, and over a million events compiling the app's few expressions costs ~100 ms and
    gains nothing."""
    values = {name: f"{max(1, round(seconds * 1000))}ms" for name, seconds in timeouts().items()}
    return {**values, "jit": "off"}


def _current_settings(cursor) -> dict[str, str]:
    names = list(statement_settings())
    cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)), names)
    return dict(zip(names, cursor.fetchone(), strict=True))


def _set_settings(cursor, values: dict[str, str], is_local: bool) -> None:
    """Set ``values`` for the transaction (``is_local``) or the session, in one round trip."""
    cursor.execute(
        "SELECT " + ", ".join(["set_config(%s, %s, %s)"] * len(values)),
        [part for name, value in values.items() for part in (name, value, is_local)],
    )


@contextmanager
def bounded_transaction(using: str = DEFAULT_DB_ALIAS, read_only: bool = False, event_tables: bool = False):
    """A transaction whose statements run under statement_settings(): the timeouts (PostgreSQL
    cancels one that runs longer, or waits longer for a lock) and JIT off; with ``read_only``, a
    read-only one. One round trip sets them all.

    Inside shared_reads(), a read-only one is the part's shared transaction, the last of it when
    it reads AWX's ``event_tables``; any other first ends that one (commits it), so that it may
    write. (A writer inside a read, or inside an atomic block opened after a read, cannot end it,
    and would fail as a savepoint of a read-only transaction: no part writes there.)

    Inside an enclosing transaction (a caller's atomic block, a test) it is a savepoint: the
    access mode cannot change any more, and the settings are put back on leaving it (rolling the
    savepoint back puts them back too), so the caller's own statements keep theirs."""
    shared = _shared_reads.get()
    if shared is not None and shared.using == using and shared.innermost():
        if read_only:
            with shared.read(last=event_tables):
                yield
            return
        shared.end()
    target = connections[using]
    postgres = target.vendor == "postgresql"
    outer = target.in_atomic_block
    with transaction.atomic(using=using):
        if postgres:
            values = statement_settings()
            with target.cursor() as cursor:
                if outer:
                    previous = _current_settings(cursor)
                elif read_only:  # SET TRANSACTION READ ONLY, in the settings' round trip
                    values = {"transaction_read_only": "on", **values}
                _set_settings(cursor, values, is_local=True)
        yield
        if postgres and outer:
            with target.cursor() as cursor:
                _set_settings(cursor, previous, is_local=True)


class _SharedReads:
    """The read-only bounded transaction the reads of a shared_reads() block share: opened by a
    read, ended by a read of AWX's event tables once it is done (their locks go with their
    statement, as in a transaction of their own: AWX's hourly CREATE TABLE ... PARTITION OF waits
    for them under an ACCESS EXCLUSIVE lock, and the callback receiver's inserts behind it), by a
    read that fails (rolled back, so that every read fails alone), by a read that may write, or by
    the end of the block or of a block inside it; the next read opens another."""

    def __init__(self, using: str):
        self.using = using
        self.atomic = None  # the open transaction's atomic block
        self.reading = False

    def innermost(self) -> bool:
        """Not within one of its own reads, and either open as the innermost block or not open
        with no transaction around: a caller's atomic block keeps its savepoints."""
        target = connections[self.using]
        if self.reading:
            return False
        if self.atomic is None:
            return not target.in_atomic_block
        return bool(target.atomic_blocks) and target.atomic_blocks[-1] is self.atomic

    @contextmanager
    def read(self, last: bool):
        target = connections[self.using]
        if self.atomic is not None and (target.needs_rollback or _aborted(target)):
            # A statement outside the reads failed, and its error was swallowed on the way.
            target.set_rollback(True)
            self.end()
        if self.atomic is None:
            atomic = transaction.atomic(using=self.using)
            atomic.__enter__()
            self.atomic = atomic
            try:
                with target.cursor() as cursor:
                    _set_settings(cursor, {"transaction_read_only": "on", **statement_settings()}, True)
            except BaseException as exc:
                self.end(exc)
                raise
        self.reading = True
        try:
            yield
        except BaseException as exc:
            self.reading = False
            self.end(exc)
            raise
        self.reading = False
        if last:
            self.end()

    def end(self, exc: BaseException | None = None) -> None:
        """Commit the open transaction, or with ``exc`` roll it back."""
        atomic, self.atomic = self.atomic, None
        if atomic is not None:
            atomic.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)


# libpq's PQTRANS_INERROR, the transaction status psycopg and psycopg2 both give: a statement
# failed, and the transaction accepts no other until it is rolled back.
_INERROR = 3


def _aborted(target) -> bool:
    info = getattr(target.connection, "info", None)
    return info is not None and int(info.transaction_status) == _INERROR


_shared_reads: ContextVar[_SharedReads | None] = ContextVar("awx_eventdebug_shared_reads", default=None)


@contextmanager
def shared_reads(using: str = DEFAULT_DB_ALIAS):
    """One section of a report (sections.attempt): its read-only reads (diagnostic_cursor,
    app_tables_read) share bounded transactions on PostgreSQL, each ending with the section (none
    stays open while another section waits on Redis), with its read of AWX's event tables (no
    lock on them outlives that read) or with a read that fails (which still fails alone): the
    reads before a read of the event tables pay BEGIN, the bounds and COMMIT (about 0.6 ms) once
    rather than each. Within a caller's transaction it is a savepoint, which leaves that
    transaction usable after a failed statement; on SQLite (whose read transaction would hold off
    the writers) each read keeps its own transaction."""
    target = connections[using]
    shared = _shared_reads.get()
    if shared is not None and shared.using == using and shared.innermost():
        with _ending(shared):
            yield
    elif target.in_atomic_block:
        with transaction.atomic(using=using):
            yield
    elif target.vendor != "postgresql":
        yield
    else:
        shared = _SharedReads(using)
        token = _shared_reads.set(shared)
        try:
            with _ending(shared):
                yield
        finally:
            _shared_reads.reset(token)


@contextmanager
def _ending(shared: _SharedReads):
    """End the shared transaction when the block ends: committed, or rolled back on an exception."""
    try:
        yield
    except BaseException as exc:
        if shared.innermost():
            shared.end(exc)
        raise
    if shared.innermost():
        try:
            shared.end()
        except DatabaseError:
            pass  # read-only: the reads inside answered; the next read names a broken connection


def bound_session_statements() -> None:
    """Put every later statement of this connection's session under statement_settings()
    (PostgreSQL): for a background thread, which closes its connection after its work."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            _set_settings(cursor, statement_settings(), is_local=False)


def lock_key(name: str) -> int:
    """The key of the app's advisory lock ``name``: a signed 64-bit number."""
    digest = hashlib.blake2b(f"awx_eventdebug.{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def try_lock(name: str):
    """True while this session holds the advisory lock ``name``, False when another session does
    (pg_try_advisory_lock: never waits). SQLite has no advisory locks: always True there."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def bounded_session():
    """bound_session_statements, put back on leaving: for code on a connection of the app's own
    (the maintenance thread's, a command's process) that commits in transactions of its own."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        previous = _current_settings(cursor)
    bound_session_statements()
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                _set_settings(cursor, previous, is_local=False)
        except DatabaseError:
            pass  # a broken connection is dropped; in a failed transaction, its rollback puts them back


def timeout_error(exc: DatabaseError, hint: str) -> QueryTimeout | None:
    """``exc`` as a QueryTimeout naming the database and the timeout that ended the statement;
    None when no timeout did. ``hint`` says how to make a slow statement cheaper."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    limits = timeouts()
    if sqlstate == QUERY_CANCELED:
        what = f"ran longer than the statement timeout ({limits['statement_timeout']:g} s)"
    elif sqlstate == LOCK_NOT_AVAILABLE:
        what = (
            f"waited longer than the lock timeout ({limits['lock_timeout']:g} s) for a table another "
            "session holds"
        )
        hint = "A migration, VACUUM FULL or pg_repack may hold it: ask again when it is done."
    else:
        return None
    return QueryTimeout(f"database {database_label()}: the statement {what}.", hint=hint)


# What makes the statements on the app's own tables cheaper.
APP_TABLES_HINT = "Purge old rows (`eventdebug purge`), or raise EVENTDEBUG['STATEMENT_TIMEOUT']."


def _on_app_tables(function, bound):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        ensure_reachable()
        try:
            with bound():
                return function(*args, **kwargs)
        except DatabaseError as exc:
            timeout = timeout_error(exc, APP_TABLES_HINT)
            if timeout is not None:
                raise timeout from exc
            if is_missing_relation(exc):
                raise Unavailable(
                    f"the app's tables are missing ({first_line(exc)}).",
                    hint="Run `awx-manage migrate awx_eventdebug` (`manage.py migrate` outside AWX).",
                ) from exc
            raise database_failed(exc) from exc

    return wrapper


def app_tables(function):
    """Decorate a function reading or writing the app's own tables (overflow rows, ingest
    fingerprints, rollups, snapshots) as one unit of work: one bounded_transaction. A database
    error, a timeout included, becomes Unavailable (503 / exit 2) naming the database, not a
    traceback; a missing table means `migrate` was not run after installing the app."""
    return _on_app_tables(function, bounded_transaction)


def app_tables_read(function):
    """app_tables for a function that only reads: a read-only transaction, the one its part of a
    report shares inside shared_reads()."""
    return _on_app_tables(function, functools.partial(bounded_transaction, read_only=True))


def app_tables_session(function):
    """app_tables for a function that commits in transactions of its own on a connection of the
    app's own (the maintenance thread's, a command's process): its whole session is bounded."""
    return _on_app_tables(function, bounded_session)


@contextmanager
def diagnostic_cursor(narrow_hint: str = "", event_tables: bool = False):
    """A cursor for diagnostic reads of AWX's tables, in a read-only bounded_transaction; say
    ``event_tables`` when it reads AWX's event tables (see shared_reads).

    A timeout raises QueryTimeout carrying ``narrow_hint`` (how the caller can make the query
    cheaper); a missing table or column is raised as it is, for the caller to say which of AWX's
    tables this AWX lacks.
    """
    ensure_reachable()
    try:
        with bounded_transaction(read_only=True, event_tables=event_tables), connection.cursor() as cursor:
            yield cursor
    except DatabaseError as exc:
        timeout = timeout_error(exc, narrow_hint)
        if timeout is not None:
            raise timeout from exc
        if is_missing_relation(exc):
            raise
        raise database_failed(exc) from exc


@app_tables
def delete_oldest(rows: QuerySet, age_field: str, batch_size: int, before_delete=None) -> int:
    """Delete up to ``batch_size`` of ``rows``, oldest ``age_field`` first, in one bounded
    transaction, and return how many: a purge never holds locks on many rows. On PostgreSQL the
    rows are locked first and those another purge holds are skipped, so purges running at once
    (the maintenance threads of several nodes, a manual `purge`) delete disjoint batches.
    ``before_delete(batch)`` runs in the same transaction, on the locked rows."""
    oldest = rows.order_by(age_field).select_for_update(skip_locked=True)
    ids = list(oldest.values_list("pk", flat=True)[:batch_size])
    if not ids:
        return 0
    batch = rows.model.objects.filter(pk__in=ids)
    if before_delete is not None:
        before_delete(batch)
    return batch.delete()[0]
