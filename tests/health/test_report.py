"""eventdebug check and report, and their core (health.py), on the real databases and Redis."""

import asyncio
import json
import re
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from itertools import takewhile

import pytest
from channels_redis.core import RedisChannelLayer
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from awx_eventdebug import db
from awx_eventdebug.awx.tables import KINDS
from awx_eventdebug.health.report import health_window
from awx_eventdebug.lag import rollup
from awx_eventdebug.lag.query import LagQuery
from awx_eventdebug.lag.report import lag_report
from awx_eventdebug.lag.rollup import MINUTE, fill_rollups, floor_to
from awx_eventdebug.timeutil import isoformat
from tests.conftest import REDIS_URL
from tests.overflow.test_handler import make_layer, overflow_groups
from tests.support.workloads import add_job

pytestmark = pytest.mark.django_db


def run(subcommand, *args):
    """(exit code, stdout, error message) of ``eventdebug <subcommand>``."""
    out = StringIO()
    try:
        call_command("eventdebug", subcommand, *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), ""


def recent_job(lags, kind="job", node="exec-1"):
    """A job created five minutes ago on execution ``node`` whose events took ``lags`` seconds
    into the database."""
    return add_job(kind, timezone.now() - timedelta(minutes=5), lags, nodes=(node, "awx-1"))


def nodes_one_ahead():
    """Jobs on exec-1 and exec-2, in sync, and on exec-3, whose clock runs 4.5 s ahead."""
    for node in ("exec-1", "exec-2"):
        recent_job([0.5 + 0.01 * n for n in range(30)], node=node)
    recent_job([-4.0] * 5 + [0.6] * 25, node="exec-3")


def dead_redis(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }


def fill_queue(prefix, capacity, messages):
    """A process queue of a real channels_redis layer holding ``messages`` (nobody receives)."""

    async def send():
        layer = RedisChannelLayer(hosts=[REDIS_URL], prefix=prefix, capacity=capacity)
        channel = await layer.new_channel()
        for _ in range(messages):
            await layer.send(channel, {"type": "job.event"})
        await layer.close_pools()

    asyncio.run(send())


def test_healthy(redis_layer_settings):
    recent_job([0.5, 1.0, 1.5, 2.0])
    code, out, error = run("check", "--since", "10m")
    assert (code, error) == (0, "")
    # The inserts running now are read on PostgreSQL only (pg_stat_activity).
    inserts = "longest running event insert 0.0 s, " if connection.vendor == "postgresql" else ""
    assert out.startswith(
        f"OK: lag p99 (worst kind) 1.985 s, {inserts}drops (worst node) 0 drops, fullest queue 0.0% since "
    )


def test_a_quiet_window_is_idle_not_ok(redis_layer_settings):
    """No event stored in the window: the check is "idle" (exit 3), naming when events were last
    stored (the rollups' latest minute), neither OK nor a failure; the dashboard says so too."""
    stored = timezone.now() - timedelta(hours=3)
    add_job("job", stored, [0.5, 48.0])
    fill_rollups(since=stored - timedelta(minutes=1), until=timezone.now())
    code, out, error = run("check", "--since", "10m")
    assert (code, error) == (3, "idle: nothing to judge in the window")
    assert (
        out.startswith("IDLE: hop ") and "no events stored in the window (the last in the minute of " in out
    )
    result = json.loads(run("check", "--since", "10m", "--json")[1])
    assert (result["status"], result["exit_code"], result["failures"]) == ("idle", 3, [])
    assert result["figures"]["lag_p99_seconds"] is None
    path = json.loads(run("path", "--since", "10m", "--json")[1])
    assert path["verdict"] == "idle" and path["headline"].startswith("nothing to judge: hop ")


def test_a_quiet_window_names_the_last_minute_events_were_stored_in_measurable_or_not(redis_layer_settings):
    """The last events stored before the window had no measurable lag: they still say when."""
    measured, negative = (floor_to(timezone.now() - timedelta(hours=h), MINUTE) for h in (3, 2))
    add_job("job", measured + timedelta(seconds=10), [0.5])
    add_job("job", negative + timedelta(seconds=10), [-2.0])  # stored 1 s before it was created
    fill_rollups(since=measured - timedelta(minutes=1), until=timezone.now())
    code, out, _ = run("check", "--since", "10m")
    assert code == 3 and f"(the last in the minute of {isoformat(negative)})" in out


def test_a_window_of_events_without_a_measurable_lag_is_unknown_not_idle(redis_layer_settings):
    """Events were stored, so the window is not idle, but none has a lag to judge: two stored
    before they were created, one with created == modified, one without created."""
    recent_job([-2.0, -1.0, 0, None])
    code, out, _ = run("check", "--since", "10m")
    stored = (
        "4 events stored in the window, none with a measurable lag (2 negative (stored before "
        "created: an execution node's clock ahead), 1 backfilled (created == modified), 1 without created)"
    )
    assert code == 2 and f"UNKNOWN: lag: {stored}" in out
    [row] = [h for h in json.loads(run("path", "--since", "10m", "--json")[1])["cluster"] if h["hop"] == 4]
    assert (row["verdict"], row["text"]) == ("unknown", stored)


def test_the_reports_lag_section_says_events_without_a_measurable_lag_were_stored(redis_layer_settings):
    recent_job([-2.0, -1.0])
    lag = run("report", "--since", "10m")[1].split("Event lag")[1].split("\nChannel overflow")[0]
    assert "  2 events stored in the window, none with a measurable lag (2 negative" in lag


def test_lag_over_the_threshold_names_figure_and_threshold(redis_layer_settings):
    recent_job([0.5] * 9 + [40.0])
    recent_job([0.2, 0.3], kind="project_update")
    code, out, error = run("check", "--since", "10m", "--max-p99", "5")
    assert code == 1
    failed, cause, *_ = out.splitlines()
    assert failed == "FAILED: lag p99 of job events is 36.445 s, above the maximum 5 s (10 events)"
    # No node sampled its callback queue: nothing clears the receiver, nothing blames it.
    assert cause == "CAUSE (hop 4 callback receiver): Event lag the path cannot place"
    assert error == "1 check failed"
    code, out, _ = run("check", "--since", "10m", "--max-p99", "40")
    assert code == 0


def test_settings_give_the_defaults(redis_layer_settings, settings):
    recent_job([3.0, 3.0])
    settings.EVENTDEBUG = {"CHECK_MAX_P99": 2.5}
    assert run("check")[0] == 1
    settings.EVENTDEBUG = {"CHECK_MAX_P99": 3}
    assert run("check")[0] == 0


def test_full_queue_fails_the_fill_check(redis_layer_settings, key_prefix, settings):
    recent_job([0.5])  # a window with events: not idle
    settings.CHANNEL_LAYERS = {
        "default": {**redis_layer_settings, "CONFIG": {**redis_layer_settings["CONFIG"], "capacity": 10}}
    }
    fill_queue(key_prefix, capacity=10, messages=9)
    code, out, _ = run("check", "--json")
    result = json.loads(out)
    assert code == 1 and result["status"] == "failed" and result["exit_code"] == 1
    assert result["figures"]["fill_percent"] == 90.0
    [failure] = result["failures"]
    assert failure.startswith(f"queue {key_prefix}specific.")
    assert failure.endswith("is 90% full (9 of 10 messages), above the maximum 80%")
    assert run("check", "--max-fill", "90")[0] == 0


@pytest.mark.django_db(transaction=True)
def test_real_overflow_fails_the_drops_check(capture_installed, redis_layer_settings, key_prefix):
    recent_job([0.5])  # a window with events: not idle
    layer = make_layer(f"{key_prefix}-sender", capacity=1)

    async def scenario():
        await overflow_groups(layer, {"job_events-7": 4})
        await layer.close_pools()

    asyncio.run(scenario())
    assert capture_installed.flush(timeout=10)
    code, out, _ = run("check")
    assert code == 1
    assert (
        "FAILED: group_send on example-node: channels_redis dropped 3 group messages in the window, "
        "above the maximum 0 drops (most in job_events-7: 3)" in out
    )
    assert run("check", "--max-drops", "3")[0] == 0


def test_unreachable_redis_cannot_check(settings):
    dead_redis(settings)
    recent_job([0.5])
    code, out, error = run("check")
    assert code == 2
    assert out.startswith("UNKNOWN: channel_layer: redis redis://127.0.0.1:1/0 unreachable:")
    assert error == "could not check: 1 finding unknown"
    # An exceeded threshold still says "unhealthy", whatever else could not be read. Stored now
    # (in the open minutes), as AWX stores events: the minutes read before are final.
    add_job("job", timezone.now() - timedelta(seconds=62), [60.0])
    assert run("check")[0] == 1


def test_missing_event_table_is_reported_and_the_rest_still_checked(redis_layer_settings):
    recent_job([0.5])
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE main_systemjobevent")
    code, out, _ = run("check", "--json")
    result = json.loads(out)
    assert code == 2 and result["status"] == "unknown"
    [unchecked] = result["unchecked"]
    assert unchecked.startswith(
        "lag of system_job events: cannot read AWX's event data for kind 'system_job'"
    )
    assert result["figures"]["lag_p99_seconds"] == pytest.approx(0.5)
    code, out, _ = run("report")
    assert "  system_job: cannot read AWX's event data" in out
    assert "Channel layer queues" in out and "0 queues holding 0 messages" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (("--max-fill", "150"), "--max-fill: Ensure this value is less than or equal to 100."),
        (("--max-p99", "soon"), "--max-p99: A valid number is required."),
        (("--max-drops", "-1"), "--max-drops: Ensure this value is greater than or equal to 0."),
        (("--since", "yesterday"), "--since: 'yesterday' is neither an ISO 8601 time nor a duration"),
        (("--since", "90d"), "--since: the window is longer than the maximum 31d"),
    ],
)
def test_bad_options_exit_2_naming_the_option(args, message):
    code, _, error = run("check", *args)
    assert code == 2
    assert error.startswith(message)


def test_report_with_redis_down_still_prints_the_other_sections(settings):
    dead_redis(settings)
    recent_job([1.0, 2.0, 3.0])
    code, out, error = run("report")
    assert (code, error) == (2, "could not read: channel_layer")  # shown, and said in the exit code
    assert "problem: redis redis://127.0.0.1:1/0 unreachable" in out
    lag_line = next(line for line in out.splitlines() if line.startswith("  job "))
    assert lag_line.split()[:3] == ["job", "3", "2.000"]
    assert "no drops recorded in the window" in out
    assert (
        "Channel layer queues (fullest first)\n  unavailable: redis redis://127.0.0.1:1/0 unreachable" in out
    )
    report = json.loads(run("report", "--json")[1])
    assert report["channel_layer"] is None
    assert set(report["errors"]) == {"channel_layer"}
    assert report["lag"]["kinds"]["job"]["count"] == 3


def test_report_lists_the_worst_jobs_by_p99_aligned(redis_layer_settings):
    jobs = {
        recent_job([lag] * 3, kind=kind): lag for lag, kind in [(1, "job"), (9, "job"), (5, "ad_hoc_command")]
    }
    report = json.loads(run("report", "--json")[1])
    worst = [(j["job"], j["kind"], j["percentiles_seconds"]["p99"]) for j in report["lag"]["worst_jobs"]]
    assert [lag for _, _, lag in worst] == [9.0, 5.0, 1.0]
    assert [jobs[job] for job, _, _ in worst] == [9, 5, 1]
    out = run("report")[1]
    rows = out.split("Worst jobs by p99:\n")[1].split("\nChannel overflow")[0].splitlines()
    assert len(rows) == 4
    assert len({len(row) for row in rows}) == 1  # right-aligned numbers: one width


def test_worst_groups_survive_the_group_cap(settings):
    """Ordered by p99, the cap keeps the worst jobs, not the first ones by id."""
    lags = [2, 7, 1, 9, 4]
    ids = [recent_job([lag] * 2) for lag in lags]
    settings.EVENTDEBUG = {"LAG_MAX_GROUPS": 2}
    now = timezone.now()
    window = health_window(now, now - timedelta(minutes=10))
    query = LagQuery(since=window.since, until=window.until, by="job", worst_by=Decimal(99))
    report = lag_report(query)
    assert [g["key"] for g in report["groups"]] == [ids[3], ids[1]]
    assert report["groups_truncated"] is True
    assert report["count"] == 10
    # Jobs come worst first without asking too, by the highest percentile.
    default = lag_report(LagQuery(since=window.since, until=window.until, by="job"))
    assert [g["key"] for g in default["groups"]] == [ids[3], ids[1]]


def test_api_report_and_check_are_the_commands_documents(admin_client, redis_layer_settings, monkeypatch):
    recent_job([0.5, 4.0])
    # The readings come at different moments: a minute that became final between them would be
    # one behind for the second only. The last final minute stays where the fill left it.
    end = rollup.final_end()
    monkeypatch.setattr(rollup, "final_end", lambda now=None: end)
    fill_rollups()  # as the maintenance thread does: both read them, neither computes them
    since = (timezone.now() - timedelta(minutes=10)).isoformat()

    def timeless(doc):
        """``doc`` without the moments of its reading: its window's end, and the clock estimate's."""
        clocks = {k: v for k, v in doc["clock_skew"].items() if k != "estimated_at"}
        return {k: v for k, v in doc.items() if k not in ("generated_at", "window")} | {"clock_skew": clocks}

    api = admin_client.get("/api/eventdebug/report/", {"since": since}).json()
    command = json.loads(run("report", "--json", "--since", since)[1])
    assert timeless(api) == timeless(command)
    assert api["window"]["since"] == command["window"]["since"]
    for doc in (api, command):  # made by the reading, over its window
        assert doc["clock_skew"]["estimated_at"] == doc["window"]["until"]
    api = admin_client.get("/api/eventdebug/check/", {"since": since, "max_p99": "1"}).json()
    command = json.loads(run("check", "--json", "--since", since, "--max-p99", "1")[1])
    assert timeless(api) == timeless(command) and api["status"] == "failed"
    response = admin_client.get("/api/eventdebug/check/", {"max_fill": "101"})
    assert response.status_code == 400
    assert response.json() == {"max_fill": ["Ensure this value is less than or equal to 100."]}


def test_window_default_is_the_health_window(settings):
    settings.EVENTDEBUG = {"HEALTH_WINDOW": "2h"}
    window = health_window(timezone.now())
    assert window.until - window.since == timedelta(hours=2)
    assert abs((window.until - timezone.now()).total_seconds()) < 30  # "now", give or take a stall


@pytest.mark.django_db
def test_the_check_is_the_same_after_the_other_views_of_its_snapshot(redis_layer_settings, monkeypatch):
    """The report's own parts (here the doctor) failing do not make the check unknown: each view
    of a HealthSnapshot keeps its errors apart."""
    from awx_eventdebug.errors import EventDebugError
    from awx_eventdebug.health import snapshot
    from awx_eventdebug.health.reporter import Reporter

    def doctor_fails():
        raise EventDebugError("the doctor could not look")

    recent_job([0.5, 1.0])
    health = snapshot.HealthSnapshot(health_window(timezone.now()))
    before = health.check()
    monkeypatch.setattr(snapshot, "doctor_summary", doctor_fails)
    assert health.report()["errors"]["doctor"] == "the doctor could not look"
    health.metrics(Reporter("example-node", True, timezone.now()))
    assert health.check() == before and before["status"] == "ok"


def test_check_shows_a_node_whose_clock_is_off_without_failing_on_it(redis_layer_settings):
    nodes_one_ahead()
    code, out, error = run("check", "--since", "10m")
    assert (code, error) == (0, "")
    ok, node = out.splitlines()
    assert ok.startswith("OK: ")
    assert node.startswith("NODE: execution node exec-3: clock ahead by about 4.5 s: 5 of 30 events (17%)")
    document = json.loads(run("check", "--since", "10m", "--json")[1])
    estimates = {n["node"]: (n["verdict"], n["skew_seconds"]) for n in document["clock_skew"]["nodes"]}
    assert estimates == {
        "exec-1": ("in_sync", 0.0),
        "exec-2": ("in_sync", 0.0),
        "exec-3": ("ahead", pytest.approx(4.5)),
    }


def test_report_has_a_section_on_the_execution_nodes_clocks(redis_layer_settings):
    nodes_one_ahead()
    out = run("report", "--since", "10m")[1]
    following = out.split("Execution nodes (clock skew estimate)\n")[1].splitlines()
    section = list(takewhile(lambda line: line.startswith(" "), following))
    assert section[0].split() == [
        "node",
        "events",
        "negative",
        "%",
        "lowest",
        "(s)",
        "p50",
        "(s)",
        "p99",
        "(s)",
    ] + [
        "verdict",
        "skew",
        "(s)",
    ]
    rows = {line.split()[0]: line.split() for line in section[1:4]}
    assert rows["exec-3"][1:4] == ["30", "16.667", "-4.000"] and rows["exec-3"][-2:] == ["ahead", "4.500"]
    assert section[-1].startswith("  execution node exec-3: clock ahead by about 4.5 s")
    document = json.loads(run("report", "--since", "10m", "--json")[1])
    assert {n["node"] for n in document["clock_skew"]["nodes"]} == {"exec-1", "exec-2", "exec-3"}
    assert len(document["clock_skew"]["findings"]) == 1


# Each part shown beside the judgment, and the column of AWX's job table it reads.
SHOWN_COLUMNS = {"clock_skew": "execution_node", "websocket_rate": "emitted_events"}


@pytest.mark.parametrize("part", sorted(SHOWN_COLUMNS))
def test_a_part_shown_that_cannot_be_read_is_named_and_changes_no_status(part, redis_layer_settings):
    recent_job([0.5, 1.0])
    healthy = json.loads(run("check", "--since", "10m", "--json")[1])
    column = SHOWN_COLUMNS[part]
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE main_unifiedjob RENAME COLUMN {column} TO renamed")
    try:
        document = json.loads(run("check", "--since", "10m", "--json")[1])
        assert document[part] is None and column in document["unread"][part], document
        assert (document["status"], document["unchecked"]) == (healthy["status"], healthy["unchecked"])
        assert f"UNREAD: {part}: " in run("check", "--since", "10m")[1]
        report = json.loads(run("report", "--since", "10m", "--json")[1])
        assert report[part] is None and column in report["errors"][part]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE main_unifiedjob RENAME COLUMN renamed TO {column}")


@pytest.mark.postgres_only(reason="a health reading's reads share transactions on PostgreSQL only")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("subcommand", ["check", "path", "report"])
def test_a_reading_shares_transactions_but_none_outlives_a_read_of_the_event_tables(
    subcommand, redis_layer_settings, monkeypatch
):
    """The reads of one section of a reading share a read-only bounded transaction (db.py
    shared_reads): the lag's rollups and its open minutes, one; and each read of AWX's event
    tables is the last of its transaction."""
    nodes_one_ahead()
    fill_rollups()  # the reading stores no final minute of its own
    with CaptureQueriesContext(connection) as captured, unmarked_event_reads(monkeypatch) as unmarked:
        code, out, _ = run(subcommand, "--json")
    assert json.loads(out)
    assert_shared_reads([q["sql"] for q in captured.captured_queries])
    assert not unmarked


EVENT_TABLES = re.compile(
    rf"FROM ({'|'.join(t for kind in KINDS.values() for t in (kind.table, kind.legacy_table))})\b"
)


@contextmanager
def unmarked_event_reads(monkeypatch):
    """The statements on AWX's event tables run in a read not marked ``event_tables`` (db.py), as
    they run: such a read would leave the part's transaction, and its lock on them, open."""
    marks, unmarked = [], []
    bounded = db.bounded_transaction

    @contextmanager
    def marked(using=DEFAULT_DB_ALIAS, read_only=False, event_tables=False):
        marks.append(event_tables)
        try:
            with bounded(using, read_only, event_tables):
                yield
        finally:
            marks.pop()

    def check(execute, sql, params, many, context):
        if EVENT_TABLES.search(sql) and not (marks and marks[-1]):
            unmarked.append(sql)
        return execute(sql, params, many, context)

    monkeypatch.setattr(db, "bounded_transaction", marked)
    with connection.execute_wrapper(check):
        yield unmarked


@pytest.mark.postgres_only(reason="a health reading's reads share transactions on PostgreSQL only")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("atomic_requests", [False, True])
@pytest.mark.parametrize("url", ["/api/eventdebug/check/", "/api/eventdebug/report/", "/api/eventdebug/"])
def test_the_api_and_the_dashboard_read_outside_awxs_request_transaction(
    url, atomic_requests, admin_client, redis_layer_settings, monkeypatch
):
    """AWX runs each request in a transaction (ATOMIC_REQUESTS), whose locks would last the whole
    request: the app's views stay out of it and share their reads as a command does."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", atomic_requests)
    nodes_one_ahead()
    fill_rollups()
    with CaptureQueriesContext(connection) as captured:
        assert admin_client.get(url, HTTP_ACCEPT="text/html").status_code == 200
    statements = [q["sql"] for q in captured.captured_queries]
    assert not [sql for sql in statements if "SAVEPOINT" in sql]
    assert_shared_reads(statements)


def assert_shared_reads(statements: list[str]) -> None:
    events = [n for n, sql in enumerate(statements) if EVENT_TABLES.search(sql)]
    assert events and all(statements[n + 1] == "COMMIT" for n in events), statements
    rollups = next(n for n, sql in enumerate(statements) if 'FROM "awx_eventdebug_lagrollup"' in sql)
    open_minutes = next(n for n in events if n > rollups)
    assert not {"BEGIN", "COMMIT"} & set(statements[rollups:open_minutes]), statements
