import json
import random
from datetime import timedelta
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils.dateparse import parse_datetime
from rest_framework.schemas.openapi import SchemaGenerator
from rest_framework.test import APIClient

from tests.support.workloads import BASE, small_workload

pytestmark = pytest.mark.django_db

URL = "/api/eventdebug/lag/"
WINDOW = {"since": "2026-11-27T09:00:00Z", "until": "2026-11-27T13:00:00Z"}


def auditor_client():
    # AWX defines is_system_auditor as a property of its User; here it is set on the instance,
    # which force_authenticate hands to the view as it is.
    user = User.objects.create_user("auditor", password="pw")
    user.is_system_auditor = True
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def run_command(*args):
    out = StringIO()
    call_command("eventdebug", "lag", *args, stdout=out)
    return out.getvalue()


def test_permissions_follow_awx_diagnostics(admin, settings):
    assert APIClient().get(URL).status_code == 401
    ordinary = APIClient()
    ordinary.force_login(User.objects.create_user("ordinary", password="pw"))
    assert ordinary.get(URL).status_code == 403
    assert admin.get(URL).status_code == 200
    assert admin.post(URL).status_code == 405
    auditor = auditor_client()
    assert auditor.get(URL).status_code == 200
    assert auditor.post(URL).status_code == 403
    settings.EVENTDEBUG = {"PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"]}
    assert APIClient().get(URL).status_code == 200


@pytest.mark.parametrize(
    "by, extra",
    [("none", {}), ("event", {"percentiles": "50,99.9"}), ("minute", {}), ("job", {"event": "runner_on_ok"})],
)
def test_api_and_command_give_the_same_json(admin, by, extra):
    small_workload(kinds=("job",))
    params = {**WINDOW, "by": by, **extra}
    response = admin.get(URL, params)
    assert response.status_code == 200
    options = [f"--{name}={value}" for name, value in params.items()]
    assert json.loads(run_command("--json", *options)) == response.json()
    assert response.json()["count"] > 0


def test_whole_job_and_unknown_job(admin):
    job = small_workload(kinds=("job",)).jobs["job"][0]
    body = admin.get(URL, {"job": job}).json()
    assert (body["job"], body["since"], body["until"], body["count"]) == (job, None, None, 50)
    response = admin.get(URL, {"job": 4242})
    assert response.status_code == 404
    assert response.json() == {"detail": "no job with id 4242 in main_unifiedjob."}
    with pytest.raises(CommandError, match="no job with id 4242") as caught:
        run_command("--job", "4242")
    assert caught.value.returncode == 2


def test_a_job_under_the_wrong_kind_is_a_404_naming_its_kind(admin):
    job = small_workload(kinds=("job",)).jobs["job"][0]
    response = admin.get(URL, {"kind": "system_job", "job": job})
    assert response.status_code == 404
    assert response.json() == {
        "detail": f"job {job} is of kind job, not system_job.",
        "hint": "Ask with kind job.",
    }
    with pytest.raises(
        CommandError, match=f"job {job} is of kind job, not system_job. Ask with kind job."
    ) as caught:
        run_command("--kind", "system_job", "--job", str(job))
    assert caught.value.returncode == 2


def test_default_window_comes_from_the_settings(admin, settings):
    settings.EVENTDEBUG = {"LAG_WINDOW": "90m", "LAG_PERCENTILES": [75, 99.5]}
    body = admin.get(URL).json()
    window = parse_datetime(body["until"]) - parse_datetime(body["since"])
    assert window == timedelta(minutes=90)
    assert list(body["percentiles_seconds"]) == ["p75", "p99.5"]


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({"job": "abc"}, "job", "valid integer"),
        ({"job": "-1"}, "job", "greater than or equal to 1"),
        ({"job": "1.5"}, "job", "valid integer"),
        ({"job": "9" * 40}, "job", "less than or equal to"),
        ({"kind": "jobs"}, "kind", "is not one of job, project_update, inventory_update, ad_hoc_command"),
        ({"by": "day"}, "by", "is not one of none, event, job, minute, hour"),
        ({"since": "yesterday"}, "since", "neither an ISO 8601 time nor a duration"),
        ({"until": "2026-13-40T00:00:00"}, "until", "neither an ISO 8601 time"),
        ({"since": "0001-01-01T00:00:00+05:00"}, "since", "out of range"),
        ({"since": "2026-11-27T12:00:00Z", "until": "2026-11-27T11:00:00Z"}, "until", "later than since"),
        ({"since": "40d"}, "since", "longer than the maximum 31d"),
        ({"percentiles": "50,nan"}, "percentiles", "not a number"),
        ({"percentiles": "inf"}, "percentiles", "not a number"),
        ({"percentiles": "1e309"}, "percentiles", "between 0 and 100"),
        ({"percentiles": "50,50"}, "percentiles", "given twice"),
        ({"percentiles": "0"}, "percentiles", "between 0 and 100"),
        ({"percentiles": ",".join(str(n) for n in range(1, 12))}, "percentiles", "at most 10"),
        ({"percentiles": "fifty"}, "percentiles", "not a number"),
        ({"kind": "system_job", "event": "runner_on_ok"}, "event", "no event column"),
        ({"kind": "inventory_update", "by": "event"}, "by", "no event column"),
        ({"event": "a\x00b"}, "event", "Null characters"),
    ],
)
def test_bad_query_strings_name_the_field(admin, params, field, message):
    response = admin.get(URL, params)
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()[field])
    with pytest.raises(CommandError, match=f"--{field}: .*{message}"):
        run_command(*[f"--{name}={value}" for name, value in params.items()])


def test_each_bad_field_is_named_at_once(admin):
    body = admin.get(URL, {"job": "x", "kind": "y", "by": "z", "percentiles": "200"}).json()
    assert set(body) == {"job", "kind", "by", "percentiles"}


GARBAGE = [
    "",
    " ",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "1e309",
    "-1e309",
    "1e-400",
    "0x10",
    "1_000",
    "-1",
    "0",
    "1.5",
    "1.0",
    "99.99999",
    "9" * 5000,
    "-" + "9" * 500,
    "١٢",
    "🙂",
    "ｊｏｂ",
    "\u202e50",
    "%00",
    "\x00",
    "null",
    "None",
    "true",
    "[1,2]",
    "{}",
    "50,,90",
    ",",
    "50;90",
    "2026-11-27T10:00:00+99:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:30:00Z",
    "0000-00-00",
    "99999999999d",
    "1e5d",
    "0s",
    "-5m",
    "' OR 1=1 --",
    "main_jobevent; DROP TABLE x",
    "a" * 300,
]


def test_no_query_string_gives_a_500(admin):
    small_workload(kinds=("job",), jobs=1, events=20)
    names = ("job", "kind", "since", "until", "event", "by", "percentiles")
    for name in names:
        for value in GARBAGE:
            response = admin.get(f"{URL}?{urlencode({name: value})}")
            assert response.status_code in (200, 400, 404), (name, value, response.content)
    # Combinations, drawn reproducibly; valid values mixed in so later checks are reached.
    values = [*GARBAGE, "job", "event", "minute", "50,99.9", "2h", "2026-11-27T10:30:00Z", "1"]
    draw = random.Random(5)
    for _ in range(300):
        query = {name: draw.choice(values) for name in draw.sample(names, draw.randint(2, len(names)))}
        response = admin.get(f"{URL}?{urlencode(query)}")
        assert response.status_code in (200, 400, 404), (query, response.content)
    # Repeated, unknown and raw undecodable parameters too.
    for raw in ("job=1&job=x", "nope=1", "percentiles=%FF%FE", "since=%ED%A0%80", "by[]=event", "&&&="):
        assert admin.get(f"{URL}?{raw}").status_code in (200, 400, 404), raw


def test_browsable_api_renders(admin):
    response = admin.get(URL, WINDOW, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Lag" in response.content and b"percentiles" in response.content


def test_openapi_schema_lists_the_endpoint_and_its_parameters():
    schema = SchemaGenerator(title="eventdebug").get_schema(public=True)
    operation = schema["paths"][URL]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"job", "kind", "since", "until", "event", "by", "percentiles", "exact"}
    assert all(p["in"] == "query" for p in parameters.values())
    assert parameters["by"]["schema"]["enum"] == [
        "none",
        "event",
        "job",
        "minute",
        "hour",
        "execution_node",
        "controller_node",
    ]
    assert parameters["kind"]["schema"]["default"] == "job"
    assert parameters["job"]["schema"]["type"] == "integer"


def test_human_table_is_aligned_with_units():
    small_workload(kinds=("job",))
    lines = run_command("--since", (BASE - timedelta(hours=1)).isoformat(), "--by", "hour").splitlines()
    assert lines[0].startswith("Lag (modified - created) of job events")
    header, *rows = lines[1:]
    assert "p99 (s)" in header and "mean (s)" in header
    assert [row.split()[0] for row in rows] == ["all", "2026-11-27T10:00:00Z", "2026-11-27T11:00:00Z"]
    assert len({len(line) for line in [header, *rows]}) == 1  # numeric columns right-aligned


@pytest.mark.postgres_only(reason="statement timeouts")
def test_statement_timeout_is_a_503_and_a_failed_command_saying_how_to_narrow(admin, settings):
    small_workload(kinds=("job",), jobs=20, events=1000)
    settings.EVENTDEBUG = {"STATEMENT_TIMEOUT": 0.001}
    response = admin.get(URL, {**WINDOW, "by": "minute"})
    assert response.status_code == 503
    assert "statement timeout" in response.json()["detail"]
    assert response.json()["hint"].startswith("Narrow the query: a shorter window (since/until)")
    with pytest.raises(CommandError, match="Narrow the query") as caught:
        run_command("--since", WINDOW["since"], "--until", WINDOW["until"], "--by", "minute")
    assert caught.value.returncode == 2


def test_missing_table_is_a_503_naming_it(admin):
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE main_systemjobevent")
    response = admin.get(URL, {"kind": "system_job"})
    assert response.status_code == 503
    assert "main_systemjobevent" in response.json()["detail"]
