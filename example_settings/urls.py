from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/eventdebug/", include("awx_eventdebug.urls")),
    # The dashboard is the example project's home page.
    path("", RedirectView.as_view(url="/api/eventdebug/")),
]
