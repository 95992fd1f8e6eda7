from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_overflow_totals_start_from_the_rows_and_the_purged_drops_and_go_back():
    """0008 sums what was recorded before it (the rows there are, and OverflowPurged's purged
    drops) into OverflowTotal; going back puts the purged part back in OverflowPurged."""
    before, after = [("awx_eventdebug", "0007_clock_estimate")], [("awx_eventdebug", "0008_overflow_total")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        at = timezone.now()
        for group, drops in (("job_events-1", 2), ("job_events-2", 3), ("broadcast-group_send", 4)):
            old.get_model("awx_eventdebug", "ChannelOverflow").objects.create(
                node="awx-1", group=group, window_start=at, first_seen=at, last_seen=at, drops=drops,
                queues_over=1, max_group_size=1, source="live",
            )  # fmt: skip
        purged = old.get_model("awx_eventdebug", "OverflowPurged")
        purged.objects.create(node="awx-1", group_kind="job_events", source="live", drops=10)
        purged.objects.create(node="awx-0", group_kind="other", source="ingest", drops=1)
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        totals = new.get_model("awx_eventdebug", "OverflowTotal").objects
        assert set(totals.values_list("node", "group_kind", "source", "drops")) == {
            ("awx-1", "job_events", "live", 15),
            ("awx-1", "broadcast", "live", 4),
            ("awx-0", "other", "ingest", 1),
        }
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        back = executor.loader.project_state(before).apps.get_model("awx_eventdebug", "OverflowPurged")
        assert set(back.objects.values_list("node", "group_kind", "source", "drops")) == {
            ("awx-1", "job_events", "live", 10),
            ("awx-0", "other", "ingest", 1),
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
