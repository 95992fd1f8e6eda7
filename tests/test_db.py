import pytest
from django.db import connection

from awx_eventdebug.db import bounded_session, diagnostic_cursor
from awx_eventdebug.errors import QueryTimeout, Unavailable
from awx_eventdebug.models import ChannelOverflow
from awx_eventdebug.overflow.queries import OverflowFilter, list_overflow
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
