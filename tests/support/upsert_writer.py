"""Runs in processes of its own (multiprocessing spawn) for tests/overflow/test_upsert.py: no model import
before django.setup()."""

import os
from datetime import UTC, datetime, timedelta

BASE = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
KEYS = [("node-a", "job_events-1", BASE, "live"), ("node-b", "broadcast-group_send", BASE, "live")]


def setup(env):
    os.environ.update(env)
    import django

    django.setup()


def migrate(env):
    setup(env)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def write(env, start, index, batches):
    """Add ``batches`` batches of one record to both KEYS, the first at the same moment as the
    other writers."""
    setup(env)
    from awx_eventdebug.overflow.upsert import Counts, add_counts

    start.wait()
    for n in range(batches):
        at = BASE + timedelta(milliseconds=index * batches + n)
        keys = KEYS if (index + n) % 2 else KEYS[::-1]
        add_counts({key: Counts(at, at, 1, 2, index * 1000 + n) for key in keys})
