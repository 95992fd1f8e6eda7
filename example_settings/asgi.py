"""ASGI entry point of the example project: Django over HTTP, and AWX's ``/websocket/`` protocol
(example_settings.consumers) so the dashboard's live gauge has something to talk to.

Run by ``manage.py runserver`` (ASGI_APPLICATION) or ``daphne example_settings.asgi:application``.
"""

import os
import sys
from pathlib import Path

# The project root, as manage.py does, so daphne can be started from anywhere.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_settings.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

# Django must be set up before anything imports models (the auth middleware does).
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import path  # noqa: E402

from example_settings.consumers import EventConsumer  # noqa: E402

# runserver serves static files itself; plain daphne (the browser tests) needs this in DEBUG.
http_application = ASGIStaticFilesHandler(django_application) if settings.DEBUG else django_application

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("websocket/", EventConsumer.as_asgi())]))
        ),
    }
)
