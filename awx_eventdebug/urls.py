"""The app's URLs, for ``include("awx_eventdebug.urls")`` or EventDebugMiddleware inside AWX."""

from django.urls import path

from .api.lag import LagView

app_name = "awx_eventdebug"

urlpatterns = [
    path("lag/", LagView.as_view(), name="lag"),
]
