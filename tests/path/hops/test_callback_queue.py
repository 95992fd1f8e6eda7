"""The backlog's figures and rates from LLEN and LINDEX 0 (path/hops/callback_queue.py)."""

import json
from datetime import UTC, datetime

from awx_eventdebug.path.hops.callback_queue import add_rates, backlog_figures, head_created
from tests.support.awx_callback import awx_event

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()


def test_created_of_an_event_as_callback_queue_dispatcher_serializes_it():
    created = datetime(2026, 11, 30, 11, 59, 12, 500000, tzinfo=UTC)
    assert head_created(json.dumps(awx_event(created)).encode()) == (created.timestamp(), "")
    naive = json.dumps({"created": "2026-11-30T11:59:12"}).encode()  # read as UTC
    assert head_created(naive)[0] == datetime(2026, 11, 30, 11, 59, 12, tzinfo=UTC).timestamp()


def test_unreadable_heads_say_why():
    assert head_created(b"[1, 2]")[1] == "the head element is not an event with a created time (TypeError)"
    assert head_created(b'{"created": "later"}')[1].endswith("(ValueError)")
    assert head_created(b"{}")[1].endswith("(KeyError)")


def test_rates_between_two_samples():
    previous = backlog_figures(1000, json.dumps({"created": "2026-11-30T11:59:00+00:00"}).encode(), NOW)
    assert previous["oldest_age_seconds"] == 60.0
    current = backlog_figures(900, json.dumps({"created": "2026-11-30T11:59:12+00:00"}).encode(), NOW + 10)
    add_rates(current, previous, 10.0)
    # 12 s of the 60 s backlog consumed in 10 s: 200 events out; the list shrank by 100: 100 in.
    assert (current["net_per_second"], current["out_per_second"], current["in_per_second"]) == (
        -10.0,
        20.0,
        10.0,
    )
    assert (current["drain_seconds"], current["growing"]) == (90.0, False)


def test_growing_backlog_has_no_drain_time():
    previous = backlog_figures(0, None, NOW)
    current = backlog_figures(500, json.dumps({"created": "2026-11-30T12:00:00+00:00"}).encode(), NOW + 5)
    add_rates(current, previous, 5.0)
    assert (current["net_per_second"], current["growing"], current["drain_seconds"]) == (100.0, True, None)
    assert current["out_per_second"] is None  # nothing was queued before: no head to follow


def test_first_sample_has_no_rates():
    current = backlog_figures(3, None, NOW)
    add_rates(current, None, None)
    assert current["net_per_second"] is None and current["growing"] is None
