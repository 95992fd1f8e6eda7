"""The capture as AWX gets it: Django starts with a LOGGING dictConfig, then the app's ready()
installs the handler on channels_redis.core. Each case runs in a fresh interpreter, since
dictConfig and ready() change the process's logging for good."""

import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import time

from awx_eventdebug.overflow.handler import EXIT_FLUSH_SECONDS
from awx_eventdebug.overflow.record import LOGGER_NAME
from tests.support import ROOT

FILE_HANDLER = {"class": "logging.FileHandler", "formatter": "simple"}
SIMPLE = {"simple": {"format": "%(asctime)s %(levelname)-8s %(name)s %(message)s"}}

SCRIPT = """
import json, logging, sys
import django
django.setup()
from django.core.management import call_command
from awx_eventdebug.overflow.install import installed_handler
if "--no-migrate" not in sys.argv:
    call_command("migrate", verbosity=0)
log = logging.getLogger("channels_redis.core")
log.info("%s of %s channels over capacity in group %s", 1, 4, "broadcast-group_send")
log.info("%s of %s channels over capacity in group %s", 2, 4, "broadcast-group_send")
log.warning("a channels_redis warning")
log.debug("a channels_redis detail")
handler = installed_handler()
if "--no-flush" not in sys.argv:
    from awx_eventdebug.models import ChannelOverflow
    flushed = handler.flush(timeout=10) if handler else None
    rows = list(ChannelOverflow.objects.values_list("group", "drops", "queues_over"))
    print(json.dumps({"flushed": flushed, "rows": rows, "level": log.level}))
else:  # the exit handlers run from here on: the parent times them from this instant
    import time
    print(json.dumps({"script_end": time.time()}), flush=True)
"""


def run_django(tmp_path, logging_config, *args, eventdebug=None, database=None, sqlite_timeout=5):
    """Run SCRIPT in a project whose settings have ``logging_config`` as LOGGING; SQLite waits
    ``sqlite_timeout`` seconds for a lock (its default, 5)."""
    database = database or str(tmp_path / "db.sqlite3")
    (tmp_path / "case_settings.py").write_text(
        textwrap.dedent(
            f"""
            from tests.settings import *  # noqa: F403
            DATABASES = {{
                "default": {{
                    "ENGINE": "django.db.backends.sqlite3",
                    "NAME": {database!r},
                    "OPTIONS": {{"timeout": {sqlite_timeout!r}}},
                }}
            }}
            EVENTDEBUG = {eventdebug or {}!r}
            LOGGING = {logging_config!r}
            """
        )
    )
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "case_settings",
    }
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def report(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_awx_like_logging_files_see_only_what_they_saw_before(tmp_path):
    # As AWX: channels_redis.core not configured, so it propagates at the root's WARNING; here
    # the root has a file handler of no level of its own, which any INFO record would reach.
    tower_log = tmp_path / "tower.log"
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": SIMPLE,
        "handlers": {"tower_warnings": {**FILE_HANDLER, "filename": str(tower_log)}},
        "root": {"handlers": ["tower_warnings"], "level": "WARNING"},
    }
    found = report(run_django(tmp_path, config))
    assert found["flushed"] is True
    assert found["rows"] == [["broadcast-group_send", 2, 3]]
    text = tower_log.read_text()
    assert "a channels_redis warning" in text
    assert "over capacity" not in text and "detail" not in text


def test_awx_default_without_root_handlers_keeps_last_resort_for_warnings(tmp_path):
    config = {"version": 1, "disable_existing_loggers": False}
    result = run_django(tmp_path, config)
    assert report(result)["rows"] == [["broadcast-group_send", 2, 3]]
    assert "a channels_redis warning" in result.stderr
    assert "over capacity" not in result.stderr


def test_the_seeds_debug_logging_still_writes_the_lines_and_capture_counts_them(tmp_path):
    # The recipe of AWX's debugging guide: the admin asked for the INFO lines in the file.
    tower_log = tmp_path / "tower.log"
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": SIMPLE,
        "handlers": {"file": {**FILE_HANDLER, "filename": str(tower_log)}},
        "loggers": {"channels_redis.core": {"handlers": ["file"], "level": "DEBUG"}},
    }
    found = report(run_django(tmp_path, config))
    assert found["rows"] == [["broadcast-group_send", 2, 3]]
    assert found["level"] == 10  # untouched
    text = tower_log.read_text()
    assert text.count("channels over capacity in group broadcast-group_send") == 2
    assert "a channels_redis detail" in text


def test_handler_named_in_logging_config_is_used_not_doubled(tmp_path):
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"overflow": {"class": "awx_eventdebug.overflow.handler.OverflowCaptureHandler"}},
        "loggers": {"channels_redis.core": {"handlers": ["overflow"], "level": "INFO"}},
    }
    found = report(run_django(tmp_path, config))
    assert found["rows"] == [["broadcast-group_send", 2, 3]]


def test_capture_off_installs_nothing(tmp_path):
    config = {"version": 1, "disable_existing_loggers": False}
    found = report(run_django(tmp_path, config, eventdebug={"CAPTURE": False}))
    assert found["flushed"] is None and found["rows"] == []


def test_pending_counts_are_written_at_exit(tmp_path):
    config = {"version": 1, "disable_existing_loggers": False}
    assert (
        run_django(tmp_path, config, "--no-flush", eventdebug={"CAPTURE_FLUSH_INTERVAL": 3600}).returncode
        == 0
    )
    found = report(run_django(tmp_path, config, eventdebug={"CAPTURE": False}))
    assert found["rows"] == [["broadcast-group_send", 2, 3]]


def test_exit_waits_for_a_locked_database_at_most_two_seconds(tmp_path):
    config = {"version": 1, "disable_existing_loggers": False}
    assert report(run_django(tmp_path, config, eventdebug={"CAPTURE": False}))["rows"] == []
    # Another writer holds the database; SQLite would wait 30 s for it (twice: flush, then close).
    lock = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        args = ("--no-flush", "--no-migrate")
        exiting = run_django(
            tmp_path, config, *args, eventdebug={"CAPTURE_FLUSH_INTERVAL": 3600}, sqlite_timeout=30
        )
        exited = time.time()
    finally:
        lock.rollback()
        lock.close()
    # The flush gave up at its deadline and said what it lost...
    assert f"no answer from the database in {EXIT_FLUSH_SECONDS:g} s" in exiting.stderr
    # ...and nothing waited out the lock afterwards: from the end of the script to the process's
    # end (the exit flush and interpreter teardown) is far below the 60 s of two lock timeouts,
    # with room for teardown on a loaded machine (9 s seen at a load average of 14 on 2 cores).
    exit_seconds = exited - report(exiting)["script_end"]
    assert EXIT_FLUSH_SECONDS - 0.5 < exit_seconds < 25.0
    # The counts that could not be written are not written later by anyone else either.
    assert report(run_django(tmp_path, config, eventdebug={"CAPTURE": False}))["rows"] == []


def test_a_handler_shared_with_another_logger_still_gets_that_loggers_info_records():
    # AWX's console and file handlers serve many loggers: lowering channels_redis.core to INFO
    # must not filter the INFO records of the others out of those handlers.
    from awx_eventdebug.overflow.install import install, uninstall

    seen = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append((record.name, record.levelname))

    shared = Collect()
    channels_logger = logging.getLogger("edtest.shared.channels_redis")
    awx_logger = logging.getLogger("edtest.shared.awx")
    for logger, level in ((channels_logger, logging.WARNING), (awx_logger, logging.INFO)):
        logger.setLevel(level)
        logger.addHandler(shared)
        logger.propagate = False
    install("edtest.shared.channels_redis")
    try:
        awx_logger.info("an AWX line")
        channels_logger.info("a channels_redis detail the admin did not ask for")
        channels_logger.warning("a channels_redis warning")
    finally:
        uninstall("edtest.shared.channels_redis")
        for logger in (channels_logger, awx_logger):
            logger.removeHandler(shared)
    assert seen == [("edtest.shared.awx", "INFO"), ("edtest.shared.channels_redis", "WARNING")]


def test_disabled_logger_is_a_warning(settings):
    from awx_eventdebug.checks import check_capture_logger

    settings.EVENTDEBUG = {"CAPTURE": True}
    logger = logging.getLogger(LOGGER_NAME)
    logger.disabled = True
    try:
        [warning] = check_capture_logger()
    finally:
        logger.disabled = False
    assert warning.id == "awx_eventdebug.W020"
    assert check_capture_logger() == []
    settings.EVENTDEBUG = {"CAPTURE": False}
    logger.disabled = True
    try:
        assert check_capture_logger() == []
    finally:
        logger.disabled = False
