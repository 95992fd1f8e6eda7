"""The dashboard page: the check's verdict first (the thresholds over the page's window, as GET
check/?since= gives it), the doctor's findings, the overflow and queue tables rendered on the
server (tables.py), the worst jobs, the critical path's headline, hops and node snapshot ages
(verdict, worst jobs and path from one HealthSnapshot), and the scripts that draw the lag, events
and drops charts, refresh the verdict and the tables from the app's own API endpoints and run the
live websocket lag gauge.

One window for the whole page, chosen on it (``?window=1h``, so a view can be linked): every
section that covers a span of time covers that one, and says so. Its default is HEALTH_WINDOW, so
the page's verdict is ``eventdebug check``'s.

The app's root answers by content negotiation: this page to a browser (text/html, and whatever
accepts anything, as curl does), the listing of the app's endpoints to a JSON client (``Accept:
application/json`` or ``?format=json``, as AWX's /api/v2/ lists its own: api/root.py).

Same permission rule as the API (EVENTDEBUG['PERMISSION_CLASSES']), except that an anonymous
visitor of the page is sent to the login page instead of getting AWX's 401; a JSON client gets the
API's answers.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework import serializers
from rest_framework.exceptions import (
    AuthenticationFailed,
    NotAuthenticated,
    PermissionDenied,
    ValidationError,
)
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.response import Response

from ..api.base import EventDebugView, RoundedJSONRenderer
from ..api.root import endpoints
from ..awx.tables import KINDS
from ..conf import get_config
from ..fields import ChoiceField
from ..health.cache import shared_reading
from ..health.doctor import build_report
from ..health.report import WORST_DETAIL, health_window
from ..health.snapshot import HealthSnapshot, shown_findings, threshold_rows
from ..path.registry import thresholds
from ..timeutil import format_duration, parse_duration
from .tables import job_url_templates, overflow_table, queues_table, window_length, worst_jobs_table

# The page's window choices: durations every endpoint's `since` accepts. HEALTH_WINDOW, the
# default, is added when it is not one of them; those over LAG_MAX_WINDOW are left out.
WINDOWS = ("15m", "1h", "2h", "6h", "24h")
VERDICT_TITLES = {
    "ok": "Every figure is within its threshold",
    "unknown": "Some figures could not be checked",
}


def default_window() -> str:
    """HEALTH_WINDOW (at most LAG_MAX_WINDOW) as a duration: the check's own window."""
    config = get_config()
    return format_duration(min(config["HEALTH_WINDOW"], config["LAG_MAX_WINDOW"]).total_seconds())


def window_choices() -> list[str]:
    """The windows the page offers, shortest first."""
    longest = get_config()["LAG_MAX_WINDOW"]
    offered = {w for w in WINDOWS if parse_duration(w) <= longest} | {default_window()}
    return sorted(offered, key=parse_duration)


class DashboardQuerySerializer(serializers.Serializer):
    """``window``: the span of time every section of the page covers."""

    def get_fields(self):
        return {
            "window": ChoiceField(
                choices=window_choices(),
                required=False,
                help_text="The page's window, ending now. Default: EVENTDEBUG['HEALTH_WINDOW'].",
            )
        }


def dashboard_context(report: dict, window: str) -> dict:
    """What the template shows of the doctor report, plus the selectors' choices."""
    layer = report.get("channel_layer")
    database = report.get("database")
    return {
        "problems": report["problems"],
        "warnings": report["checks"],
        "versions": report["versions"],
        "app_version": report["versions"]["awx-eventdebug"],
        "channels_version": report["versions"]["channels"],
        "database": database,
        "missing_tables": [t["table"] for t in database["tables"] if not t["exists"]] if database else [],
        "channel_layer": layer,
        "kinds": [(name, kind.group_prefix) for name, kind in KINDS.items()],
        "windows": window_choices(),
        "window": window,
        "node": getattr(settings, "CLUSTER_HOST_ID", ""),
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
    }


def verdict_title(check: dict) -> str:
    """The headline's words after the status badge (as verdict.js title): a status without words
    of its own shows its badge and lines only."""
    if check["status"] == "failed":
        count = len(check["failures"])
        return f"{count} check{'s' if count != 1 else ''} failed"
    if check["status"] == "idle":
        return "Nothing to judge: " + "; ".join(check["idle"])
    return VERDICT_TITLES.get(check["status"], check.get("headline", ""))


def verdict(health: HealthSnapshot) -> dict:
    """The check with the configured thresholds (GET check/), its figures beside their thresholds
    as rows, and the window's length in words for the headline."""
    check = health.check()
    return {
        **check,
        "findings": shown_findings(check),
        "rows": threshold_rows(check),
        "title": verdict_title(check),
        "window_length": window_length(health.window),
    }


def health_cards(window: str) -> dict:
    """The verdict, the worst jobs and the path card from one reading of the path over the page's
    window (the check's and GET path/'s), shared by the loads of HEALTH_CACHE seconds
    (health/cache.py); the window it read, for the other sections."""
    now = timezone.now()
    # As many worst jobs as GET report/ gives: the table's refresh reads them there.
    health = HealthSnapshot(health_window(now, now - parse_duration(window)), detail=WORST_DETAIL)
    return {
        "verdict": verdict(health),
        "worst_jobs": worst_jobs_table(health),
        "path": health.path(),
        "health_window": health.window,
    }


def threshold_spec() -> list[dict]:
    """How verdict.js shows each threshold's figure when it refreshes the rows from GET check/."""
    return [
        {
            "name": t.name,
            "figure": t.figure_key,
            "limit": t.limit_key,
            "label": t.label,
            "unit": t.unit or t.counts,
            "digits": t.digits,
            "count": t.is_count,
        }
        for t in thresholds()
    ]


@method_decorator(ensure_csrf_cookie, name="dispatch")  # the gauge sends it as AWX's xrftoken
class DashboardView(EventDebugView):
    # The page first: a request that accepts anything (curl, */*) is a browser's.
    renderer_classes = [TemplateHTMLRenderer, RoundedJSONRenderer]
    template_name = "awx_eventdebug/dashboard.html"
    query_serializer_class = DashboardQuerySerializer

    def get(self, request):
        query = self.validated_query()  # a bad ?window= is refused to both: one query, one rule
        if not self.answers_html():
            return Response(endpoints(request.resolver_match.url_name))
        window = query.get("window") or default_window()
        cards = shared_reading(("dashboard", window), lambda: health_cards(window))
        return Response(
            {
                # The overflow table below reads the capture's table over the page's window.
                **dashboard_context(build_report(clock_skew=False, overflow=False), window),
                **cards,
                "thresholds": threshold_spec(),
                "job_urls": job_url_templates(),
                "overflow": overflow_table(cards["health_window"]),
                "queues": queues_table(),
            }
        )

    def handle_exception(self, exc):
        if not self.answers_html():  # the listing: the API's own answers (AWX's 401)
            return super().handle_exception(exc)
        if isinstance(exc, ValidationError):
            # A page, not JSON: the field and why, as the API's 400 names them.
            lines = [f"{field}: {' '.join(map(str, errors))}" for field, errors in exc.detail.items()]
            return HttpResponse("\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8")
        if isinstance(exc, NotAuthenticated | AuthenticationFailed | PermissionDenied):
            if not self.request.user.is_authenticated:
                return redirect_to_login(self.request.get_full_path(), settings.LOGIN_URL)
            return render(self.request, "awx_eventdebug/forbidden.html", status=403)
        return super().handle_exception(exc)
