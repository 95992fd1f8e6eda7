"""The app's URLs, for ``include("awx_eventdebug.urls")`` or EventDebugMiddleware inside AWX."""

from django.urls import path

from .dashboard import DashboardView

app_name = "awx_eventdebug"

urlpatterns = [
    path("", DashboardView.as_view(), name="dashboard"),
]
