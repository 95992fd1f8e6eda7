"""The doctor report: what the app can see of AWX's database, channel layer and itself.

Each section is computed on its own (sections.attempt); one that fails is None, says why in
``problems``, and the rest of the report is still produced.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from datetime import timedelta
from importlib import metadata

from django.db import connection
from django.utils import timezone

from .. import __version__
from ..awx.tables import KINDS, UNIFIED_JOB_TABLE, table_info
from ..channels.config import load_layer
from ..channels.redis_read import ping_hosts, unreachable_message
from ..checks import ALL_CHECKS
from ..conf import effective_settings, get_config
from ..db import diagnostic_cursor
from ..lag.nodes import node_clocks
from ..overflow.handler import capture_stats
from ..overflow.install import installed_handler
from ..overflow.queries import OverflowFilter, summarize_overflow, table_totals
from ..overflow.record import LOGGER_NAME, node_name
from ..sections import attempt
from ..window import Window, default_since

DISTRIBUTIONS = ("Django", "channels", "channels-redis", "djangorestframework", "redis", "psycopg")


def versions() -> dict[str, str | None]:
    found = {"python": platform.python_version(), "awx-eventdebug": __version__}
    for name in DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def database_section() -> dict:
    section = {"vendor": connection.vendor, "version": None, "tables": []}
    with diagnostic_cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        section["version"] = cursor.fetchone()[0]
    for kind_name, kind in KINDS.items():
        section["tables"].append({"kind": kind_name, **table_info(kind.table).as_dict()})
    section["tables"].append({"kind": None, **table_info(UNIFIED_JOB_TABLE).as_dict()})
    return section


def channel_layer_section() -> dict:
    layer = load_layer()
    return {**layer.describe(), "ping": [result.as_dict() for result in ping_hosts(layer)]}


def build_report(clock_skew: bool = True, overflow: bool = True) -> dict:
    """The whole report; ``problems`` lists one line per thing the app needs but lacks.
    ``clock_skew=False`` for a caller that reads the clock estimate over its own window (the
    report, the dashboard): it is not read twice. ``overflow=False`` for one that shows the
    overflow table over its own window, and why it cannot be read (the dashboard): the section's
    last day of groups and table totals would be read for nothing."""
    report = {
        "versions": versions(),
        "settings": effective_settings(),
        "checks": [
            {"id": message.id, "message": message.msg, "hint": message.hint}
            for check in ALL_CHECKS
            for message in check()
        ],
        "problems": [],
    }
    problems = report["problems"]
    report["database"], error = attempt(database_section)
    if error:
        problems.append(f"database: {error}")
    else:
        missing = [t["table"] for t in report["database"]["tables"] if not t["exists"]]
        if missing:
            problems.append(f"database: AWX tables missing: {', '.join(missing)}")
    report["channel_layer"], error = attempt(channel_layer_section)
    if error:
        problems.append(f"channel layer: {error}")
    else:
        for ping in report["channel_layer"]["ping"]:
            if not ping["ok"]:
                problems.append(unreachable_message(ping["host"], ping["error"]))
    if overflow:
        report["overflow"], error = attempt(overflow_section)
        if error:
            problems.append(f"overflow: {error}")  # a missing table's says to run migrate
    if clock_skew:
        report["clock_skew"], error = attempt(clock_skew_section)
        if error:
            problems.append(f"clock skew: {error}")
    return report


def clock_skew_section() -> dict:
    """Each execution node's clock estimate over the last HEALTH_WINDOW, as check shows it."""
    until = timezone.now()
    window = Window(default_since(until, "HEALTH_WINDOW"), until)
    return {"window": window.as_dict(), **node_clocks(window)}


def overflow_section() -> dict:
    """Capture wiring and counters of this process (``process`` says which: each AWX process
    counts only the records it logged itself), the table's totals over every process and node,
    and the last day's overflow per group."""
    logger = logging.getLogger(LOGGER_NAME)
    summary = summarize_overflow(OverflowFilter(since=timezone.now() - timedelta(days=1)), limit=5)
    return {
        "capture": {
            "enabled": get_config()["CAPTURE"],
            "installed": installed_handler() is not None,
            "logger": LOGGER_NAME,
            "logger_level": logging.getLevelName(logger.getEffectiveLevel()),
            "logger_disabled": logger.disabled,
            "handlers": capture_stats(),
            "process": {"pid": os.getpid(), "node": node_name(), "command": " ".join(sys.argv[:3])},
        },
        "table": table_totals(),
        "last_24h": {
            "totals": summary["totals"],
            "groups_total": summary["groups_total"],
            "top_groups": [
                {key: group[key] for key in ("group", "drops", "drops_per_minute", "last_seen")}
                for group in summary["groups"]
            ],
        },
    }
