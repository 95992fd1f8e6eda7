"""One failing section does not stop the rest: the report, the check, the doctor and the
dashboard's tables each compute their parts through ``attempt``, so Redis down, a missing event
table or a statement timeout empties one part, says why, and the others are still there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError

from .db import database_failed, shared_reads
from .errors import EventDebugError

T = TypeVar("T")


def attempt(compute: Callable[[], T]) -> tuple[T | None, str]:
    """``(compute(), "")``, or ``(None, why)`` in one line when it raised an EventDebugError or a
    DatabaseError: conditions of the diagnosed system. Any other exception is a bug of the app
    and still surfaces as one."""
    # The section's reads share a transaction of their own, or within a caller's transaction a
    # savepoint, which a failed statement leaves usable (PostgreSQL aborts the whole transaction
    # otherwise). A section that never queries opens no connection to a database that may be down.
    try:
        with shared_reads():
            return compute(), ""
    except EventDebugError as exc:
        return None, str(exc)
    except DatabaseError as exc:
        return None, str(database_failed(exc))


def section(compute: Callable[[], T], errors: dict[str, str], name: str) -> T | None:
    """``compute()``, or None with why it failed in ``errors[name]``."""
    result, error = attempt(compute)
    if error:
        errors[name] = error
    return result
