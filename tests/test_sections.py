"""One failing section does not stop the rest: a result or why it failed, in one line, for
conditions of the diagnosed system only; and a failed statement does not spoil the next section."""

import pytest
from django.db import DatabaseError, connection

from awx_eventdebug.db import database_label
from awx_eventdebug.errors import Unavailable
from awx_eventdebug.sections import attempt, section


def redis_down():
    raise Unavailable("redis redis://h:6379 unreachable", hint="Check that Redis runs.")


def missing_table():
    raise DatabaseError('relation "main_jobevent" does not exist\nLINE 1: SELECT 1 FROM main_jobevent')


def test_a_result_or_why_it_failed_in_one_line():
    assert attempt(lambda: 42) == (42, "")
    assert attempt(redis_down) == (None, "redis redis://h:6379 unreachable. Check that Redis runs.")
    result, why = attempt(missing_table)
    assert (
        result is None
        and why == f'database {database_label()} failed: relation "main_jobevent" does not exist'
    )


def test_a_bug_of_the_app_is_not_a_failing_section():
    with pytest.raises(ZeroDivisionError):
        attempt(lambda: 1 / 0)


def test_section_records_why_under_its_name():
    errors = {}
    assert section(lambda: {"queues": []}, errors, "lag") == {"queues": []}
    assert section(redis_down, errors, "channel_layer") is None
    assert section(missing_table, errors, "overflow") is None
    assert errors == {
        "channel_layer": "redis redis://h:6379 unreachable. Check that Redis runs.",
        "overflow": f'database {database_label()} failed: relation "main_jobevent" does not exist',
    }


def test_a_section_that_never_queries_opens_no_connection():
    # No django_db mark: pytest-django fails any attempt to reach the database, so a Redis-only
    # section still runs when the database is down.
    assert attempt(lambda: "read from redis") == ("read from redis", "")


@pytest.mark.django_db
def test_a_failed_statement_leaves_the_transaction_usable_for_the_next_section():
    def select(table):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            return cursor.fetchone()[0]

    assert connection.in_atomic_block  # as in a request, or a test
    result, error = attempt(lambda: select("no_such_table_here"))
    assert result is None and "no_such_table_here" in error and "\n" not in error
    assert attempt(lambda: select("django_migrations"))[0] > 0
