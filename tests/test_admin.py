from datetime import UTC, datetime

import pytest

from awx_eventdebug.overflow.upsert import Counts, add_counts

pytestmark = pytest.mark.django_db

URL = "/admin/awx_eventdebug/channeloverflow/"


def test_read_only_list_with_filters(admin_client):
    at = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    add_counts(
        {
            ("awx-1", "job_events-1", at, "live"): Counts(at, at, 3, 3, 1),
            ("awx-2", "broadcast-group_send", at, "ingest"): Counts(at, at, 5, 5, 4),
        }
    )
    page = admin_client.get(URL, {"source__exact": "ingest"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "broadcast-group_send" in text and "job_events-1" not in text
    assert admin_client.get(URL, {"q": "job_events"}).status_code == 200
    assert admin_client.get(f"{URL}add/").status_code == 403
