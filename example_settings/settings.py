"""Settings of the example project: the app outside AWX, on SQLite by default.

Environment variables:
    EVENTDEBUG_DATABASE   "sqlite" (default; file example_settings/db.sqlite3) or "postgres"
    PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
                          PostgreSQL connection (defaults 127.0.0.1, 5432, postgres, "",
                          awx_eventdebug); only with EVENTDEBUG_DATABASE=postgres
    EVENTDEBUG_SQLITE_PATH
                          the SQLite file (default example_settings/db.sqlite3)
    EVENTDEBUG_REDIS_URL  the node's Redis: BROKER_URL and the channel layer's (default
                          redis://127.0.0.1:6379/0)
"""

import os
from importlib.metadata import version
from pathlib import Path

import channels

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-only-not-a-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

# runserver speaks ASGI (the dashboard's websocket) through channels 3's app, or daphne's app since
# channels 4 moved it there. daphne is an example-project and test dependency, never the app's.
ASGI_RUNSERVER_APP = "channels" if channels.__version__.startswith("3.") else "daphne"

INSTALLED_APPS = [
    ASGI_RUNSERVER_APP,
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "example_settings.awxschema",
    "awx_eventdebug",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "example_settings.urls"
ASGI_APPLICATION = "example_settings.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def database_from_environment():
    if os.environ.get("EVENTDEBUG_DATABASE", "sqlite") == "postgres":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "NAME": os.environ.get("PGDATABASE", "awx_eventdebug"),
        }
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EVENTDEBUG_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
    }


DATABASES = {"default": database_from_environment()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def redis_host(url: str) -> dict:
    """A channels_redis host entry for ``url``. socket_timeout None: redis-py 8 defaults it to 5 s,
    which ends channels_redis's blocking receive, so every websocket consumer dies after 5 s idle
    (code 1011). channels_redis 3 (AWX 24.6.1) hands hosts to aioredis, which has no such option."""
    if version("channels-redis").startswith("3."):
        return {"address": url}
    return {"address": url, "socket_timeout": None}


# As AWX configures them (awx/settings/defaults.py), but over TCP instead of AWX's unix socket:
# the node's Redis holds the callback queue and wsrelay's stats (BROKER_URL) and the channel layer.
BROKER_URL = os.environ.get("EVENTDEBUG_REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [redis_host(BROKER_URL)],
            "capacity": 10000,
            "group_expiry": 157784760,  # about five years, as AWX
        },
    }
}

CLUSTER_HOST_ID = os.environ.get("CLUSTER_HOST_ID", "example-node")

EVENTDEBUG = {}

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
# AWX's (awx/settings/defaults.py): the session login at /api/login/, which the dashboard sends an
# anonymous browser to, as it does in AWX.
LOGIN_URL = "/api/login/"
