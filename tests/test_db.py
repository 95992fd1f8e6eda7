import pytest
from django.db import connection

from awx_eventdebug.db import diagnostic_cursor
from awx_eventdebug.errors import QueryTimeout, Unavailable


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
def test_timeout_is_put_back_inside_an_enclosing_transaction(settings):
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 0.05}
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
    with diagnostic_cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "50ms"
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == before


@pytest.mark.postgres_only(reason="read-only transactions")
@pytest.mark.django_db(transaction=True)
def test_diagnostic_transactions_are_read_only():
    with pytest.raises(Unavailable, match="read-only transaction"):
        with diagnostic_cursor() as cursor:
            cursor.execute(
                "INSERT INTO main_unifiedjob (created, modified, name, launch_type, status, elapsed) "
                "VALUES (now(), now(), 'x', 'manual', 'new', 0)"
            )
