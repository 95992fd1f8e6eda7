"""Every statement the app runs on its own tables is bounded: with one of them locked by another
session (ACCESS EXCLUSIVE, as a migration, VACUUM FULL or pg_repack hold it), every subcommand
and every endpoint answers within LOCKED_BOUND, under a 1 s STATEMENT_TIMEOUT (so a 0.5 s lock
timeout), never hangs nor shows a traceback; those that read the table say which timeout ended
the statement and name the database (exit 2 or 503; a section of the report, the check, the
metrics or the dashboard, the rest of it still there), and the others answer as usual. The
capture's flusher and the maintenance thread's slot give up on the locked table within the same
bound and write once it is free.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from awx_eventdebug.errors import QueryTimeout
from awx_eventdebug.lag.rollup import fill_rollups
from awx_eventdebug.maintenance.slot import run_slot
from awx_eventdebug.models import ChannelOverflow, LagRollup, NodeSnapshot, OverflowTotal
from awx_eventdebug.overflow.handler import OverflowCaptureHandler
from awx_eventdebug.overflow.queries import cumulative_drops
from awx_eventdebug.overflow.record import OVERFLOW_FORMAT
from awx_eventdebug.path.sampler import WRITTEN, take_sample
from tests.support.capture_helpers import drops_by_group
from tests.support.fault_sweep import base_environment, endpoint_path, every_target, locked, run_probes

pytestmark = pytest.mark.postgres_only(reason="a second PostgreSQL session holding a table lock")

STATEMENT_TIMEOUT = 1.0
# Seconds any one subcommand or request may take with a table locked: each of its sections gives
# up on the lock after half the statement timeout.
LOCKED_BOUND = 10.0
TABLES = sorted(model._meta.db_table for model in apps.get_app_config("awx_eventdebug").get_models())
# Probes that read or write each table, with the defaults each subcommand and endpoint has, and a
# lag window long enough to be answered from the rollups.
READERS = {
    "awx_eventdebug_channeloverflow": {"doctor", "overflow", "ingest", "purge", "path", "report", "check"}
    | {"overflow-api", "overflow-summary", "report-api", "check-api", "metrics", "path-api", "dashboard"},
    # Read by every clock estimate (FALLBACK); the JSON documents say why it was not.
    "awx_eventdebug_clockestimate": {"report", "check", "report-api", "check-api"},
    "awx_eventdebug_ingestedrecord": {"ingest", "purge"},
    # Purge writes the horizon only when it deletes fingerprints, which the probes leave none to.
    "awx_eventdebug_ingesthorizon": {"ingest"},
    # The health figures read their lag from the rollups too (lag/summary.py), and every judgment
    # of a window without events reads them to say when the last was stored. metrics reads them as
    # well, and shows the lag unknown (lag's up 0) without the reason, which report and check give.
    "awx_eventdebug_lagrollup": {"lag-rollups", "lag-rollups-api", "path", "report", "check"}
    | {"path-api", "report-api", "check-api", "dashboard"},
    "awx_eventdebug_metricsreporter": {"metrics"},
    "awx_eventdebug_nodesnapshot": {"path", "sample", "report", "check"}
    | {"report-api", "check-api", "metrics", "path-api", "dashboard"},
    # Written with the rows by every writer (the capture, ingest); read for the drops counter.
    "awx_eventdebug_overflowtotal": {"doctor", "ingest", "report", "report-api", "metrics"},
}
# Tables whose readers do without them: a clock estimate made now when the stored one cannot be
# read (lag/nodes.py), so they answer as usual.
FALLBACK = {"awx_eventdebug_clockestimate"}
# What a reader answers: the failure of a whole command or request, or (these) a document or
# page of which one section says what failed. doctor exits 1, "problem found".
SECTIONED = {"doctor", "path", "report", "report-api", "check-api", "metrics", "path-api", "dashboard"}


def test_every_table_is_swept():
    assert set(READERS) == set(TABLES)


def database_named() -> str:
    database = connection.settings_dict
    return f"database postgresql {database['HOST']}:{database['PORT']}/{database['NAME']}"


# Transactional: the probes' own processes must see the tables, and commit (ingest writes).
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table", TABLES)
def test_every_subcommand_and_endpoint_is_bounded_by_a_locked_table(table, stand_in_rebuilt):
    rollups = {"lag-rollups": "lag --since 24h", "lag-rollups-api": endpoint_path("lag", since="24h")}
    # Filled beforehand: a probe fills what is missing only within its 1 s statement timeout,
    # which a loaded machine spends before a day of minutes is stored.
    for _ in range(20):
        if not any(fill_rollups(since=timezone.now() - timedelta(hours=25)).values()):
            break
    with every_target(rollups) as probes, locked(table):
        answers = run_probes(base_environment(STATEMENT_TIMEOUT=STATEMENT_TIMEOUT), probes, LOCKED_BOUND)
    problems = []
    for name, answer in answers.items():
        output, code = answer["output"], answer.get("exit", answer.get("status"))
        reads = name in READERS[table]
        if not reads or table in FALLBACK:
            allowed = {0, 200} | ({3} if name == "check" else set())  # check: idle, no event (docs/cli.md)
        elif name in SECTIONED:
            allowed = {0, 1, 2, 3, 200}  # report: 2 for a section it could not read
        else:
            allowed = {2, 503}
        allowed |= {3} if name == "check" else set()  # idle: no event in the window (docs/cli.md)
        if code not in allowed or "Traceback" in output:
            shown = output[output.index("Traceback") :] if "Traceback" in output else output
            problems.append(f"{name}: {code} {shown[-400:]}")
        if answer["seconds"] > LOCKED_BOUND:
            problems.append(f"{name}: took {answer['seconds']:.1f} s")
        said = "the lock timeout (0.5 s)" in output
        if reads and not (said and database_named() in output):
            problems.append(f"{name}: does not say the lock timeout of {database_named()}: {output[-400:]}")
        if said and not reads:
            problems.append(f"{name}: reads {table}, which READERS does not list")
    assert not problems, "\n".join(p[:500] for p in problems)


def log_overflow(logger: logging.Logger, group: str, times: int) -> None:
    for _ in range(times):
        logger.info(OVERFLOW_FORMAT, 1, 3, group)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("model", [ChannelOverflow, OverflowTotal], ids=lambda model: model.__name__)
def test_the_capture_keeps_its_records_while_a_table_it_writes_is_locked(settings, model):
    settings.EVENTDEBUG = {"CAPTURE": False, "STATEMENT_TIMEOUT": STATEMENT_TIMEOUT}
    logger = logging.Logger("tests.faults.locked_capture", logging.INFO)
    handler = OverflowCaptureHandler(node="node-a", flush_interval=3600)
    logger.addHandler(handler)
    try:
        log_overflow(logger, "job_events-1", 5)
        with locked(model._meta.db_table):
            started = time.monotonic()
            assert handler.flush(timeout=LOCKED_BOUND) is False
            assert time.monotonic() - started < LOCKED_BOUND
            assert "lock timeout" in handler.stats()["last_error"]
            log_overflow(logger, "job_events-1", 2)
        assert handler.flush(timeout=LOCKED_BOUND)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert drops_by_group() == {"job_events-1": 7}
    assert cumulative_drops() == {("node-a", "job_events"): 7}


@pytest.mark.django_db(transaction=True)
def test_the_maintenance_gives_up_on_a_locked_table_and_works_once_it_is_free(settings, redis_layer_settings):
    settings.EVENTDEBUG = {"CAPTURE": False, "STATEMENT_TIMEOUT": STATEMENT_TIMEOUT}
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
        before = cursor.fetchone()
    with locked(NodeSnapshot._meta.db_table):
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match=r"lock timeout \(0\.5 s\)"):
            take_sample(60.0, node="node-a")
        assert time.monotonic() - started < LOCKED_BOUND
    # take_sample bounds the whole session it runs on (here the test's), and puts it back after.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
        assert cursor.fetchone() == before
    try:
        with locked(LagRollup._meta.db_table):
            started = time.monotonic()
            slot = run_slot(60.0, "node-a")
            assert time.monotonic() - started < LOCKED_BOUND
        assert slot["sample"]["status"] == WRITTEN
        errors = slot["upkeep"]["errors"]
        assert set(errors) == {"lag_rollups_left", "lag_rollups_purged"}, errors
        assert all("lock timeout (0.5 s)" in line for line in errors.values()), errors
        assert run_slot(60.0, "node-b")["upkeep"]["errors"] == {}
    finally:
        connection.close()  # the maintenance thread's session timeouts go with its connection
