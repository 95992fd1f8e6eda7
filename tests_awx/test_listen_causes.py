"""Issue 11 on a real AWX: what `listen` calls a gap (AWX's own skips are not losses), staying in
the group across a daphne start, and `lag` on what AWX's receiver and migrations leave behind
(backfilled `created`, the table migration 0144 left for older jobs)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from datetime import timedelta

import awx_jobs
import pytest
from awx.main.models import Job, UnifiedJob
from awx_box import LOG_DIR, PREFIX, Listener, eventdebug_json, get
from django.db import connection
from test_lag import PERCENTILES, assert_same, direct

LEGACY_TABLE = "_unpartitioned_main_jobevent"

pytestmark = pytest.mark.usefixtures("awx_objects")


def listen_to_a_run(items: int, before_run=None) -> tuple[Job, dict]:
    """A new job run through AWX's callback path with `listen` in its group from the start; the
    job and listen's summary. ``before_run(listener)`` runs once listen joined."""
    job = awx_jobs.new_job()
    listener = Listener(job.id)
    try:
        if before_run is not None:
            before_run(listener)
        job = awx_jobs.run(job, items=items)
        awx_jobs.wait_for_events(job)
        time.sleep(3)  # the receiver's last messages on their way to the probe
        return job, listener.stop()
    finally:
        listener.kill()


def test_listen_counts_what_awx_did_not_send_apart_from_loss():
    job, summary = listen_to_a_run(items=400)
    counters = summary["counters"]
    assert counters["missing"] > 0, counters
    causes = counters["cause_counters"]
    assert causes["no_output"] > 0 and causes["rate_limited"] > 0, counters
    assert counters["lost_counters"] == causes["lost"] == 0, summary
    assert causes.get("unchecked", 0) == 0 and counters["check_errors"] == {}, counters
    assert summary["events"] + counters["missing"] <= job.emitted_events
    # AWX sends each event once; the first counters, sent out of order, arrive late.
    assert counters["duplicates"] == 0, counters


def start_daphne() -> subprocess.Popen:
    """daphne as box.sh starts it, on a port of its own: AWX's router deletes every asgi:* key
    when it starts (awx/main/routing.py), the tier's daphne keeps serving."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(LOG_DIR / "daphne-restart.out", "ab")  # noqa: SIM115  (handed to the process)
    return subprocess.Popen(
        ["daphne", "-b", "127.0.0.1", "-p", str(port), "--websocket_timeout", "-1", "awx.asgi:channel_layer"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_listen_notices_a_daphne_start_and_receives_what_follows():
    daphnes = []

    def restart_daphne(listener):
        daphnes.append(start_daphne())
        listener.wait_for_line("Not in group", timeout=90)

    try:
        job, summary = listen_to_a_run(items=50, before_run=restart_daphne)
    finally:
        for daphne in daphnes:
            os.killpg(daphne.pid, signal.SIGTERM)
            daphne.wait(timeout=30)
    membership = summary["membership"]
    assert membership["lost_count"] >= 1, membership
    assert "group_gone" in [event["why"] for event in membership["events"]], membership
    # Every event was sent after the restart: those AWX sent reached the probe.
    assert summary["events"] > 0
    assert summary["counters"]["lost_counters"] == 0, summary["counters"]


def test_lag_of_a_job_from_before_partitioning_reads_the_legacy_table():
    with connection.cursor() as cursor:
        cursor.execute("select to_regclass(%s) is not null", [LEGACY_TABLE])
        assert cursor.fetchone()[0], f"AWX's migration 0144 left no {LEGACY_TABLE}"
        cursor.execute(
            "select applied from django_migrations where app = 'main' and name = '0144_event_partitions'"
        )
        [applied] = cursor.fetchone()
    job = awx_jobs.new_job()
    created = applied - timedelta(days=1)
    UnifiedJob.objects.filter(pk=job.pk).update(created=created)
    rows = [
        (
            created + timedelta(seconds=counter),
            created + timedelta(seconds=counter, milliseconds=37 * counter % 1000 + 1),
            counter,
            job.id,
            str(uuid.uuid4()),
        )
        for counter in range(1, 61)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"""insert into {LEGACY_TABLE} (created, modified, event, event_data, failed, changed,
                host_name, play, role, task, counter, job_id, uuid, parent_uuid, end_line, playbook,
                start_line, stdout, verbosity)
            values (%s, %s, 'verbose', '{{}}', false, false, '', '', '', '', %s, %s, %s, '', 0, '',
                    0, 'x', 0)""",
            rows,
        )
    report = eventdebug_json("lag", "--job", str(job.id), "--percentiles", PERCENTILES)
    assert report["tables"] == [LEGACY_TABLE]
    [expected] = direct(job, "job_id = %s", [job.id], table=LEGACY_TABLE)
    assert expected["count"] == len(rows)
    assert_same(report, expected)


def test_events_without_created_are_backfilled_by_awx_and_counted_apart():
    stamped, unstamped = 30, 12
    job = awx_jobs.dispatch(awx_jobs.running_job(), stamped + unstamped, created_ago=0.5, stamped=stamped)
    awx_jobs.wait_for_events(job)
    report = eventdebug_json("lag", "--job", str(job.id))
    assert (report["backfilled_count"], report["missing_created_count"]) == (unstamped, 0), report
    assert report["count"] == stamped


def test_gaps_api_answers_the_causes_for_a_real_job(jobs, users):
    job = jobs["job"]
    answer = get(f"{PREFIX}listen/gaps/?job={job.id}&missing=1-{job.emitted_events}", users["auditor"])
    assert answer.status_code == 200, answer.text[:500]
    body = answer.json()
    assert (body["job"], body["missing_counters"]) == (job.id, job.emitted_events)
    assert sum(body["cause_counters"].values()) == job.emitted_events, body
    assert body["cause_counters"]["no_output"] > 0, body
