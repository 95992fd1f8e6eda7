import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from awx_eventdebug.models import ChannelOverflow, IngestedRecord
from awx_eventdebug.overflow.queries import cumulative_drops, purge_overflow
from awx_eventdebug.overflow.upsert import Counts, add_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged_rows():
    """Rows 1.5 to 40.5 days old (one per day), and a fingerprint of the same ages."""
    now = timezone.now().replace(second=0, microsecond=0)
    rows = {}
    for days in range(1, 41):
        start = now - timedelta(days=days, hours=12)
        rows[("awx-1", "job_events-1", start, "live")] = Counts(start, start, 1, 1, 1)
        IngestedRecord.objects.create(fingerprint=f"{days:032x}", logged_at=start)
    add_counts(rows)


def test_purge_in_batches_keeps_the_young(aged_rows):
    result = purge_overflow(timedelta(days=30), batch_size=4)
    assert result["removed"] == {"overflow_rows": 11, "ingest_fingerprints": 11}
    assert result["batches"] == 3 + 3
    assert ChannelOverflow.objects.count() == 29 and IngestedRecord.objects.count() == 29


def test_dry_run_removes_nothing(aged_rows):
    out = StringIO()
    call_command("eventdebug", "purge", "--older-than", "7d", "--dry-run", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["dry_run"] is True and result["removed"]["overflow_rows"] == 34
    assert ChannelOverflow.objects.count() == 40


def test_dry_run_reports_the_batches_a_purge_would_run(aged_rows):
    dry = purge_overflow(timedelta(days=30), dry_run=True, batch_size=4)
    assert dry["batches"] == 3 + 3
    assert purge_overflow(timedelta(days=30), batch_size=4)["batches"] == dry["batches"]


def test_purge_keeps_the_cumulative_drops(aged_rows):
    now = timezone.now()
    add_counts({("awx-2", "broadcast-group_send", now, "live"): Counts(now, now, 5, 5, 2)})
    before = cumulative_drops()
    assert before == {("awx-1", "job_events"): 40, ("awx-2", "broadcast"): 5}
    purge_overflow(timedelta(days=30), batch_size=4)
    purge_overflow(timedelta(days=3), batch_size=4)
    assert ChannelOverflow.objects.count() == 3
    after = cumulative_drops()
    assert after == before
    assert {type(drops) for drops in after.values()} == {int}  # PostgreSQL sums a bigint as numeric


def test_command_defaults_to_retention_and_prints_what_it_removed(aged_rows, settings):
    settings.EVENTDEBUG = {"RETENTION": "20d"}
    out = StringIO()
    call_command("eventdebug", "purge", stdout=out)
    text = out.getvalue()
    assert "removed rows older than" in text and "(20d)" in text
    assert "overflow rows        21" in text
    assert ChannelOverflow.objects.count() == 19
