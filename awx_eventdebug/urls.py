"""The app's URLs, for ``include("awx_eventdebug.urls")`` or EventDebugMiddleware inside AWX."""

app_name = "awx_eventdebug"

urlpatterns = []
