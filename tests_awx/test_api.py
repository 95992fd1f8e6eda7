"""The app's API inside AWX answers as AWX does (auth, redirects, the browsable API), and AWX's own
API answers the same with and without the app installed."""

import difflib
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from awx_box import BARE_URL, PREFIX, WEB_URL, get

ENDPOINTS = ["lag/", "channels/", "overflow/", "overflow/summary/", "report/", "check/", "metrics/"]
BROWSABLE = ["lag/", "channels/", "overflow/", "report/"]
# AWX's own URLs: lists, details, named URLs, text output, settings, metrics, the login page, a
# redirect, OAuth, and 404s next to the app's prefix.
AWX_PATHS = [
    "/api/",
    "/api/v2/",
    "/api/v2/ping/",
    "/api/v2/config/",
    "/api/v2/me/",
    "/api/v2/jobs/",
    "/api/v2/jobs/{job}/",
    "/api/v2/jobs/{job}/job_events/?page_size=5",
    "/api/v2/jobs/{job}/stdout/?format=txt",
    "/api/v2/job_templates/",
    "/api/v2/job_templates/TierJT/",
    "/api/v2/organizations/TierOrg/",
    "/api/v2/settings/logging/",
    "/api/v2/system_job_templates/",
    "/api/v2/metrics/",
    "/api/login/",
    "/api/v2/job_templates",
    "/api/o/",
    "/api/v2/nonexistent/",
    "/api/eventdebugx/",
]
HTML = {"Accept": "text/html"}
# The browsable API (AWX's api.html template) for a list, a detail and a 401.
HTML_PATHS = {"/api/v2/", "/api/v2/jobs/", "/api/v2/jobs/{job}/", "/api/v2/config/"}
# What differs between two answers of the same AWX for reasons other than the app: CSRF tokens
# (in forms and in the browsable API's script), times and durations, and float figures.
VOLATILE = re.compile(
    rb'(csrfmiddlewaretoken" value="|"csrfToken": ")[^"]*'
    rb'|"(created|modified|generated_at|time|elapsed|started|finished|heartbeat|last_login|now)": ?"[^"]*"'
    rb"|[0-9]+\.[0-9]+"
)


def identities(users):
    return {"anonymous": None, **users, "bad password": ("admin", "wrong-password")}


def answer(response) -> tuple:
    """Status, the headers that say what the answer is, and the body without its volatile parts.
    Prometheus samples come in each process's own order (AWX fills them from sets): sorted."""
    headers = ("Content-Type", "Location", "WWW-Authenticate")
    body = response.content
    # Absolute links name the server that answered (and the jobs' recorded environment both).
    for server in (WEB_URL, BARE_URL):
        body = body.replace(urlsplit(server).netloc.encode(), b"server")
    body = VOLATILE.sub(b"", body)
    if body.startswith(b"# HELP "):
        body = b"\n".join(sorted(body.splitlines()))
    return (response.status_code, *(response.headers.get(name) for name in headers), body)


def difference(credentials, path: str, accept: dict) -> str:
    """The start of a diff between the two normalized answers, when they differ."""
    with_app = answer(get(path, credentials, **accept))
    without = answer(get(path, credentials, base=BARE_URL, **accept))
    if with_app == without:
        return ""

    def lines(normalized: tuple) -> list[str]:
        return [repr(part) for part in normalized[:-1]] + normalized[-1].decode(errors="replace").splitlines()

    diff = difflib.unified_diff(
        lines(without), lines(with_app), "without the app", "with the app", lineterm=""
    )
    return "\n".join(line[:300] for line in list(diff)[:30])


def test_awx_api_is_the_same_with_and_without_the_app(jobs, users):
    pairs = [
        (who, credentials, path.format(job=jobs["job"].id), accept)
        for who, credentials in identities(users).items()
        for path in AWX_PATHS
        for accept in ({}, HTML)
        if not accept or path in HTML_PATHS
    ]
    # A few at a time: both uwsgi servers have workers to spare.
    with ThreadPoolExecutor(4) as pool:
        diffs = pool.map(lambda pair: difference(*pair[1:]), pairs)
    different = {
        f"{who} {path} {accept}": diff
        for (who, _, path, accept), diff in zip(pairs, diffs, strict=True)
        if diff
    }
    assert len(pairs) == 5 * (len(AWX_PATHS) + len(HTML_PATHS))
    assert not different, f"{len(different)} of {len(pairs)} differ: {list(different)}\n" + "\n".join(
        list(different.values())[:3]
    )


@pytest.fixture(scope="module")
def awx_challenge():
    """What AWX answers anonymous and bad-password requests with: 401 and its Bearer challenge
    (``Bearer realm=api``, plus ``authorization_url`` on AWX versions with OAuth2)."""
    challenges = set()
    for credentials in (None, ("admin", "wrong-password")):
        response = get("/api/v2/jobs/", credentials)
        assert response.status_code == 401
        challenges.add(response.headers.get("WWW-Authenticate"))
    [challenge] = challenges
    assert challenge.startswith("Bearer realm=api")
    return challenge


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_auth_matrix(users, awx_challenge, endpoint):
    path = PREFIX + endpoint
    for who, credentials in identities(users).items():
        response = get(path, credentials)
        expected = {"anonymous": 401, "bad password": 401, "alice": 403, "auditor": 200, "admin": 200}[who]
        assert response.status_code == expected, f"{who}: {response.status_code} {response.text[:200]}"
        if expected == 401:
            assert response.headers.get("WWW-Authenticate") == awx_challenge, who


def test_the_root_lists_the_endpoints_to_a_json_client(users, awx_challenge):
    """The prefix itself: the dashboard to a browser, the endpoints' paths (as AWX's /api/v2/
    lists its own) to a JSON client, which gets AWX's refusals."""
    listing = get(PREFIX + "?format=json", users["auditor"]).json()
    assert set(listing.values()) >= {PREFIX + endpoint for endpoint in ENDPOINTS}
    assert listing["overflow_summary"] == PREFIX + "overflow/summary/"
    anonymous = get(PREFIX, Accept="application/json")
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == awx_challenge
    assert get(PREFIX, users["alice"], Accept="application/json").status_code == 403


@pytest.mark.parametrize("endpoint", BROWSABLE)
def test_browsable_api_renders_inside_awx(users, endpoint):
    response = get(PREFIX + endpoint, users["admin"], **HTML)
    assert response.status_code == 200, response.text[-1500:]
    assert response.headers["Content-Type"].startswith("text/html")


def test_prefix_without_slash_redirects_as_awx_does():
    assert get("/api/v2/job_templates").status_code == 301
    response = get(PREFIX.rstrip("/"))
    assert response.status_code == 301
    assert response.headers["Location"].endswith(PREFIX)


def literal_start(pattern) -> tuple[str, bool]:
    """The part of a URL pattern every URL it matches starts with (its route up to the first
    converter, or its regular expression up to the first special character), and whether that
    is the whole pattern."""
    written = getattr(pattern.pattern, "_route", None)
    if written is None:
        written = pattern.pattern._regex.removeprefix("^")
        literal = re.split(r"[.^$*+?{}\[\]\\|()]", written, maxsplit=1)[0]
    else:
        literal = written.split("<", 1)[0]
    return literal, literal == written


def routed_directories(patterns, start: str = "") -> set[str]:
    """Every directory of a URL AWX routes ("/", "/api/", "/api/v2/", ...), from the patterns;
    the routes included under a pattern are followed when that pattern is all literal."""
    found = set()
    for pattern in patterns:
        literal, whole = literal_start(pattern)
        parts = (start + literal).split("/")[:-1]
        found.update("/" + "".join(part + "/" for part in parts[:i]) for i in range(len(parts) + 1))
        if whole and hasattr(pattern, "url_patterns"):
            found |= routed_directories(pattern.url_patterns, start + literal)
    return found


def test_every_directory_awx_routes_is_refused_as_url_prefix():
    """AWX's own URL list and websocket routes, read from this AWX: the app's URL_PREFIX rule
    refuses each directory of them (which the middleware would take from AWX)."""
    from awx.main.routing import websocket_urlpatterns
    from django.urls import get_resolver

    from awx_eventdebug.conf import option_error

    directories = routed_directories(get_resolver("awx.urls").url_patterns) | routed_directories(
        websocket_urlpatterns
    )
    assert {"/", "/api/", "/api/v2/", "/api/login/", "/sso/", "/websocket/"} <= directories
    taken = [d for d in sorted(directories) if option_error("URL_PREFIX", d) is None]
    assert not taken, f"AWX routes these, the app's URL_PREFIX would take them: {taken}"
    assert option_error("URL_PREFIX", PREFIX) is None
