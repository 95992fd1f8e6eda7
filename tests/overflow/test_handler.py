import asyncio
import itertools
import json
import logging
import re
import threading
import time
from contextlib import contextmanager
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer
from django.core.management import call_command
from django.db import connection

from awx_eventdebug.columns import NAME_MAX_LENGTH
from awx_eventdebug.models import ChannelOverflow
from awx_eventdebug.overflow.handler import OTHER_GROUPS, OverflowCaptureHandler
from awx_eventdebug.overflow.record import LOGGER_NAME, OVERFLOW_FORMAT
from example_settings.awxschema.overflow import overflow_groups
from tests.conftest import REDIS_URL
from tests.support.capture_helpers import drops_by_group


@pytest.fixture
def private_logger(request):
    """A logger of this test's own with a capture handler (flushed by hand). Made outside the
    logging manager, so no ancestor's handler (pytest's capture) sees its records."""
    logger = logging.Logger(f"tests.capture.{request.node.name}", logging.INFO)
    handlers = []

    def attach(**options):
        options.setdefault("flush_interval", 3600)  # only explicit flushes, for determinism
        handler = OverflowCaptureHandler(node="node-a", **options)
        logger.addHandler(handler)
        handlers.append(handler)
        return handler

    yield logger, attach
    for handler in handlers:
        logger.removeHandler(handler)
        handler.close()


# Malformed records --------------------------------------------------------------------------


class Unprintable:
    def __str__(self):
        raise RuntimeError("no str for you")


@pytest.mark.django_db(transaction=True)
def test_malformed_records_never_raise_and_are_counted(private_logger):
    logger, attach = private_logger
    handler = attach()
    huge = "g" * 100_000
    logger.info(OVERFLOW_FORMAT, 1, 2)  # too few args: formatting fails
    logger.info(OVERFLOW_FORMAT, None, None, None)
    logger.info(OVERFLOW_FORMAT, 10**40, 1, "big")  # would overflow the columns
    logger.info(OVERFLOW_FORMAT, -1, 1, "negative")
    logger.info(Unprintable())
    logger.info(OVERFLOW_FORMAT, 1, 3, huge)
    logger.info(OVERFLOW_FORMAT, 1, 3, huge + "x")
    logger.info(OVERFLOW_FORMAT, 2, 3, "événements-ü")
    logger.info(OVERFLOW_FORMAT, 1, 3, "nul\x00byte")
    logger.info(12345)
    stats = handler.stats()
    assert (stats["seen_records"], stats["parsed_records"], stats["ignored_records"]) == (10, 4, 6)
    assert handler.flush(timeout=10)
    groups = drops_by_group()
    assert groups["événements-ü"] == 1 and groups["nul\ufffdbyte"] == 1
    long_names = [g for g in groups if len(g) == NAME_MAX_LENGTH]
    assert len(long_names) == 2  # cut to the column, still two distinct groups


@pytest.mark.django_db(transaction=True)
def test_a_row_the_database_refuses_is_set_aside_and_the_rest_written(private_logger, caplog):
    logger, attach = private_logger
    handler = attach()
    lone_surrogate = "job_events-\ud800"  # no encoding the database accepts can store it
    for flush in range(2):
        logger.info(OVERFLOW_FORMAT, 1, 3, lone_surrogate)
        logger.info(OVERFLOW_FORMAT, 1, 3, f"job_events-{flush}")
        with caplog.at_level(logging.WARNING, logger="awx_eventdebug.overflow.handler"):
            assert handler.flush(timeout=10)
    # Every later flush still writes: the refused row is not put back to fail again.
    assert drops_by_group() == {"job_events-0": 1, "job_events-1": 1}
    stats = handler.stats()
    assert (stats["set_aside_rows"], stats["written_rows"], stats["flush_failures"]) == (2, 2, 0)
    [warning] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]  # logged once
    assert "'job_events-\\ud800'" in warning and "set aside" in warning


# Real channels_redis ------------------------------------------------------------------------


def make_layer(key_prefix, capacity=2):
    return RedisChannelLayer(hosts=[REDIS_URL], prefix=key_prefix, capacity=capacity)


@pytest.mark.django_db(transaction=True)
def test_real_overflow_from_asyncio_and_async_to_sync_counts_exactly(capture_installed, key_prefix):
    first, second = make_layer(key_prefix), make_layer(key_prefix)
    # A second node's handler on the same logger: each node's rows must hold the same counts.
    other_node = OverflowCaptureHandler(node="awx-2", flush_interval=3600)
    logging.getLogger(LOGGER_NAME).addHandler(other_node)

    async def scenario():
        await overflow_groups(first, {"job_events-1": 10, "job_events-2": 5})
        # Two layer instances (two processes in AWX), each with a never-reading member.
        await second.group_add("broadcast-group_send", await second.new_channel())
        await first.group_add("broadcast-group_send", await first.new_channel())
        for _ in range(6):
            await second.group_send("broadcast-group_send", {"type": "x"})
        await first.close_pools()
        await second.close_pools()

    try:
        asyncio.run(scenario())
        # From sync code, as AWX's callback receiver sends.
        for _ in range(4):
            async_to_sync(first.group_send)("job_events-2", {"type": "x"})
    finally:
        logging.getLogger(LOGGER_NAME).removeHandler(other_node)
    assert capture_installed.flush(timeout=10) and other_node.flush(timeout=10)
    other_node.close()
    rows = ChannelOverflow.objects.filter(source="live", node="example-node")
    # Capacity 2, and one queue per layer instance shared by all its channels: job_events-1
    # fills `first`'s queue (8 of 10 dropped), so every send to job_events-2 is dropped, and so
    # is `first`'s copy of every broadcast; `second`'s queue takes two broadcasts, then is full.
    expected = {"job_events-1": 8, "job_events-2": 9, "broadcast-group_send": 6}
    assert drops_by_group(node="example-node") == expected
    assert drops_by_group(node="awx-2") == expected
    broadcast = rows.get(group="broadcast-group_send")
    assert broadcast.queues_over == 1 + 1 + 2 * 4
    assert broadcast.max_group_size == 2
    assert capture_installed.stats()["parsed_records"] == 23


@pytest.mark.django_db(transaction=True)
def test_overflow_shows_in_command_and_api_within_one_flush_interval(
    capture_installed, key_prefix, admin_client
):
    layer = make_layer(key_prefix, capacity=1)

    async def scenario():
        await overflow_groups(layer, {"job_events-49": 3})
        await layer.close_pools()

    asyncio.run(scenario())
    # The flusher writes on its own every 0.2 s; the 30 s only bound a stalled loaded machine.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not ChannelOverflow.objects.exists():
        time.sleep(0.05)
    out = StringIO()
    call_command("eventdebug", "overflow", "--json", "--group", "job_events-*", stdout=out)
    page = json.loads(out.getvalue())
    assert [(r["group"], r["drops"]) for r in page["results"]] == [("job_events-49", 2)]
    api = admin_client.get("/api/eventdebug/overflow/", {"group": "job_events-*"}).json()
    assert api == page


# Faults, flood, bound -----------------------------------------------------------------------


def log_overflow(logger, group, times, members=3):
    for _ in range(times):
        logger.info(OVERFLOW_FORMAT, 1, members, group)


@contextmanager
def table_away():
    """The overflow table renamed away: every write fails as when the database is down."""
    table = ChannelOverflow._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")


@pytest.mark.django_db(transaction=True)
def test_table_gone_during_flush_loses_and_doubles_nothing(private_logger, caplog):
    logger, attach = private_logger
    handler = attach()
    log_overflow(logger, "job_events-1", 5)
    assert handler.flush(timeout=10)
    with table_away(), caplog.at_level(logging.WARNING, logger="awx_eventdebug.overflow.handler"):
        log_overflow(logger, "job_events-1", 7)
        assert handler.flush(timeout=10) is False
        log_overflow(logger, "job_events-2", 2)
        assert handler.flush(timeout=10) is False
    warnings = [r for r in caplog.records if r.name == "awx_eventdebug.overflow.handler"]
    assert len(warnings) == 1 and "retrying with backoff" in warnings[0].getMessage()
    assert handler.stats()["flush_failures"] == 2
    assert handler.flush(timeout=10)
    assert drops_by_group() == {"job_events-1": 12, "job_events-2": 2}


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only(reason="a TCP database to point at a dead port")
def test_database_at_a_dead_port_during_flush(private_logger):
    logger, attach = private_logger
    handler = attach()
    log_overflow(logger, "job_events-1", 3)
    assert handler.flush(timeout=10)
    # The flusher closes its connection after each write, so its next one goes to this port.
    settings_dict = connection.settings_dict
    port = settings_dict["PORT"]
    settings_dict["PORT"] = "1"
    try:
        log_overflow(logger, "job_events-1", 4)
        assert handler.flush(timeout=10) is False
        assert "OperationalError" in handler.stats()["last_error"]
    finally:
        settings_dict["PORT"] = port
    assert handler.flush(timeout=10)
    assert drops_by_group() == {"job_events-1": 7}
    assert handler.stats()["written_rows"] == 2


@pytest.mark.django_db(transaction=True)
def test_flood_from_four_threads_counts_exactly_in_few_rows(private_logger):
    logger, attach = private_logger
    # Flushing every 50 ms: the flusher writes while the threads are still logging.
    handler = attach(window=3600, flush_interval=0.05)
    groups = ["broadcast-group_send", "job_events-1", "job_events-2", "job_events-3"]
    per_thread = 50_000

    def flood(index):
        for i in range(per_thread):
            logger.info(OVERFLOW_FORMAT, 1, 4, groups[(index + i) % len(groups)])

    threads = [threading.Thread(target=flood, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert handler.flush(timeout=30)
    rows = ChannelOverflow.objects.all()
    windows = {r.window_start for r in rows}
    assert len(windows) <= 2 and rows.count() <= len(groups) * len(windows)
    assert drops_by_group() == dict.fromkeys(groups, 50_000)
    assert sum(r.queues_over for r in rows) == 200_000
    assert handler.stats()["parsed_records"] == 200_000


@pytest.mark.django_db(transaction=True)
def test_groups_beyond_the_bound_share_one_bucket(private_logger):
    logger, attach = private_logger
    handler = attach(window=3600, max_pending=10)
    for n in range(50):
        log_overflow(logger, f"job_events-{n}", 2)
    stats = handler.stats()
    assert stats["pending_groups"] <= 12 and stats["bounded_records"] == 80
    assert handler.flush(timeout=10)
    groups = drops_by_group()
    assert sum(groups.values()) == 100
    assert groups[OTHER_GROUPS] == 80


@pytest.mark.django_db(transaction=True)
def test_bounded_counts_each_record_that_lost_its_group_once(private_logger):
    # Each round logs 2 records to each of its groups (half of them new), then a write fails
    # and the batch is put back, competing for the bound with the next round's groups.
    logger, attach = private_logger
    for max_pending, groups, failures in itertools.product((1, 5, 10), (1, 10, 30), (0, 1, 3)):
        ChannelOverflow.objects.all().delete()
        handler = attach(window=3600, max_pending=max_pending)
        for round_ in range(failures + 1):
            for group in range(groups):
                log_overflow(logger, f"job_events-{round_ * groups // 2 + group}", 2)
            if round_ < failures:
                with table_away():
                    assert handler.flush(timeout=10) is False
        assert handler.flush(timeout=10)
        stored = drops_by_group()
        case = (max_pending, groups, failures, handler.stats())
        assert sum(stored.values()) == 2 * groups * (failures + 1), case
        assert handler.stats()["bounded_records"] == stored.get(OTHER_GROUPS, 0), case
        logger.removeHandler(handler)
        handler.close()


def reraise(record):
    raise  # noqa: PLE0704 - called by emit() inside its except block: re-raise what it caught


@pytest.mark.django_db(transaction=True)
def test_emit_does_no_database_work_in_the_callers_thread(private_logger):
    # Database access is allowed, so a query from the caller's thread would run and be seen by
    # the wrapper on this thread's connection; handleError re-raises, so no error in emit()
    # (SynchronousOnlyOperation in an event loop, say) is swallowed either.
    logger, attach = private_logger
    handler = attach()
    handler.handleError = reraise
    queries = []

    def record(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    async def in_loop():
        log_overflow(logger, "job_events-1", 3)

    with connection.execute_wrapper(record):
        log_overflow(logger, "job_events-2", 2)
        asyncio.run(in_loop())
    assert queries == []
    assert handler.stats()["pending_groups"] == 2


def test_forked_child_starts_empty(private_logger):
    import os

    logger, attach = private_logger
    handler = attach()
    log_overflow(logger, "job_events-1", 3)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent still owns what was pending before the fork
        os.write(write, json.dumps(handler.stats()).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = json.loads(os.read(read, 65536))
    assert (child["pending_groups"], child["seen_records"]) == (0, 0)
    assert handler.stats()["pending_groups"] == 1


# Counters in doctor and the API -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_doctor_and_api_show_the_capture_counters(capture_installed, redis_layer_settings, admin_client):
    logger = logging.getLogger(LOGGER_NAME)
    log_overflow(logger, "job_events-5", 4)
    logger.info("%s unrelated", "something")
    assert capture_installed.flush(timeout=10)
    out = StringIO()
    call_command("eventdebug", "doctor", "--json", stdout=out)
    section = json.loads(out.getvalue())["overflow"]
    assert section["capture"]["installed"] is True
    [stats] = [s for s in section["capture"]["handlers"] if s["node"] == "example-node"]
    assert (stats["parsed_records"], stats["ignored_records"], stats["written_rows"]) == (4, 1, 1)
    assert section["last_24h"]["top_groups"][0]["group"] == "job_events-5"
    api = admin_client.get("/api/eventdebug/overflow/summary/").json()
    assert any(s["parsed_records"] == 4 for s in api["capture"])
    text = StringIO()
    call_command("eventdebug", "doctor", stdout=text)
    assert re.search(r"seen_records +5\n", text.getvalue()) and "job_events-5" in text.getvalue()
