"""URLs of the browser tests' live server: the example project's, and a recorded answer of the lag
endpoint for the timeline until issue 3's `lag/` is merged.

The recorded route comes after the app's own, so once the app serves `lag/` itself Django
resolves to the real endpoint and this one is never reached; the browser test compares the chart
with whatever the endpoint answered, so it holds for both (delete RECORDED_LAG then).
"""

from datetime import UTC, datetime, timedelta

from django.http import JsonResponse
from django.urls import path

from example_settings.urls import urlpatterns as example_urlpatterns

MINUTES = 40
HOLE = range(20, 25)  # minutes without events: the chart must break its lines there


def recorded_lag(request):
    """A `GET lag/?by=minute` answer of the documented shape (issue 3), ending this minute."""
    until = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    since = until - timedelta(hours=1)
    groups = []
    for minute in range(MINUTES):
        if minute in HOLE:
            continue
        p50 = 0.4 + 0.02 * minute
        groups.append(
            {
                "key": (since + timedelta(minutes=15 + minute)).isoformat(),
                "count": 100 + minute,
                "mean": p50 * 1.1,
                "min": 0.05,
                "max": p50 * 6,
                "percentiles": {"p50": p50, "p95": p50 * 3, "p99": p50 * 5},
                "missing_created": 0,
                "negative": 0,
            }
        )
    return JsonResponse(
        {
            "kind": request.GET.get("kind", "job"),
            "job": None,
            "event": None,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "count": sum(g["count"] for g in groups),
            "mean": 1.0,
            "min": 0.05,
            "max": 14.0,
            "percentiles": {"p50": 0.8, "p95": 2.4, "p99": 4.0},
            "missing_created": 3,
            "negative": 1,
            "groups": groups,
        }
    )


RECORDED_LAG = [path("api/eventdebug/lag/", recorded_lag)]

urlpatterns = [*example_urlpatterns, *RECORDED_LAG]
