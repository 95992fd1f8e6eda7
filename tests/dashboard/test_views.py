import base64
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from awx_eventdebug import urls
from awx_eventdebug.api.base import AWX_AUTHENTICATE
from awx_eventdebug.awx.tables import KINDS
from awx_eventdebug.checks import check_dashboard, check_receive_timeout, receive_timeout_findings
from awx_eventdebug.dashboard.views import verdict_title
from example_settings.settings import redis_host
from tests.conftest import REDIS_URL
from tests.health.test_report import nodes_one_ahead, recent_job
from tests.support.channel_layers import use_layer
from tests.support.redis_servers import closed_port
from tests.support.workloads import add_job, required_query

pytestmark = pytest.mark.django_db

PAGE = "/api/eventdebug/"


@pytest.fixture
def layer_settings(settings, key_prefix):
    """The real Redis with this test's prefix, configured as W052 asks under redis-py 8."""
    host = redis_host(REDIS_URL)
    config = {"hosts": [host], "prefix": key_prefix}
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": config}
    }


@pytest.fixture
def admin_client(client, layer_settings):
    admin = get_user_model().objects.create_superuser("admin", "admin@example.invalid", "pw")
    client.force_login(admin)
    return client


def test_anonymous_is_sent_to_login_with_next(client, settings):
    settings.LOGIN_URL = "/login/here/"
    response = client.get(PAGE + "?kind=job")
    assert response.status_code == 302
    assert response["Location"] == "/login/here/?next=/api/eventdebug/%3Fkind%3Djob"


def test_the_example_project_signs_in_at_awxs_login_path(client):
    get_user_model().objects.create_superuser("admin", "admin@example.invalid", "pw")
    response = client.get(PAGE)
    assert response["Location"] == "/api/login/?next=/api/eventdebug/"
    assert client.get(response["Location"]).status_code == 200
    signed_in = client.post("/api/login/", {"username": "admin", "password": "pw", "next": PAGE})
    assert signed_in.status_code == 302 and signed_in["Location"] == PAGE
    assert client.get(PAGE).status_code == 200


def test_basic_credentials_sent_open_the_page(client, layer_settings):
    """A client that sends them unasked (curl -u), as AWX's API takes them; never challenged for
    them (AWX's 401 says Bearer), so a browser signs in at the login page instead."""
    get_user_model().objects.create_superuser("admin", "admin@example.invalid", "pw")
    credentials = base64.b64encode(b"admin:pw").decode()
    assert client.get(PAGE, HTTP_AUTHORIZATION=f"Basic {credentials}").status_code == 200


def test_user_without_permission_gets_403_page(client):
    user = get_user_model().objects.create_user("plain", password="pw")
    client.force_login(user)
    response = client.get(PAGE)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert b"system administrators and system auditors" in response.content


def test_permission_classes_come_from_settings(client, settings, layer_settings):
    settings.EVENTDEBUG = {"PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"]}
    client.force_login(get_user_model().objects.create_user("plain", password="pw"))
    assert client.get(PAGE).status_code == 200


def test_page_renders_health_selectors_and_csrf_cookie(admin_client):
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "The doctor found no problems" in html
    # The setup card: the layer's capacity, channels_redis's default as this layer sets none.
    assert "· capacity 100 messages</dd>" in html
    assert 'data-lag-url="lag/"' in html
    assert 'data-overflow-url="overflow/summary/"' in html
    assert 'data-channels-url="channels/"' in html
    assert 'data-websocket-path="/websocket/"' in html
    # Every kind is offered to the timeline (by name) and to the gauge (by websocket group).
    for name, kind in KINDS.items():
        assert f'<option value="{name}">{name}</option>' in html
        assert f'<option value="{kind.group_prefix}">{name}</option>' in html
    # The page's window: HEALTH_WINDOW by default, as `eventdebug check`'s.
    assert '<option value="15m" selected>' in html and 'data-window="15m"' in html
    # The gauge sends this cookie as AWX's xrftoken.
    assert response.cookies["csrftoken"].value


def sections_of(html):
    """Each section of the page by its id."""
    return {m.group(1): m.group(0) for m in re.finditer(r'<section id="([a-z-]+)".*?</section>', html, re.S)}


def test_one_window_chosen_in_the_url_covers_every_section(admin_client, settings):
    recent_job([0.5, 1.0])
    html = admin_client.get(PAGE + "?window=6h").content.decode()
    assert '<option value="6h" selected>' in html and 'data-window="6h"' in html
    sections = sections_of(html)
    assert "over the last 6h" in sections["verdict"]
    for name in ("lag", "overflow", "worst-jobs", "path"):
        assert "the last 6h" in sections[name], name
    # The JSON links and the charts' requests (the lag form) ask for the same window.
    assert '<input type="hidden" name="since" value="6h">' in sections["lag"]
    assert 'href="overflow/summary/?since=6h"' in sections["overflow"]
    assert 'href="path/?since=6h"' in sections["path"]
    # The verdict is the check's over that window.
    check = admin_client.get(PAGE + "check/?since=6h", HTTP_ACCEPT="application/json").json()
    assert check["status"] == "ok" and 'data-status="ok"' in sections["verdict"]


def test_a_window_not_offered_is_a_400_naming_it(admin_client, settings):
    response = admin_client.get(PAGE + "?window=3y")
    assert response.status_code == 400
    assert response.content.decode() == 'window: "3y" is not one of 15m, 1h, 2h, 6h, 24h.\n'
    # Windows longer than LAG_MAX_WINDOW are not offered; HEALTH_WINDOW always is.
    settings.EVENTDEBUG = {"LAG_MAX_WINDOW": "2h", "HEALTH_WINDOW": "30m"}
    html = admin_client.get(PAGE).content.decode()
    selector = html[html.index('id="page-window"') : html.index("</select>", html.index('id="page-window"'))]
    offered = re.findall(r'<option value="(\w+)"', selector)
    assert offered == ["15m", "30m", "1h", "2h"]
    assert admin_client.get(PAGE + "?window=6h").status_code == 400


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.mark.parametrize("accept", [BROWSER_ACCEPT, "*/*", "text/html", None])
def test_a_browser_and_curl_get_the_page(admin_client, accept):
    response = admin_client.get(PAGE, **({"HTTP_ACCEPT": accept} if accept else {}))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def listing_expected(prefix: str) -> dict:
    """Every route of urls.py but the root, by its name with underscores, under ``prefix``."""
    return {
        pattern.name.replace("-", "_"): prefix + str(pattern.pattern)
        for pattern in urls.urlpatterns
        if str(pattern.pattern)
    }


@pytest.mark.parametrize("asked", [{"HTTP_ACCEPT": "application/json"}, {"path": PAGE + "?format=json"}])
def test_a_json_client_gets_every_endpoint_of_urls_py(admin_client, asked):
    response = admin_client.get(asked.pop("path", PAGE), **asked)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    listing = response.json()
    assert listing == listing_expected(PAGE)
    assert {"lag", "overflow_summary", "listen_gaps", "schema"} <= set(listing)
    # Each is an endpoint that answers, not only a path that resolves.
    for name, path in listing.items():
        query = required_query(name.replace("_", "-"))
        assert admin_client.get(path, query).status_code == 200, name


def test_the_listing_follows_the_prefix_inside_awx(admin_client, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "awx_eventdebug.middleware.EventDebugMiddleware"]
    settings.EVENTDEBUG = {"URL_PREFIX": "/diagnostics/events/"}
    response = admin_client.get("/diagnostics/events/", HTTP_ACCEPT="application/json")
    assert response.json() == listing_expected("/diagnostics/events/")


def test_a_json_client_gets_the_apis_refusals(client):
    """AWX's 401 challenge to an anonymous JSON client (a page visitor goes to the login form),
    a JSON 403 to a user without the permission."""
    anonymous = client.get(PAGE, HTTP_ACCEPT="application/json")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == AWX_AUTHENTICATE
    assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
    client.force_login(get_user_model().objects.create_user("plain", password="pw"))
    refused = client.get(PAGE + "?format=json")
    assert refused.status_code == 403 and "detail" in refused.json()


def test_doctor_problems_and_warnings_are_rendered_on_the_server(admin_client, settings):
    with closed_port() as port:
        doctor_problems_on_the_page(admin_client, settings, port)


def doctor_problems_on_the_page(admin_client, settings, port):
    use_layer(settings, {"hosts": [f"redis://127.0.0.1:{port}/0"]})
    settings.EVENTDEBUG = {"REDIS_TIMEOTU": 1, "REDIS_TIMEOUT": 0.5}
    html = admin_client.get(PAGE).content.decode()
    assert f"redis redis://127.0.0.1:{port}/0 unreachable" in html
    assert "awx_eventdebug.W002" in html
    assert "Did you mean &#x27;REDIS_TIMEOUT&#x27;?" in html
    assert "The doctor found no problems" not in html


def test_every_static_file_the_page_uses_is_found_and_collected(admin_client, settings, tmp_path):
    html = admin_client.get(PAGE).content.decode()
    paths = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
    assert {p.rsplit("/", 1)[-1] for p in paths} == {
        "dashboard.css",
        "api.js",
        "charts.js",
        "verdict.js",
        "lag_timeline.js",
        "drops_chart.js",
        "layer_tables.js",
        "gauge.js",
        "dashboard.js",
    }
    for path in paths:
        assert finders.find(path), path
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    for path in paths:
        assert (tmp_path / path).is_file(), path


def test_a_503_to_a_browser_is_a_page_saying_what_failed(admin_client, settings):
    """The database is up here (tests/faults/test_pages.py breaks it): the page is the same."""
    settings.EVENTDEBUG = {"REDIS_TIMEOUT": 0.5}
    with closed_port() as port:
        use_layer(settings, {"hosts": [f"redis://:hunter2@127.0.0.1:{port}/0"]})
        page = admin_client.get(PAGE + "channels/", HTTP_ACCEPT="text/html")
        document = admin_client.get(PAGE + "channels/", HTTP_ACCEPT="application/json")
    assert page.status_code == document.status_code == 503
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "<h1>Unavailable</h1>" in html and f"redis redis://:****@127.0.0.1:{port}/0 unreachable" in html
    assert "hunter2" not in html
    assert document.json()["detail"].startswith(f"redis redis://:****@127.0.0.1:{port}/0 unreachable")


def test_no_dashboard_warnings_in_the_example_project():
    assert check_dashboard() == []


def test_warns_when_javascript_cannot_read_the_csrf_cookie(settings):
    settings.CSRF_COOKIE_HTTPONLY = True
    [warning] = check_dashboard()
    assert warning.id == "awx_eventdebug.W050"
    assert "xrftoken" in warning.msg


def test_warns_when_static_files_are_not_collected(settings):
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "django.contrib.staticfiles"]
    [warning] = check_dashboard()
    assert warning.id == "awx_eventdebug.W051"


def redis_layer(*hosts):
    return {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": list(hosts)}}


@pytest.mark.parametrize(
    ("layer", "redis_version", "channels_redis_version", "warned"),
    [
        (redis_layer("redis://h:6379/0"), (8, 1, 0), (4, 3, 0), True),
        (redis_layer(("h", 6379), {"address": "redis://h2"}), (8, 0, 0), (4, 2, 0), True),
        (redis_layer(), (8, 0, 0), (4, 3, 0), True),  # channels_redis's default host
        (redis_layer({"address": "redis://h:6379/0", "socket_timeout": None}), (8, 1, 0), (4, 3, 0), False),
        (redis_layer("redis://h:6379/0?socket_timeout=30"), (8, 1, 0), (4, 3, 0), False),
        (redis_layer("redis://h:6379/0"), (5, 0, 1), (4, 2, 0), False),  # AWX's pins
        (redis_layer("redis://h:6379/0"), (8, 1, 0), (4, 4, 0), False),  # a channels_redis with the fix
        ({"BACKEND": "channels.layers.InMemoryChannelLayer"}, (8, 1, 0), (4, 3, 0), False),
    ],
)
def test_warns_when_redis_py_times_out_the_websocket_receive(
    layer, redis_version, channels_redis_version, warned
):
    found = receive_timeout_findings(layer, redis_version, channels_redis_version)
    assert [w.id for w in found] == (["awx_eventdebug.W052"] if warned else [])


def test_example_project_sets_the_receive_timeout(settings):
    from example_settings.settings import CHANNEL_LAYERS

    settings.CHANNEL_LAYERS = CHANNEL_LAYERS
    assert check_receive_timeout() == []


def verdict_of(html):
    part = html[html.index('<section id="verdict"') :]
    return part[: part.index("</section>")]


def test_the_verdict_is_the_check_with_its_thresholds(admin_client, settings):
    recent_job([0.5, 1.0])
    verdict = verdict_of(admin_client.get(PAGE).content.decode())
    assert 'data-status="ok"' in verdict and ">OK</span>" in verdict
    assert "Every figure is within its threshold" in verdict and "over the last 15m" in verdict
    assert "· max 10 s" in verdict and "· max 80%" in verdict and "· max 0" in verdict
    assert "Callback backlog (worst node)</dt><dd>– · max 10,000" in verdict  # no node sampled
    assert "Oldest queued event</dt><dd>– · max 10 s" in verdict

    settings.EVENTDEBUG = {"CHECK_MAX_P99": 0.5}
    html = admin_client.get(PAGE).content.decode()
    verdict = verdict_of(html)
    assert 'data-status="failed"' in verdict and ">FAILED</span>" in verdict
    assert "1 check failed" in verdict
    assert "lag p99 of job events is 0.995 s, above the maximum 0.5 s (2 events)" in verdict
    # The doctor's own "ok" (setup) no longer stands alone at the top.
    assert html.index('id="verdict"') < html.index("The doctor found no problems")
    assert 'data-max-p99="0.5"' in html and 'data-max-fill="80"' in html


def test_the_verdict_shows_what_the_check_shows_beside_it(admin_client):
    """A job AWX thinned and an execution node whose clock is off, whatever the status."""
    nodes_one_ahead()
    fast = add_job("job", timezone.now() - timedelta(minutes=1), [0.5] * 300, duration=3.0)
    verdict = verdict_of(admin_client.get(PAGE).content.decode())
    assert (
        '<li class="finding"><span class="badge note">node</span> execution node exec-3: clock ahead'
        in verdict
    )
    assert f'<span class="badge note">ui</span> job {fast} (job): 300 events in 3 s' in verdict


def test_a_status_the_page_has_no_words_for_shows_as_itself():
    """A verdict the check may add later ("paused", say) is its own class and badge, with the
    check's headline; never the words of OK (test_browser.py: nor its colour). "idle" has words."""
    check = {"status": "paused", "headline": "no events stored since 10:04", "failures": [], "unchecked": []}
    html = render_to_string(
        "awx_eventdebug/verdict.html",
        {
            "verdict": {**check, "title": verdict_title(check), "rows": [], "window_length": "15m"},
            "thresholds": [],
        },
    )
    assert 'class="card verdict paused" data-status="paused"' in html
    assert '<span class="badge paused">PAUSED</span>' in html and "no events stored since 10:04" in html
    assert "Every figure is within its threshold" not in html


def test_loads_within_the_period_share_one_reading_of_the_path(admin_client):
    """The verdict and the path card are one reading, which the next loads of HEALTH_CACHE
    seconds share (health/cache.py): a refreshing page costs the path once."""
    recent_job([0.5])

    def path_reads():
        with CaptureQueriesContext(connection) as load:
            assert admin_client.get(PAGE).status_code == 200
        return [q["sql"] for q in load.captured_queries if re.search(r"lagrollup|nodesnapshot", q["sql"])]

    assert path_reads() and path_reads() == []


def test_a_load_reads_the_overflow_table_over_its_window_only(admin_client):
    """The page's overflow table reads the capture's rows of its window; the doctor's overflow
    section (the last day's groups, the table's totals) is the doctor's and the report's, not
    every load's."""
    with CaptureQueriesContext(connection) as load:
        assert admin_client.get(PAGE).status_code == 200
    overflow = [q["sql"] for q in load.captured_queries if "awx_eventdebug_channeloverflow" in q["sql"]]
    assert overflow and all('"last_seen" >=' in sql for sql in overflow), overflow
