"""doctor, report and check inside AWX, on AWX's real schema, layer and Redis."""

from importlib.metadata import version

from awx_box import eventdebug, eventdebug_json

EVENT_TABLES = {
    "main_jobevent",
    "main_projectupdateevent",
    "main_inventoryupdateevent",
    "main_adhoccommandevent",
    "main_systemjobevent",
}


def test_doctor_finds_awx_as_it_is():
    done = eventdebug("doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    report = eventdebug_json("doctor")
    assert report["problems"] == []
    versions = report["versions"]
    for package in ("Django", "channels", "channels-redis", "djangorestframework", "redis", "psycopg"):
        assert versions[package] == version(package), package
    tables = {table["table"]: table for table in report["database"]["tables"]}
    for name in EVENT_TABLES:
        assert tables[name]["exists"] and tables[name]["partitioned"], tables[name]
    layer = report["channel_layer"]
    assert layer["backend"] == "channels_redis.core.RedisChannelLayer"
    assert [ping["ok"] for ping in layer["ping"]] == [True]


def test_report_covers_every_kind(jobs):
    report = eventdebug_json("report")
    assert report["errors"] == {}
    assert report["doctor"]["capture_installed"] is True
    for kind, job in jobs.items():
        assert report["lag"]["kinds"][kind]["count"] >= job.emitted_events > 0, kind


def test_check_is_healthy(jobs):
    # The insert time per event is the CI machine's database at that moment (126 ms once, on a
    # quiet 2-core machine, against 10 ms): bounded, not held to production's threshold.
    done = eventdebug("check", "--max-insert-seconds-per-event", "1")
    assert done.returncode == 0, done.stdout + done.stderr
