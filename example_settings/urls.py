from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    # The session login and logout at AWX's paths (awx/api/urls/urls.py), with DRF's login page,
    # of which AWX's rest_framework/login.html is a copy.
    path("api/", include("rest_framework.urls")),
    path("api/eventdebug/", include("awx_eventdebug.urls")),
    # The dashboard is the example project's home page.
    path("", RedirectView.as_view(url="/api/eventdebug/")),
]
