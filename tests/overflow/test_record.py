"""The one rule of what an overflow record is, read alike by the live handler and by ingest."""

import io
import logging
from datetime import UTC, datetime

import pytest

from awx_eventdebug.columns import NAME_MAX_LENGTH, SOURCE_INGEST, SOURCE_LIVE
from awx_eventdebug.models import ChannelOverflow
from awx_eventdebug.overflow.handler import OverflowCaptureHandler
from awx_eventdebug.overflow.ingest import ingest_streams
from awx_eventdebug.overflow.record import (
    LARGEST_COUNT,
    OVERFLOW_FORMAT,
    parse_record,
    storable_name,
    window_start,
)
from tests.support.capture_helpers import make_record

# Each message, and what both paths read from it (None: not an overflow record). Every group
# name is distinct, so the rows ingest writes show which messages it counted.
MESSAGES = [
    ("1 of 4 channels over capacity in group broadcast-group_send", (1, 4, "broadcast-group_send")),
    ("4 of 4 channels over capacity in group job_events-1", (4, 4, "job_events-1")),
    (
        f"{LARGEST_COUNT} of {LARGEST_COUNT} channels over capacity in group largest",
        (LARGEST_COUNT, LARGEST_COUNT, "largest"),
    ),
    ("-1 of 4 channels over capacity in group negative", None),
    ("1 of -4 channels over capacity in group negative-members", None),
    ("0 of 4 channels over capacity in group none-full", None),
    ("5 of 4 channels over capacity in group more-full-than-members", None),
    ("1.5 of 4 channels over capacity in group fraction", None),
    ("x1 of 4 channels over capacity in group glued", None),
    (f"{LARGEST_COUNT + 1} of {LARGEST_COUNT + 1} channels over capacity in group huge", None),
    ("1 of 4 channels over capacity in group", None),
]


@pytest.mark.parametrize(("message", "expected"), MESSAGES)
def test_the_live_path_reads_each_message(message, expected):
    assert parse_record(make_record(message, None)) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((1, 4, "g"), (1, 4, "g")),
        ((-1, 4, "g"), None),
        ((0, 4, "g"), None),
        ((5, 4, "g"), None),
        ((1, LARGEST_COUNT + 1, "g"), None),
    ],
)
def test_the_known_records_integer_arguments_follow_the_same_rule(args, expected):
    assert parse_record(make_record(OVERFLOW_FORMAT, args)) == expected


@pytest.mark.django_db(transaction=True)
def test_the_handler_and_ingest_count_the_same_messages_alike():
    logger = logging.Logger("tests.record.alike", logging.INFO)
    handler = OverflowCaptureHandler(node="example-node", flush_interval=3600)
    logger.addHandler(handler)
    try:
        for message, _ in MESSAGES:
            logger.info(message)
        assert handler.flush(timeout=10)
        stats = handler.stats()
    finally:
        logger.removeHandler(handler)
        handler.close()
    lines = "".join(f"2021-04-28 20:53:51,230 INFO     channels_redis.core {m}\n" for m, _ in MESSAGES)
    report = ingest_streams([("tower.log", io.BufferedReader(io.BytesIO(lines.encode())))])
    counted = sorted(e for _, e in MESSAGES if e is not None)
    refused = len(MESSAGES) - len(counted)
    assert (stats["parsed_records"], stats["ignored_records"]) == (len(counted), refused)
    assert (report["totals"]["records"], report["totals"]["bad_lines"]) == (len(counted), refused)
    for source in (SOURCE_LIVE, SOURCE_INGEST):
        rows = ChannelOverflow.objects.filter(source=source)
        assert sorted((r.queues_over, r.max_group_size, r.group) for r in rows) == counted
        assert {r.drops for r in rows} == {1}


def test_known_record_is_read_from_its_args_without_formatting():
    record = make_record(OVERFLOW_FORMAT, (1, 4, "broadcast-group_send"))

    def never():
        raise AssertionError("the known record was formatted")

    record.getMessage = never
    assert parse_record(record) == (1, 4, "broadcast-group_send")


def test_other_wordings_are_matched_on_the_message():
    message = "1 of 4 channels over capacity in group job_events-9"
    assert parse_record(make_record(message, None)) == (1, 4, "job_events-9")
    assert parse_record(make_record(OVERFLOW_FORMAT, ("2", "5", "g"))) == (2, 5, "g")
    assert parse_record(make_record("queue of %s over capacity", ("x",))) is None
    assert parse_record(make_record("something else %s", ("1 of 4 channels",))) is None


def test_storable_name_cuts_long_names_apart_and_replaces_nul():
    assert storable_name("job_events-1") == "job_events-1"
    assert storable_name("nul\x00byte") == "nul\ufffdbyte"
    first, second = storable_name("g" * 1000), storable_name("g" * 1000 + "x")
    assert len(first) == len(second) == NAME_MAX_LENGTH and first != second


def test_window_start_is_aligned_on_the_epoch():
    moment = datetime(2021, 4, 28, 20, 53, 51, 230000, tzinfo=UTC)
    assert window_start(moment, 60) == datetime(2021, 4, 28, 20, 53, tzinfo=UTC)
    assert window_start(moment, 3600) == datetime(2021, 4, 28, 20, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_live_and_ingested_records_of_one_moment_count_in_the_same_window(settings):
    settings.EVENTDEBUG = {"CAPTURE_WINDOW": 300}
    moment = datetime(2021, 4, 28, 20, 58, 59, 999000, tzinfo=UTC)
    handler = OverflowCaptureHandler(node="example-node", flush_interval=3600)
    try:
        handler.handle(make_record(OVERFLOW_FORMAT, (1, 4, "g"), created=moment.timestamp()))
        assert handler.flush(timeout=10)
    finally:
        handler.close()
    line = "2021-04-28T20:58:59.999Z INFO channels_redis.core 1 of 4 channels over capacity in group g\n"
    ingest_streams([("tower.log", io.BufferedReader(io.BytesIO(line.encode())))])
    starts = dict(ChannelOverflow.objects.values_list("source", "window_start"))
    assert starts == {
        SOURCE_LIVE: datetime(2021, 4, 28, 20, 55, tzinfo=UTC),
        SOURCE_INGEST: datetime(2021, 4, 28, 20, 55, tzinfo=UTC),
    }
