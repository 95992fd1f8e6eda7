"""The parts of the health report that are not a hop's: the doctor's findings and the overflow
drops over the window (the hops' own figures are read by the hops, path/hops/), and the window
they all share. health/snapshot.py reads them into one document.
"""

from __future__ import annotations

from datetime import datetime

from ..overflow.queries import OverflowFilter, summarize_overflow
from ..window import Window, default_since
from .doctor import build_report

# The worst jobs, groups and queues a report shows.
WORST_DETAIL = 5


def doctor_summary() -> dict:
    """What the report shows of the doctor: problems, configuration warnings, where it looked."""
    report = build_report(clock_skew=False)
    database = report["database"]
    layer = report["channel_layer"]
    return {
        "problems": report["problems"],
        "warnings": [{"id": check["id"], "message": check["message"]} for check in report["checks"]],
        "database": database
        and {
            "vendor": database["vendor"],
            "missing_tables": [t["table"] for t in database["tables"] if not t["exists"]],
        },
        "channel_layer": layer
        and {
            "alias": layer["alias"],
            "backend": layer["backend"],
            "hosts": [{"host": p["host"], "ok": p["ok"], "error": p["error"]} for p in layer["ping"]],
        },
        "capture_installed": bool(report["overflow"] and report["overflow"]["capture"]["installed"]),
    }


def overflow_window(window: Window, limit: int, by_node: bool = False) -> dict:
    """Drops over the window, most first, and this process's capture counters."""
    summary = summarize_overflow(
        OverflowFilter(since=window.since, until=window.until), limit=limit, by_node=by_node
    )
    return {key: summary[key] for key in ("totals", "groups_total", "groups", "capture")}


def health_window(until: datetime, since: datetime | None = None) -> Window:
    """From ``since`` (default: HEALTH_WINDOW before ``until``, at most LAG_MAX_WINDOW: check
    W060) to ``until``. A ``since`` someone gave is checked by health/params.py."""
    return Window(since or default_since(until, "HEALTH_WINDOW"), until)
