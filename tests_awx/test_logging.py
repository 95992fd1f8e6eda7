"""With the app's capture on channels_redis's logger, AWX's own log files still get their records."""

from awx_box import LOG_DIR


def test_callback_receiver_log_still_receives_info_records(jobs):
    lines = (LOG_DIR / "callback_receiver.log").read_text().splitlines()
    for kind, job in jobs.items():
        expected = f"Starting EOF event processing for Job {job.id}"
        assert any(" INFO " in line and line.endswith(expected) for line in lines), (kind, expected)
