"""The app's settings: one ``EVENTDEBUG`` dict in Django settings, read lazily.

Every option is declared once, in ``OPTIONS``, with its default, accepted types, a one-line
description and, for a number or a duration, the range its consumers honour; the system checks,
the doctor report and docs/settings.md (checked by a test) are all derived from that table. A
value of the wrong type or out of its range is reported by a system check and replaced by its
default at run time, so a typo in conf.d never breaks AWX.

``get_config()`` gives each option ready to use (a duration as a timedelta, percentiles as a
tuple of Decimal), parsed once per change of settings; ``effective_settings()`` gives the same
values as written, for the doctor and for messages that quote a setting.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings

from .errors import quoted
from .percentiles import parse_percentiles
from .timeutil import MAX_SECONDS, format_duration, parse_duration

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
    # The least and the greatest value its consumers honour, written as the value is (a duration
    # as "1s"); every number and duration has both, so no typo reaches PostgreSQL, a socket or a
    # loop as a value they refuse, overflow on or spin with.
    minimum: Any = None
    maximum: Any = None
    # A value below the range that turns the feature off (SAMPLE_INTERVAL's 0).
    off: Any = None
    # How a bound is written in messages and docs/settings.md.
    shown: Any = str

    def range_text(self) -> str:
        """ "from 1 to 3600, or 0 (off)", as messages and docs/settings.md state the range."""
        text = f"from {self.shown(self.minimum)} to {self.shown(self.maximum)}"
        return text if self.off is None else f"{text}, or {self.shown(self.off)} (off)"

    def in_range(self, value) -> bool:
        if self.minimum is None or value == self.off:
            return True
        read = self.parse or (lambda written: written)
        return read(self.minimum) <= read(value) <= read(self.maximum)


def _permission_classes(value) -> tuple[type, ...]:
    """Dotted paths -> the classes. Each must import and be a DRF permission class that DRF can
    instantiate without arguments, as it does on each request: an unusable entry would otherwise
    answer 500 on every endpoint, and an empty list would open them all."""
    from django.utils.module_loading import import_string

    if not all(isinstance(item, str) and "." in item for item in value):
        raise ValueError("must be a list of dotted import paths")
    classes = []
    for path in value:
        try:
            imported = import_string(path)
        except Exception as exc:  # noqa: BLE001 - whatever a module raises, the path is unusable
            raise ValueError(f"cannot import {quoted(path)} ({quoted(str(exc))})") from None
        if not isinstance(imported, type):
            raise ValueError(f"{quoted(path)} is not a class")
        if not callable(getattr(imported, "has_permission", None)):
            raise ValueError(f"{quoted(path)} is not a DRF permission class (it has no has_permission)")
        try:
            imported()
        except Exception as exc:  # noqa: BLE001 - as DRF would fail on every request
            raise ValueError(f"{quoted(path)} cannot be instantiated without arguments ({exc})") from None
        classes.append(imported)
    return tuple(classes)


# What AWX routes itself (its awx/urls.py, awx/api/urls/urls.py and websocket routing, 24.x and
# devel): every URL at or under each of these paths is AWX's. "/" and "/api/" hold them.
AWX_URL_ROOTS = (
    "/api/v2/",
    "/api/login/",
    "/api/logout/",
    "/api/o/",
    "/api/debug/",
    "/api/swagger/",
    "/api/swagger.json/",
    "/api/swagger.yaml/",
    "/api/redoc/",
    "/api/websocket/",
    "/websocket/",
    "/sso/",
    "/login/",
    "/csp-violation/",
    "/migrations_notran/",
    "/ui_next/",
    "/__debug__/",
)
# A path Django's path() and a browser both take literally: no <converter>, no %-escape.
_URL_PATH = re.compile(r"^/(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*/)+$")


def awx_url_roots() -> tuple[str, ...]:
    """AWX_URL_ROOTS, with the static files' URL and AWX's optional API prefix
    (OPTIONAL_API_URLPATTERN_PREFIX: /api/<prefix>/v2/) as this project sets them."""
    roots = list(AWX_URL_ROOTS)
    static = getattr(django_settings, "STATIC_URL", None)
    if isinstance(static, str) and static.startswith("/") and static != "/":
        roots.append(static.rstrip("/") + "/")
    optional = getattr(django_settings, "OPTIONAL_API_URLPATTERN_PREFIX", "")
    if isinstance(optional, str) and optional.strip("/"):
        roots.append(f"/api/{optional.strip('/')}/")
    return tuple(roots)


def _ui_url(value):
    """An http(s) URL with a host and nothing after its path, or empty (the page's own host)."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        return "must be empty or an http(s) URL such as https://awx.example.com, without ?query or #fragment"
    return None


def _url_prefix(value):
    """A prefix is refused when the middleware would serve the app in place of AWX's URLs, or
    could never match a request."""
    use = f"; use a path of the app's own such as {OPTIONS['URL_PREFIX'].default}"
    for root in awx_url_roots():
        if root.startswith(value):
            return f"would serve the app in place of AWX's own URLs under {root}{use}"
        if value.startswith(root):
            return f"is inside {root}, whose URLs are AWX's{use}"
    if not _URL_PATH.match(value):
        return (
            "must be a path such as /api/eventdebug/: names of letters, digits, '-', '_', '.' and '~', "
            "each followed by '/', after a leading '/' (no <converter>, regular expression or %-escape)"
        )
    return None


NUMBER = (int, float)
LONGEST = format_duration(MAX_SECONDS)  # the longest duration an option takes

OPTIONS: dict[str, Option] = {
    "LAYER": Option("default", (str,), "Alias in CHANNEL_LAYERS that the app inspects and listens on."),
    "REDIS_TIMEOUT": Option(
        2.0,
        NUMBER,
        "Connect and command timeout, in seconds, of every Redis connection the app opens.",
        minimum=0.01,
        maximum=3600,
    ),
    "STATEMENT_TIMEOUT": Option(
        30.0,
        NUMBER,
        "PostgreSQL statement_timeout (seconds) of every statement the app runs; half of it is lock_timeout.",
        # PostgreSQL's unit is the millisecond: less would be 0, which turns the timeout off.
        minimum=0.001,
        maximum=86400,
    ),
    "CONNECT_TIMEOUT": Option(
        10,
        (int,),
        "Seconds an eventdebug command waits to connect to PostgreSQL (unless DATABASES sets it).",
        # libpq's minimum: it treats 1 as 2.
        minimum=2,
        maximum=3600,
    ),
    "URL_PREFIX": Option(
        "/api/eventdebug/",
        (str,),
        "Path under which EventDebugMiddleware serves the app's URLs inside AWX.",
        _url_prefix,
    ),
    "AWX_UI_URL": Option(
        "",
        (str,),
        "Where AWX's UI is, for the dashboard's links to a job's output; empty: the dashboard's own host.",
        _ui_url,
    ),
    # Channel layer inspection (eventdebug groups, queues, watch; GET channels/).
    "INSPECT_TIME_BUDGET": Option(
        10.0,
        NUMBER,
        "Seconds one channel layer inspection may spend reading Redis before it stops and says so.",
        minimum=0.001,
        maximum=3600,
    ),
    "INSPECT_MAX_KEYS": Option(
        100000,
        (int,),
        "Most group, queue and $inflight keys one channel layer inspection reads.",
        minimum=1,
        maximum=10_000_000,
    ),
    "INSPECT_MAX_MEMBERS": Option(
        200000,
        (int,),
        "Most group members one channel layer inspection reads, over all groups.",
        minimum=1,
        maximum=10_000_000,
    ),
    "INSPECT_CACHE_SECONDS": Option(
        10.0,
        NUMBER,
        "Seconds dashboard tabs and GET channels/ share one reading of the layer (0: never shared).",
        minimum=0,
        maximum=3600,
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
        5.0,
        NUMBER,
        "Seconds between two writes of the captured overflow aggregate.",
        # Shorter, every process capturing would spin writing rows.
        minimum=0.1,
        maximum=3600,
    ),
    "CAPTURE_WINDOW": Option(
        60,
        (int,),
        "Width, in seconds, of the time window one overflow row counts.",
        minimum=1,
        maximum=3600,
    ),
    "CAPTURE_MAX_PENDING_GROUPS": Option(
        10000,
        (int,),
        "Most (group, window) pairs held in memory between flushes; the rest share one bucket.",
        minimum=1,
        maximum=1_000_000,
    ),
    "RETENTION": Option(
        "30d",
        (str,),
        "Age beyond which the maintenance thread purges overflow rows and rollups; `eventdebug purge`'s "
        "default.",
        parse=parse_duration,
        minimum="1m",
        maximum=LONGEST,
    ),
    # Event lag percentiles (lag/); docs/lag.md.
    "LAG_WINDOW": Option(
        "1h",
        (str,),
        "Window on `modified` of a lag query that gives neither since nor a job.",
        parse=parse_duration,
        minimum="1s",
        maximum=LONGEST,
    ),
    "LAG_MAX_WINDOW": Option(
        "31d",
        (str,),
        "Longest window (until - since) of a lag query, report or check; a longer one given gets a 400.",
        parse=parse_duration,
        minimum="1s",
        maximum=LONGEST,
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
        minimum=1,
        maximum=100_000,
    ),
    "LAG_EXACT_WINDOW": Option(
        "6h",
        (str,),
        "Lag windows longer than this (without a job or event) are answered from the per-minute rollups.",
        parse=parse_duration,
        minimum="1s",
        maximum=LONGEST,
    ),
    "LAG_ROLLUP_GRACE": Option(
        "2m",
        (str,),
        "Time after a minute's end before its lag rollup is computed (events still being stored).",
        parse=parse_duration,
        minimum="1s",
        maximum="1d",
    ),
    # Report, check and metrics (health/); docs/report.md.
    "HEALTH_WINDOW": Option(
        "15m",
        (str,),
        "Window of `eventdebug report` and `check` without --since, and of GET metrics/.",
        parse=parse_duration,
        minimum="1s",
        maximum=LONGEST,
    ),
    "HEALTH_CACHE": Option(
        5.0,
        NUMBER,
        "Seconds a web process shares one health reading (GET metrics/, check/, report/, path/, the "
        "dashboard) among the requests with the same query; 0 turns the sharing off.",
        minimum=0.1,
        # Below half the reporter's lease (health/reporter.py, LEASE 2 minutes): a process claims
        # the lease once per reading, and the lease is renewed only with less than half of it
        # left, so a longer period lets it expire, and another node take it, while this process
        # still serves its reading "reporting" (the cluster's series exported twice). 30 leaves
        # room for a scrape interval of 30 s.
        maximum=30,
        off=0,
    ),
    # The check's thresholds, CHECK_*, are declared by the hops that own them (path/hops/).
    # The critical path across nodes (path/); docs/path.md.
    "SAMPLE_INTERVAL": Option(
        10.0,
        NUMBER,
        "Seconds between two snapshots of this node's hops by the maintenance thread; 0 turns them off.",
        # Shorter, every node's processes would read Redis and write rows nonstop.
        minimum=1,
        maximum=3600,
        off=0,
    ),
    "SAMPLE_STALE_INTERVALS": Option(
        3,
        (int,),
        "A node whose last snapshot is older than this many of its intervals is stale.",
        minimum=1,
        maximum=100,
    ),
    "SAMPLE_RETENTION": Option(
        "1d",
        (str,),
        "Age beyond which snapshots are deleted, and a node that stopped sampling leaves `path`.",
        parse=parse_duration,
        minimum="1m",
        maximum=LONGEST,
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
    if not option.in_range(value):
        return f"must be {option.range_text()}"
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
