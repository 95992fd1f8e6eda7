"""System checks (``manage.py check``, run before most awx-manage commands).

They only read settings: no database or network. Every finding is a Warning, never an Error,
because an Error would stop AWX's own management commands over a diagnostics app; a bad value is
replaced by its default at run time (see conf.py), and the warning says which.
"""

from __future__ import annotations

import difflib
import logging
import re
from importlib import metadata

from django.apps import apps
from django.conf import settings
from django.core.checks import Warning

from .channels.backends import backend_support
from .channels.config import layer_entry, load_layer
from .conf import (
    DEFAULTS,
    OPTIONS,
    SETTINGS_NAME,
    effective_settings,
    get_config,
    option_error,
    user_settings,
)
from .errors import Misconfigured, quoted
from .overflow.record import LOGGER_NAME
from .window import default_over_max

W001_NOT_A_DICT = "awx_eventdebug.W001"
W002_UNKNOWN_KEY = "awx_eventdebug.W002"
W003_BAD_VALUE = "awx_eventdebug.W003"
W004_NO_LAYER = "awx_eventdebug.W004"
W005_UNUSABLE_LAYER = "awx_eventdebug.W005"
W010_LAG_WINDOW_OVER_MAX = "awx_eventdebug.W010"
W020_CAPTURE_LOGGER_DISABLED = "awx_eventdebug.W020"
W050_CSRF_COOKIE_HTTPONLY = "awx_eventdebug.W050"
W051_NO_STATICFILES = "awx_eventdebug.W051"
W052_REDIS_SOCKET_TIMEOUT = "awx_eventdebug.W052"
W060_HEALTH_WINDOW_OVER_MAX = "awx_eventdebug.W060"

DOCS_HINT = "See docs/settings.md of awx-eventdebug for every option and its default."


def check_settings(app_configs=None, **kwargs):
    user = user_settings()
    if not isinstance(user, dict):
        return [
            Warning(
                f"{SETTINGS_NAME} must be a dict, not {type(user).__name__}; using the defaults.",
                hint=DOCS_HINT,
                id=W001_NOT_A_DICT,
            )
        ]
    found = []
    for name, value in user.items():
        if name not in OPTIONS:
            close = difflib.get_close_matches(str(name), OPTIONS, n=1)
            hint = f"Did you mean {close[0]!r}? " if close else ""
            found.append(
                Warning(
                    f"{SETTINGS_NAME}[{quoted(name)}] is not an option of awx-eventdebug; it is ignored.",
                    hint=hint + DOCS_HINT,
                    id=W002_UNKNOWN_KEY,
                )
            )
            continue
        error = option_error(name, value)
        if error:
            found.append(
                Warning(
                    f"{SETTINGS_NAME}[{quoted(name)}] = {quoted(value)}: {error}; "
                    f"using the default {DEFAULTS[name]!r}.",
                    hint=f"{OPTIONS[name].help} {DOCS_HINT}",
                    id=W003_BAD_VALUE,
                )
            )
    return found


def check_channel_layer(app_configs=None, **kwargs):
    alias = get_config()["LAYER"]
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    if isinstance(layers, dict) and alias not in layers:
        known = ", ".join(sorted(map(str, layers))) or "none"
        return [
            Warning(
                f"EVENTDEBUG['LAYER'] names the channel layer {quoted(alias)}, which is not in "
                f"settings.CHANNEL_LAYERS (configured: {known}).",
                hint="Set EVENTDEBUG['LAYER'] to one of the CHANNEL_LAYERS aliases; channel layer "
                "inspection and live listening are unavailable until then.",
                id=W004_NO_LAYER,
            )
        ]
    try:
        load_layer(alias)
    except Misconfigured as exc:
        return [
            Warning(
                exc.message,
                hint=(exc.hint + " " if exc.hint else "")
                + "Channel layer inspection and live listening are unavailable until then.",
                id=W005_UNUSABLE_LAYER,
            )
        ]
    return []


def check_capture_logger(app_configs=None, **kwargs):
    """LOGGING with disable_existing_loggers (dictConfig's default) disables channels_redis.core
    when it was imported first: then the overflow capture never sees a record."""
    if not get_config()["CAPTURE"] or not logging.getLogger(LOGGER_NAME).disabled:
        return []
    return [
        Warning(
            f"The {LOGGER_NAME} logger is disabled, so EVENTDEBUG['CAPTURE'] counts no channel overflow.",
            hint="Set LOGGING['disable_existing_loggers'] = False, or name the logger in "
            "LOGGING['loggers'] (docs/overflow.md).",
            id=W020_CAPTURE_LOGGER_DISABLED,
        )
    ]


def check_dashboard(app_configs=None, **kwargs):
    found = []
    if getattr(settings, "CSRF_COOKIE_HTTPONLY", False):
        found.append(
            Warning(
                "CSRF_COOKIE_HTTPONLY is True: the dashboard's live lag gauge cannot read the CSRF cookie "
                "that AWX's /websocket/ requires as xrftoken, so its subscriptions will be refused.",
                hint="Leave CSRF_COOKIE_HTTPONLY False, as AWX does (its own UI reads that cookie too).",
                id=W050_CSRF_COOKIE_HTTPONLY,
            )
        )
    if not apps.is_installed("django.contrib.staticfiles"):
        found.append(
            Warning(
                "django.contrib.staticfiles is not in INSTALLED_APPS: collectstatic will not collect the "
                "dashboard's scripts and styles, and the page will show without its chart and gauge.",
                hint="Add 'django.contrib.staticfiles' to INSTALLED_APPS (AWX has it).",
                id=W051_NO_STATICFILES,
            )
        )
    return found + check_receive_timeout()


def _version(distribution: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in re.findall(r"\d+", metadata.version(distribution))[:3])
    except metadata.PackageNotFoundError:
        return ()


def check_receive_timeout():
    try:
        layer = layer_entry(get_config()["LAYER"])
    except Misconfigured:
        return []  # check_channel_layer says why
    return receive_timeout_findings(layer, _version("redis"), _version("channels-redis"))


def receive_timeout_findings(layer, redis_version: tuple, channels_redis_version: tuple) -> list:
    """redis-py 8 made socket_timeout default to 5 s; channels_redis (4.3.0 and earlier) blocks
    in BZPOPMIN for up to 5 s without setting its own, so every websocket consumer's receive raises
    TimeoutError when idle and daphne closes the socket (1011): the live gauge, and AWX's UI,
    reconnect every few seconds and miss events meanwhile. channels_redis 3 talks to Redis through
    aioredis, not redis-py."""
    if not isinstance(layer, dict) or not backend_support(layer.get("BACKEND")).blocking_receive:
        return []
    if redis_version < (8,) or not (4,) <= channels_redis_version <= (4, 3, 0):
        return []
    hosts = (layer.get("CONFIG") or {}).get("hosts") or ["redis://localhost:6379"]
    if not isinstance(hosts, list | tuple):
        return []
    unset = [
        host
        for host in hosts
        if not (isinstance(host, dict) and "socket_timeout" in host)
        and not (isinstance(host, str) and "socket_timeout=" in host)
    ]
    if not unset:
        return []
    shown = ".".join(str(part) for part in redis_version)
    return [
        Warning(
            f"redis-py {shown} times out channels_redis's blocking receive after 5 s: websocket "
            "consumers are closed (1011) whenever they are idle that long.",
            hint="Give each CHANNEL_LAYERS host an explicit socket_timeout, for example "
            "{'address': 'redis://...', 'socket_timeout': None}, or install redis<8.",
            id=W052_REDIS_SOCKET_TIMEOUT,
        )
    ]


def _window_over_max(name: str, consequence: str, hint: str, check_id: str) -> list:
    if not default_over_max(name):
        return []
    written = effective_settings()
    return [
        Warning(
            f"EVENTDEBUG['{name}'] ({written[name]}) is longer than EVENTDEBUG['LAG_MAX_WINDOW'] "
            f"({written['LAG_MAX_WINDOW']}): {consequence}",
            hint=hint,
            id=check_id,
        )
    ]


def check_lag_window(app_configs=None, **kwargs):
    return _window_over_max(
        "LAG_WINDOW",
        "a lag query that gives neither since nor a job covers LAG_MAX_WINDOW instead.",
        "Make LAG_WINDOW at most LAG_MAX_WINDOW.",
        W010_LAG_WINDOW_OVER_MAX,
    )


def check_health_window(app_configs=None, **kwargs):
    return _window_over_max(
        "HEALTH_WINDOW",
        "report, check and metrics use LAG_MAX_WINDOW instead.",
        "Make HEALTH_WINDOW at most LAG_MAX_WINDOW (docs/report.md).",
        W060_HEALTH_WINDOW_OVER_MAX,
    )


ALL_CHECKS = (
    check_settings,
    check_channel_layer,
    check_capture_logger,
    check_lag_window,
    check_health_window,
    check_dashboard,
)
