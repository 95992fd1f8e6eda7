"""The dashboard page: the check's verdict first (the thresholds over HEALTH_WINDOW, as GET
check/ gives it), the doctor's findings, the overflow and queue tables rendered on the server
(tables.py), the critical path's headline, hops and node snapshot ages (verdict and path from one
HealthSnapshot), and the scripts that draw
the lag, events and drops charts, refresh the verdict and the tables from the app's own API
endpoints and run the live websocket lag gauge.

Same permission rule as the API (EVENTDEBUG['PERMISSION_CLASSES']), except that an anonymous
visitor is sent to the login page instead of getting a JSON 401/403.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.response import Response

from ..api.base import EventDebugView, FirstRendererOnly
from ..awx.tables import KINDS
from ..health.doctor import build_report
from ..health.report import health_window
from ..health.snapshot import HealthSnapshot, threshold_rows
from ..path.registry import thresholds
from ..timeutil import format_duration
from .tables import overflow_table, queues_table

# The lag timeline's window choices: values the lag endpoint's `since` accepts.
WINDOWS = (("15m", "15 minutes"), ("1h", "1 hour"), ("2h", "2 hours"), ("6h", "6 hours"), ("24h", "24 hours"))
DEFAULT_WINDOW = "1h"


def dashboard_context(report: dict) -> dict:
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
        "windows": WINDOWS,
        "default_window": DEFAULT_WINDOW,
        "node": getattr(settings, "CLUSTER_HOST_ID", ""),
        "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
    }


def verdict(health: HealthSnapshot) -> dict:
    """The check with the configured thresholds (GET check/), its figures beside their thresholds
    as rows, and the window's length in words for the headline."""
    check = health.check()
    seconds = (health.window.until - health.window.since).total_seconds()
    return {
        **check,
        "rows": threshold_rows(check),
        "window_seconds": seconds,
        "window_length": format_duration(seconds),
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
    renderer_classes = [TemplateHTMLRenderer]
    content_negotiation_class = FirstRendererOnly  # HTML whatever Accept says
    template_name = "awx_eventdebug/dashboard.html"

    def get(self, request):
        # One reading of the path for the verdict and the path card (the check's and GET path/'s).
        health = HealthSnapshot(health_window(timezone.now()))
        return Response(
            {
                **dashboard_context(build_report()),
                "verdict": verdict(health),
                "thresholds": threshold_spec(),
                "overflow": overflow_table(),
                "queues": queues_table(),
                "path": health.path(),
            }
        )

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated | AuthenticationFailed | PermissionDenied):
            if not self.request.user.is_authenticated:
                return redirect_to_login(self.request.get_full_path(), settings.LOGIN_URL)
            return render(self.request, "awx_eventdebug/forbidden.html", status=403)
        return super().handle_exception(exc)
