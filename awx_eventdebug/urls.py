"""The app's URLs, for ``include("awx_eventdebug.urls")`` or EventDebugMiddleware inside AWX."""

from django.urls import path

from .api.channels import ChannelsView
from .api.health import CheckView, MetricsView, ReportView
from .api.lag import LagView
from .api.listen import GapsView
from .api.openapi import SchemaView
from .api.overflow import OverflowListView, OverflowSummaryView
from .api.path import PathView
from .dashboard.runbook import RunbookView
from .dashboard.views import DashboardView

app_name = "awx_eventdebug"

urlpatterns = [
    path("overflow/", OverflowListView.as_view(), name="overflow"),
    path("overflow/summary/", OverflowSummaryView.as_view(), name="overflow-summary"),
    path("channels/", ChannelsView.as_view(), name="channels"),
    path("lag/", LagView.as_view(), name="lag"),
    path("listen/gaps/", GapsView.as_view(), name="listen-gaps"),
    path("report/", ReportView.as_view(), name="report"),
    path("check/", CheckView.as_view(), name="check"),
    path("metrics/", MetricsView.as_view(), name="metrics"),
    path("path/", PathView.as_view(), name="path"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("runbook/", RunbookView.as_view(), name="runbook"),
    path("", DashboardView.as_view(), name="dashboard"),
]
