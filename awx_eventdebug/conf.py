"""The app's settings: one ``EVENTDEBUG`` dict in Django settings, read lazily.

Every option is declared once, in ``OPTIONS``, with its default, accepted types and a one-line
description; the system checks, the doctor report and docs/settings.md (checked by a test) are
all derived from that table. A value of the wrong type is reported by a system check and replaced
by its default at run time, so a typo in conf.d never breaks AWX.

``get_config()`` gives each option ready to use (a duration as a timedelta, percentiles as a
tuple of Decimal), parsed once per change of settings; ``effective_settings()`` gives the same
values as written, for the doctor and for messages that quote a setting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings as django_settings

from .percentiles import parse_percentiles
from .timeutil import parse_duration

SETTINGS_NAME = "EVENTDEBUG"


@dataclass(frozen=True)
class Option:
    default: Any
    types: tuple[type, ...]
    help: str
    # Returns an error message for a value of the right type that is still unusable.
    validate: Any = None
    # Turns the value as written into the one the code reads; its ValueError says why a value of
    # the right type is unusable.
    parse: Any = None


def _positive(value):
    return None if value > 0 else "must be greater than 0"


def _permission_classes(value) -> tuple[type, ...]:
    """Dotted paths -> the classes. Each must import and be a class: an unusable entry would
    otherwise answer 500 on every endpoint, and an empty list would open them all."""
    from django.utils.module_loading import import_string

    if not all(isinstance(item, str) and "." in item for item in value):
        raise ValueError("must be a list of dotted import paths")
    classes = []
    for path in value:
        try:
            imported = import_string(path)
        except ImportError as exc:
            raise ValueError(f"cannot import {path!r} ({exc})") from None
        if not isinstance(imported, type):
            raise ValueError(f"{path!r} is not a class")
        classes.append(imported)
    return tuple(classes)


def _url_prefix(value):
    if not (value.startswith("/") and value.endswith("/")):
        return "must start and end with '/'"
    return None


def _connect_timeout(value):
    # libpq's minimum: it treats 1 as 2.
    return None if value >= 2 else "must be at least 2"


def _not_negative(value):
    return None if value >= 0 else "must be 0 or more"


def _off_or_a_second(value):
    # A shorter interval would have every node's processes read Redis and write rows nonstop.
    return None if value == 0 or value >= 1 else "must be 0 (off) or at least 1"


NUMBER = (int, float)

OPTIONS: dict[str, Option] = {
    "LAYER": Option("default", (str,), "Alias in CHANNEL_LAYERS that the app inspects and listens on."),
    "REDIS_TIMEOUT": Option(
        2.0,
        NUMBER,
        "Connect and command timeout, in seconds, of every Redis connection the app opens.",
        _positive,
    ),
    "STATEMENT_TIMEOUT": Option(
        30.0,
        NUMBER,
        "PostgreSQL statement_timeout (seconds) of every statement the app runs; half of it is lock_timeout.",
        _positive,
    ),
    "CONNECT_TIMEOUT": Option(
        10,
        (int,),
        "Seconds an eventdebug command waits to connect to PostgreSQL (unless DATABASES sets it).",
        _connect_timeout,
    ),
    "URL_PREFIX": Option(
        "/api/eventdebug/",
        (str,),
        "Path under which EventDebugMiddleware serves the app's URLs inside AWX.",
        _url_prefix,
    ),
    # Channel layer inspection (eventdebug groups, queues, watch; GET channels/).
    "INSPECT_TIME_BUDGET": Option(
        10.0,
        NUMBER,
        "Seconds one channel layer inspection may spend reading Redis before it stops and says so.",
        _positive,
    ),
    "INSPECT_MAX_KEYS": Option(
        100000,
        (int,),
        "Most group, queue and $inflight keys one channel layer inspection reads.",
        _positive,
    ),
    "INSPECT_MAX_MEMBERS": Option(
        200000,
        (int,),
        "Most group members one channel layer inspection reads, over all groups.",
        _positive,
    ),
    "INSPECT_CACHE_SECONDS": Option(
        10.0,
        NUMBER,
        "Seconds dashboard tabs and GET channels/ share one reading of the layer (0: never shared).",
        _not_negative,
    ),
    "PERMISSION_CLASSES": Option(
        ("awx_eventdebug.permissions.IsSystemAdminOrAuditor",),
        (list, tuple),
        "DRF permission classes (dotted paths) of every endpoint of the app.",
        parse=_permission_classes,
    ),
    # Overflow capture and retention (overflow/); docs/overflow.md.
    "CAPTURE": Option(
        True, (bool,), "Attach the overflow capture handler to the channels_redis.core logger."
    ),
    "CAPTURE_FLUSH_INTERVAL": Option(
        5.0, NUMBER, "Seconds between two writes of the captured overflow aggregate.", _positive
    ),
    "CAPTURE_WINDOW": Option(
        60, (int,), "Width, in seconds, of the time window one overflow row counts.", _positive
    ),
    "CAPTURE_MAX_PENDING_GROUPS": Option(
        10000,
        (int,),
        "Most (group, window) pairs held in memory between flushes; the rest share one bucket.",
        _positive,
    ),
    "RETENTION": Option(
        "30d",
        (str,),
        "Age beyond which the maintenance thread purges overflow rows and rollups; `eventdebug purge`'s "
        "default.",
        parse=parse_duration,
    ),
    # Event lag percentiles (lag/); docs/lag.md.
    "LAG_WINDOW": Option(
        "1h",
        (str,),
        "Window on `modified` of a lag query that gives neither since nor a job.",
        parse=parse_duration,
    ),
    "LAG_MAX_WINDOW": Option(
        "31d",
        (str,),
        "Longest window (until - since) of a lag query, report or check; a longer one given gets a 400.",
        parse=parse_duration,
    ),
    "LAG_PERCENTILES": Option(
        (50, 90, 95, 99),
        (list, tuple),
        "Percentiles a lag query reports when it names none.",
        parse=parse_percentiles,
    ),
    "LAG_MAX_GROUPS": Option(
        1000,
        (int,),
        "Most groups a grouped lag query returns (the first ones by key; the rest are cut off).",
        _positive,
    ),
    "LAG_EXACT_WINDOW": Option(
        "6h",
        (str,),
        "Lag windows longer than this (without a job or event) are answered from the per-minute rollups.",
        parse=parse_duration,
    ),
    "LAG_ROLLUP_GRACE": Option(
        "2m",
        (str,),
        "Time after a minute's end before its lag rollup is computed (events still being stored).",
        parse=parse_duration,
    ),
    # Report, check and metrics (health/); docs/report.md.
    "HEALTH_WINDOW": Option(
        "15m",
        (str,),
        "Window of `eventdebug report` and `check` without --since, and of GET metrics/.",
        parse=parse_duration,
    ),
    # The check's thresholds, CHECK_*, are declared by the hops that own them (path/hops/).
    # The critical path across nodes (path/); docs/path.md.
    "SAMPLE_INTERVAL": Option(
        10.0,
        NUMBER,
        "Seconds between two snapshots of this node's hops by the maintenance thread; 0 turns them off.",
        _off_or_a_second,
    ),
    "SAMPLE_STALE_INTERVALS": Option(
        3, (int,), "A node whose last snapshot is older than this many of its intervals is stale.", _positive
    ),
    "SAMPLE_RETENTION": Option(
        "1d",
        (str,),
        "Age beyond which snapshots are deleted, and a node that stopped sampling leaves `path`.",
        parse=parse_duration,
    ),
    # The background thread of snapshots, rollups and purges (maintenance/); docs/maintenance.md.
    "MAINTENANCE": Option(
        True,
        (bool,),
        "Run the maintenance thread in AWX's long-running services: snapshots, lag rollups, and the "
        "purges past SAMPLE_RETENTION and RETENTION (overflow rows too).",
    ),
    "METRICS_ALLOW_ANONYMOUS": Option(
        False, (bool,), "Serve GET metrics/ to unauthenticated scrapers too, as AWX can for its metrics."
    ),
}

DEFAULTS = {name: option.default for name, option in OPTIONS.items()}
# Options declared by other parts of the app (the check's thresholds, by the hops that own them:
# path/registry.py), by owner.
_DECLARED: dict[str, tuple[str, ...]] = {}


def declare_options(owner: str, options: dict[str, Option]) -> None:
    """Make ``options`` the options of ``owner``, replacing those it declared before: they are
    read, checked and documented as every other option."""
    for name in _DECLARED.pop(owner, ()):
        OPTIONS.pop(name, None)
        DEFAULTS.pop(name, None)
    clash = set(options) & set(OPTIONS)
    if clash:
        raise ValueError(f"{owner} declares options that exist already: {sorted(clash)}")
    OPTIONS.update(options)
    DEFAULTS.update({name: option.default for name, option in options.items()})
    _DECLARED[owner] = tuple(options)
    effective_settings.cache_clear()
    get_config.cache_clear()


def option_error(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be used for option ``name``, or None when it can."""
    option = OPTIONS[name]
    # bool is an int subclass; True is never a sensible timeout or count.
    if isinstance(value, bool) and bool not in option.types:
        return f"expected {_type_names(option.types)}, got bool"
    if not isinstance(value, option.types):
        return f"expected {_type_names(option.types)}, got {type(value).__name__}"
    # Empty never means "none" here: an empty PERMISSION_CLASSES would open every endpoint.
    if isinstance(value, str | list | tuple) and not value:
        return "must not be empty"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if option.parse is not None:
        try:
            option.parse(value)
        except ValueError as exc:
            return str(exc)
    if option.validate is not None:
        return option.validate(value)
    return None


def _type_names(types: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in types)


def user_settings() -> Any:
    """The raw ``EVENTDEBUG`` value from Django settings ({} when absent)."""
    return getattr(django_settings, SETTINGS_NAME, {})


@cache
def effective_settings() -> dict[str, Any]:
    """Each option as written: defaults overlaid with the usable user values."""
    config = dict(DEFAULTS)
    user = user_settings()
    if isinstance(user, dict):
        for name, value in user.items():
            if name in OPTIONS and option_error(name, value) is None:
                config[name] = value
    return config


@cache
def get_config() -> dict[str, Any]:
    """Each option ready to use: the effective value, parsed when the option has a parser."""
    return {
        name: value if OPTIONS[name].parse is None else OPTIONS[name].parse(value)
        for name, value in effective_settings().items()
    }


def reset_on_change(*, setting, **kwargs):
    """setting_changed receiver (connected in AppConfig.ready) so override_settings works."""
    if setting == SETTINGS_NAME:
        effective_settings.cache_clear()
        get_config.cache_clear()
