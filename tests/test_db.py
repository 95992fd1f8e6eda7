from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from awx_eventdebug.columns import SOURCE_LIVE
from awx_eventdebug.db import bounded_session, bounded_transaction, diagnostic_cursor, shared_reads
from awx_eventdebug.errors import QueryTimeout, Unavailable
from awx_eventdebug.models import ChannelOverflow
from awx_eventdebug.overflow.queries import OverflowFilter, list_overflow
from awx_eventdebug.sections import attempt
from tests.support.fault_sweep import locked


def timeouts_now() -> tuple[str, str, str]:
    """The settings bounded_transaction sets and puts back: the two timeouts and JIT."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), "
            "current_setting('jit')"
        )
        return cursor.fetchone()


@pytest.mark.django_db
def test_plain_reads_work():
    with diagnostic_cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@pytest.mark.postgres_only(reason="statement timeouts")
@pytest.mark.django_db
def test_statement_timeout_raises_query_timeout_with_the_hint(settings):
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 0.05}
    with pytest.raises(QueryTimeout) as caught:
        with diagnostic_cursor(narrow_hint="Pass a job.") as cursor:
            cursor.execute("SELECT pg_sleep(2)")
    assert caught.value.http_status == 503
    assert "statement timeout (0.05 s)" in str(caught.value) and "Pass a job." in str(caught.value)


@pytest.mark.postgres_only(reason="statement timeouts")
@pytest.mark.django_db
def test_timeouts_are_put_back_inside_an_enclosing_transaction(settings):
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 0.05}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = on")
    before = timeouts_now()
    with diagnostic_cursor():
        assert timeouts_now() == ("50ms", "25ms", "off")
    assert timeouts_now() == before


@pytest.mark.postgres_only(reason="a second PostgreSQL session holding a table lock")
@pytest.mark.django_db
def test_a_locked_app_table_fails_one_call_and_not_the_callers_transaction(settings):
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 0.4}
    before = timeouts_now()
    with locked(ChannelOverflow._meta.db_table):
        with pytest.raises(QueryTimeout, match=r"waited longer than the lock timeout \(0\.2 s\)") as caught:
            list_overflow(OverflowFilter())
    assert caught.value.http_status == 503 and "database postgresql " in str(caught.value)
    # The test's transaction, which enclosed the call, goes on.
    assert list_overflow(OverflowFilter())["count"] == 0
    assert timeouts_now() == before


@pytest.mark.postgres_only(reason="statement timeouts")
@pytest.mark.django_db(transaction=True)
def test_a_transaction_of_its_own_and_a_bounded_session_set_the_same_and_put_the_session_back(settings):
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 0.05}
    with connection.cursor() as cursor:
        cursor.execute("SET jit = on")
    before = timeouts_now()
    with diagnostic_cursor() as cursor:
        cursor.execute("SELECT current_setting('transaction_read_only')")
        assert (*timeouts_now(), cursor.fetchone()[0]) == ("50ms", "25ms", "off", "on")
    assert timeouts_now() == before  # SET LOCAL: gone with the transaction
    with bounded_session():
        assert timeouts_now() == ("50ms", "25ms", "off")
    assert timeouts_now() == before


@pytest.mark.postgres_only(reason="read-only transactions")
@pytest.mark.django_db(transaction=True)
def test_diagnostic_transactions_are_read_only():
    with pytest.raises(Unavailable, match="read-only transaction"):
        with diagnostic_cursor() as cursor:
            cursor.execute(
                "INSERT INTO main_unifiedjob (created, modified, name, launch_type, status, elapsed) "
                "VALUES (now(), now(), 'x', 'manual', 'new', 0)"
            )


def transaction_started(read: str = "SELECT transaction_timestamp()", event_tables: bool = False) -> tuple:
    """When the transaction of a diagnostic read started, and its bounds: the same start for the
    reads of one transaction."""
    with diagnostic_cursor(event_tables=event_tables) as cursor:
        cursor.execute(read)
        started = cursor.fetchone()[0]
        cursor.execute("SELECT current_setting('transaction_read_only')")
        return started, *timeouts_now(), cursor.fetchone()[0]


BOUNDED_READ_ONLY = ("50ms", "25ms", "off", "on")


@pytest.fixture
def short_timeouts(settings):
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 0.05}


@contextmanager
def settings_statements():
    """The statements that set a transaction's bounds, as they run."""
    found = []

    def record(execute, sql, params, many, context):
        if "set_config" in sql:
            found.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield found


@pytest.mark.postgres_only(reason="shared_reads shares PostgreSQL transactions only")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("short_timeouts")
def test_the_reads_inside_shared_reads_share_one_bounded_read_only_transaction():
    before = timeouts_now()
    with settings_statements() as bounds, shared_reads():
        first, *bounded = transaction_started()
        assert list_overflow(OverflowFilter())["count"] == 0  # the app's tables, read only
        second, *still = transaction_started()
    assert first == second and bounded == still == list(BOUNDED_READ_ONLY)
    assert len(bounds) == 1
    # A read of AWX's event tables is the last of its transaction: no lock on them outlives it.
    with shared_reads():
        first = transaction_started()
        events = transaction_started(event_tables=True)
        after = transaction_started()
    assert first[0] == events[0] != after[0] and after[1:] == BOUNDED_READ_ONLY
    assert timeouts_now() == before and not connection.in_atomic_block
    # Outside it, each read has a transaction of its own.
    assert transaction_started()[0] != transaction_started()[0]


@pytest.mark.postgres_only(reason="statement timeouts")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("short_timeouts")
def test_a_read_that_fails_inside_shared_reads_fails_alone():
    with shared_reads():
        first = transaction_started()
        with pytest.raises(QueryTimeout):
            transaction_started("SELECT pg_sleep(1)")
        after_timeout = transaction_started()
        with pytest.raises(DatabaseError, match="no_such_table_here"):
            transaction_started("SELECT 1 FROM no_such_table_here")
        after_missing = transaction_started()
        # A statement of a section's own, outside any read, fails alone too.
        assert attempt(lambda: connection.cursor().execute("SELECT 1 FROM no_such_table_here"))[1]
        after_section = transaction_started()
    assert first[1:] == after_timeout[1:] == after_missing[1:] == after_section[1:] == BOUNDED_READ_ONLY
    assert len({first[0], after_timeout[0], after_missing[0], after_section[0]}) == 4


@pytest.mark.postgres_only(reason="read-only transactions")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("short_timeouts")
def test_a_write_inside_shared_reads_ends_the_shared_transaction_and_commits():
    with shared_reads():
        before = transaction_started()
        with bounded_transaction():
            now = timezone.now()
            ChannelOverflow.objects.create(
                group="g",
                node="n",
                window_start=now,
                first_seen=now,
                last_seen=now,
                drops=1,
                queues_over=1,
                max_group_size=1,
                source=SOURCE_LIVE,
            )
        after = transaction_started()
    assert before[0] != after[0] and after[1:] == BOUNDED_READ_ONLY
    assert ChannelOverflow.objects.count() == 1


@pytest.mark.postgres_only(reason="shared_reads shares PostgreSQL transactions only")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("short_timeouts")
def test_a_section_ends_its_transaction_and_a_swallowed_failure_spoils_no_later_read():
    with shared_reads():
        outer = transaction_started()
        with shared_reads():  # a section inside another: its end ends the transaction
            inner = transaction_started()
        after_section = transaction_started()
        try:  # a failed statement whose error someone swallowed (AWX's settings do)
            connection.cursor().execute("SELECT 1 FROM no_such_table_here")
        except DatabaseError:
            pass
        after_failure = transaction_started()
    assert outer[0] == inner[0] != after_section[0] != after_failure[0]
    assert after_failure[1:] == BOUNDED_READ_ONLY
