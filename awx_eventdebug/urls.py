"""The app's URLs, for ``include("awx_eventdebug.urls")`` or EventDebugMiddleware inside AWX."""

from django.urls import path

from .api.channels import ChannelsView

app_name = "awx_eventdebug"

urlpatterns = [
    path("channels/", ChannelsView.as_view(), name="channels"),
]
