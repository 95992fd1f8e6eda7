"""The causes of missing counters, each rule of AWX's sending checked on the stand-in schema."""

from datetime import timedelta

import pytest

from awx_eventdebug.awx.sending import AwxSending
from awx_eventdebug.awx.tables import KINDS
from awx_eventdebug.errors import NotFound
from awx_eventdebug.listen.gaps import GapCheck, classify_missing, job_of_stream
from awx_eventdebug.listen.stats import CounterGaps
from example_settings.awxschema.workload import insert_job
from tests.support.workloads import BASE

pytestmark = pytest.mark.django_db

JOB = KINDS["job"]
AWX = AwxSending(max_event_rate=30, live_updates=True)
LONG_AFTER = BASE + timedelta(hours=1)  # when the listener stopped: every message was due


def event(at, name="runner_on_ok", output=True, stored_after=0.5):
    """One stored event ``at`` seconds after BASE, with or without output, stored ``stored_after``
    seconds later."""
    created = BASE + timedelta(seconds=at)
    modified = created + timedelta(seconds=stored_after)
    return (created, modified, name, "ok: [host]" if output else "", 1, 2 if output else 1)


def classify(job, ranges, sending=AWX, sent_by=LONG_AFTER, kind=JOB):
    return {cause: n for cause, n in classify_missing(kind, job, ranges, sent_by, sending).items() if n}


def test_events_without_output_are_not_sent_but_minimal_events_are():
    job = insert_job(
        "job",
        BASE,
        [
            event(0),
            event(1, output=False),  # 2: skipped by AWX
            event(2, "playbook_on_task_start", output=False),  # 3: always sent
            event(3),  # 4: due
        ],
    )
    assert classify(job, [(2, 4)]) == {"no_output": 1, "lost": 2}


def test_a_burst_over_the_rate_limit_is_likely_rate_limited():
    # 60 events in 0.6 s: the first 30 within the limit, the rest over it.
    job = insert_job("job", BASE, [event(i * 0.01) for i in range(60)])
    assert classify(job, [(10, 10), (45, 47)]) == {"lost": 1, "rate_limited": 3}
    # Events without output do not count towards the rate: AWX never sends them.
    quiet = insert_job("job", BASE, [event(i * 0.01, output=i % 2 == 0) for i in range(60)])
    assert classify(quiet, [(59, 59)]) == {"lost": 1}
    # Rate 0 turns AWX's filter off: everything is sent, even without output.
    assert classify(quiet, [(58, 59)], AwxSending(0, True)) == {"lost": 2}


def test_the_rate_is_judged_over_more_than_a_second_of_created():
    # AWX's second is its handler's, which runs behind `created` in bunches: 31 events over
    # 1.2 s of `created` can be 31 in AWX's second, 31 over 1.8 s (17 a second) cannot.
    bunched = insert_job("job", BASE, [event(i * 0.04) for i in range(31)])
    assert classify(bunched, [(31, 31)]) == {"rate_limited": 1}
    assert classify(bunched, [(30, 30)]) == {"lost": 1}
    steady = insert_job("job", BASE, [event(i * 0.06) for i in range(31)])
    assert classify(steady, [(31, 31)]) == {"lost": 1}


def test_the_first_event_is_always_sent_and_counts_towards_the_rate():
    # AWX's RunnerCallback sends the first event (playbook_on_start, no output) unfiltered: its
    # window then holds 30 sent events at counter 30, and skips counter 31.
    job = insert_job(
        "job", BASE, [event(0, "playbook_on_start", output=False)] + [event(i * 0.01) for i in range(1, 31)]
    )
    assert classify(job, [(1, 1)]) == {"lost": 1}
    assert classify(job, [(30, 30)]) == {"lost": 1}
    assert classify(job, [(31, 31)]) == {"rate_limited": 1}


def test_with_live_updates_off_only_minimal_events_are_sent():
    job = insert_job("job", BASE, [event(0), event(1), event(2, "playbook_on_stats")])
    assert classify(job, [(2, 3)], AwxSending(30, False)) == {"live_updates_off": 1, "lost": 1}


def test_events_not_stored_or_stored_too_late_to_be_delivered_are_not_stored():
    job = insert_job("job", BASE, [event(0), event(1), event(2, stored_after=10)])
    sent_by = BASE + timedelta(seconds=5)  # the listener stopped 5 s in: event 3 was stored later
    assert classify(job, [(2, 5)], sent_by=sent_by) == {"lost": 1, "not_stored": 3}


def test_kinds_without_an_event_column_and_a_job_of_another_kind():
    job = insert_job("system_job", BASE, [event(0), event(1), event(2, output=False)])
    assert classify(job, [(2, 3)], kind=KINDS["system_job"]) == {"lost": 1, "no_output": 1}
    with pytest.raises(NotFound, match=f"job {job} is of kind system_job, not job"):
        classify(job, [(2, 3)])


def test_the_check_of_a_listener_keeps_final_causes_and_rechecks_open_gaps():
    job = insert_job("job", BASE, [event(i, output=i % 3 != 1) for i in range(40)])
    stream = f"job_events-{job}"
    assert job_of_stream(stream) == (JOB, job)
    assert job_of_stream("broadcast-group_send") is None and job_of_stream("job_events-x") is None
    gaps = CounterGaps(horizon=10)
    for counter in [1, 3, 4, 6, 20, 40]:
        gaps.add(counter)
    check = GapCheck()
    jobs = check.snapshot({stream: gaps, "broadcast-group_send": CounterGaps()})
    assert jobs == [(stream, [(21, 39)], [(2, 2), (5, 5), (7, 19)])]
    check.merge(check.run(jobs, LONG_AFTER.timestamp()))
    figures = check.figures(gaps.missing)
    # Counters 2, 5, 8, 11... (i = 1, 4, 7...) had no output; one event per second is no burst.
    assert figures["cause_counters"] == {
        "no_output": 12,
        "live_updates_off": 0,
        "rate_limited": 0,
        "not_stored": 0,
        "lost": 22,
        "unchecked": 0,
    }
    assert figures["lost_counters"] == 22 and figures["check_errors"] == {}
    assert check.snapshot({stream: gaps}) == [(stream, [(21, 39)], [])]
