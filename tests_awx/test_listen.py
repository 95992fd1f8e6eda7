"""`eventdebug listen` receives the websocket messages AWX's callback receiver sends for a job:
the same ones a browser on the job's page receives."""

import json
import signal
import subprocess

import awx_jobs
from awx_box import UiSession


def test_listen_receives_what_awx_sends_to_the_browser(users):
    job = awx_jobs.new_job()
    browser = UiSession(*users["admin"])
    listen = None
    try:
        assert browser.connect()["accept"] is True
        assert f"job_events-{job.id}" in browser.subscribe({"job_events": [job.id]})["groups_current"]
        listen = subprocess.Popen(
            ["awx-manage", "eventdebug", "listen", "--job", str(job.id), "--json", "--duration", "300"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stderr = []
        while not (stderr and stderr[-1].startswith("Listening on")):
            line = listen.stderr.readline()
            assert line, f"listen ended before joining the group: {''.join(stderr)}"
            stderr.append(line)
        job = awx_jobs.run(job, items=100)
        awx_jobs.wait_for_events(job)
        events = [m for m in browser.messages(quiet=3, limit=60) if m.get("group_name") == "job_events"]
        listen.send_signal(signal.SIGTERM)
        out, err = listen.communicate(timeout=60)
    finally:
        browser.close()
        if listen is not None and listen.poll() is None:
            listen.kill()
            listen.wait()
    assert listen.returncode == 0, "".join(stderr) + err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["type"] == "summary" and summary["stopped"] == "terminated", summary
    assert summary["groups"] == [f"job_events-{job.id}"]
    assert summary["not_left"] == []
    assert summary["events"] == len(events) > 0
    assert summary["counters"]["highest"] == max(message["counter"] for message in events)
