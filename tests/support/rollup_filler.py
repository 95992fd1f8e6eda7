"""Runs in processes of its own (multiprocessing spawn) for tests/lag/test_rollup.py: no model
import before django.setup()."""

import os


def fill(env, start, since, until):
    """Fill the job rollups of [since, until), starting with the other fillers."""
    os.environ.update(env)
    import django

    django.setup()
    from awx_eventdebug.lag.rollup import fill_rollups

    start.wait()
    left = fill_rollups(kinds=["job"], since=since, until=until)
    assert left == {"job": 0}, left
