import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def fresh_session():
    """run_slot() bounds its session's statements, as on the thread's own connection: the tests
    after get a session of their own."""
    yield
    connection.close()
