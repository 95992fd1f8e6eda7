"""System checks (``manage.py check``, run before most awx-manage commands).

They only read settings: no database or network. Every finding is a Warning, never an Error,
because an Error would stop AWX's own management commands over a diagnostics app; a bad value is
replaced by its default at run time (see conf.py), and the warning says which.
"""

from __future__ import annotations

import difflib
import logging

from django.conf import settings
from django.core.checks import Warning

from .capture import LOGGER_NAME
from .conf import DEFAULTS, OPTIONS, SETTINGS_NAME, get_config, option_error, user_settings

W001_NOT_A_DICT = "awx_eventdebug.W001"
W002_UNKNOWN_KEY = "awx_eventdebug.W002"
W003_BAD_VALUE = "awx_eventdebug.W003"
W004_NO_LAYER = "awx_eventdebug.W004"
W010_LAG_WINDOW_OVER_MAX = "awx_eventdebug.W010"
W020_CAPTURE_LOGGER_DISABLED = "awx_eventdebug.W020"

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
                    f"{SETTINGS_NAME}[{name!r}] is not an option of awx-eventdebug; it is ignored.",
                    hint=hint + DOCS_HINT,
                    id=W002_UNKNOWN_KEY,
                )
            )
            continue
        error = option_error(name, value)
        if error:
            found.append(
                Warning(
                    f"{SETTINGS_NAME}[{name!r}] = {value!r}: {error}; using the default {DEFAULTS[name]!r}.",
                    hint=f"{OPTIONS[name].help} {DOCS_HINT}",
                    id=W003_BAD_VALUE,
                )
            )
    return found


def check_channel_layer(app_configs=None, **kwargs):
    alias = get_config()["LAYER"]
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    if alias in layers:
        return []
    known = ", ".join(sorted(layers)) or "none"
    return [
        Warning(
            f"EVENTDEBUG['LAYER'] names the channel layer {alias!r}, which is not in "
            f"settings.CHANNEL_LAYERS (configured: {known}).",
            hint="Set EVENTDEBUG['LAYER'] to one of the CHANNEL_LAYERS aliases; channel layer "
            "inspection and live listening are unavailable until then.",
            id=W004_NO_LAYER,
        )
    ]


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


def check_lag_window(app_configs=None, **kwargs):
    from .timeutil import parse_duration

    config = get_config()
    if parse_duration(config["LAG_WINDOW"]) <= parse_duration(config["LAG_MAX_WINDOW"]):
        return []
    return [
        Warning(
            f"EVENTDEBUG['LAG_WINDOW'] ({config['LAG_WINDOW']}) is longer than EVENTDEBUG['LAG_MAX_WINDOW'] "
            f"({config['LAG_MAX_WINDOW']}): every lag query without since/until or a job is refused.",
            hint="Make LAG_WINDOW at most LAG_MAX_WINDOW.",
            id=W010_LAG_WINDOW_OVER_MAX,
        )
    ]


ALL_CHECKS = (check_settings, check_channel_layer, check_capture_logger, check_lag_window)
