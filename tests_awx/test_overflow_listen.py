"""`listen` beside a real overflow: a member of the job's group whose queue is full, so
channels_redis drops every message of the job for it, and the app's capture in AWX's callback
receiver counts the drops. listen reports those drops for its group, exactly as captured.

After test_overflow.py (file order), for the same reason: its drops would fail a healthy `check`."""

import time

import awx_jobs
import pytest
from awx_box import Listener
from awx_layer import add_stuck_member, remove_stuck_member
from test_overflow import captured_drops

pytestmark = pytest.mark.usefixtures("awx_objects")


def test_listen_reports_the_drops_the_capture_counted():
    job = awx_jobs.new_job()
    group = f"job_events-{job.id}"
    stuck = add_stuck_member(group)
    listener = None
    try:
        listener = Listener(job.id)
        job = awx_jobs.run(job, items=100)
        awx_jobs.wait_for_events(job)
        # The receiver's capture writes every CAPTURE_FLUSH_INTERVAL (5 s); listen's last check,
        # after it leaves the group, reads what it wrote.
        deadline = time.monotonic() + 30
        while (drops := captured_drops(group)) == 0 and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(6)
        drops = captured_drops(group)
        summary = listener.stop()
    finally:
        if listener is not None:
            listener.kill()
        remove_stuck_member(group, stuck)
    assert drops > 0
    assert summary["counters"]["overflow_drops"] == drops, summary["counters"]
