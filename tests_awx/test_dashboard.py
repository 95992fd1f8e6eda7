"""The dashboard in AWX: an anonymous browser signs in at AWX's own session login, and the live
gauge subscribes through AWX's real /websocket/ (daphne), as AWX's UI does."""

import re

from awx_box import PREFIX, UiSession, get


def test_an_anonymous_browser_is_sent_to_awxs_login_page(users):
    page = get(PREFIX, Accept="text/html")
    assert page.status_code == 302
    assert page.headers["Location"] == f"/api/login/?next={PREFIX}"
    login = get(page.headers["Location"], Accept="text/html")
    assert login.status_code == 200
    assert 'action="/api/login/"' in login.text and f'name="next" value="{PREFIX}"' in login.text


def test_dashboard_websocket_subscription_is_accepted(jobs, users):
    job = jobs["job"]
    session = UiSession(*users["auditor"])
    try:
        page = session.request("GET", PREFIX)
        assert page.status_code == 200
        path = re.search(r'data-websocket-path="([^"]+)"', page.text).group(1)
        cookie = re.search(r'data-csrf-cookie="([^"]+)"', page.text).group(1)
        assert path == "/websocket/"
        assert session.connect() == {"accept": True, "user": session_user_id(users["auditor"][0])}
        # gauge.js's subscribe(): the job's group, AWX's status groups, the CSRF cookie as xrftoken.
        reply = session.subscribe(
            {"jobs": ["status_changed", "summary"], "job_events": [job.id]}, token_cookie=cookie
        )
        assert "error" not in reply, reply
        assert f"job_events-{job.id}" in reply["groups_current"]
    finally:
        session.close()


def session_user_id(username: str) -> int:
    from django.contrib.auth.models import User

    return User.objects.get(username=username).id
