"""The health of the critical path on one page: the doctor's findings, event lag, channel
overflow and the channel layer's queues over one window, and the check of those figures against
thresholds. ``eventdebug report``, ``eventdebug check``, their endpoints and GET metrics/ all read
this module, which reuses the query functions of the doctor and of the lag, overflow and channels
packages.

Each section is computed on its own: one that fails (Redis down, no event tables, a statement
timeout) is None with the reason in ``errors``, and the other sections are still there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from ..awx.tables import KINDS
from ..channels.queues import inspect_queues
from ..conf import get_config
from ..lag.percentiles import percentile_key
from ..lag.query import LagQuery
from ..lag.report import lag_report
from ..overflow.queries import OverflowFilter, cumulative_drops, summarize_overflow
from ..path.verdict import critical_path, path_checks
from ..sections import section
from ..timeutil import isoformat
from ..window import Window, default_since
from .doctor import build_report

P99 = Decimal(99)
P99_KEY = percentile_key(P99)
WORST_JOBS = 5
WORST_GROUPS = 5
WORST_QUEUES = 5
LAG_FIGURES = ("count", "mean", "min", "max", "percentiles", "missing_created", "backfilled", "negative")


@dataclass(frozen=True)
class Thresholds:
    max_p99: float
    max_fill: float
    max_drops: int
    max_backlog: int
    max_backlog_age: float
    max_relay_down: int

    @classmethod
    def from_settings(cls, **given) -> Thresholds:
        config = get_config()
        defaults = {
            "max_p99": config["CHECK_MAX_P99"],
            "max_fill": config["CHECK_MAX_FILL"],
            "max_drops": config["CHECK_MAX_DROPS"],
            "max_backlog": config["CHECK_MAX_BACKLOG"],
            "max_backlog_age": config["CHECK_MAX_BACKLOG_AGE"],
            "max_relay_down": config["CHECK_MAX_RELAY_DOWN"],
        }
        return cls(
            **{name: given[name] if given.get(name) is not None else defaults[name] for name in defaults}
        )


# Sections -------------------------------------------------------------------------------------


def doctor_summary() -> dict:
    """What the report shows of the doctor: problems, configuration warnings, where it looked."""
    report = build_report()
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


def lag_percentiles() -> tuple[Decimal, ...]:
    """LAG_PERCENTILES, plus the p99 the check and the worst jobs need."""
    configured = get_config()["LAG_PERCENTILES"]
    return configured if P99 in configured else tuple(sorted((*configured, P99)))


def lag_section(window: Window, worst_jobs: int) -> dict:
    """Lag statistics per kind over the window; with ``worst_jobs`` the jobs of any kind with the
    highest p99 too (one statement per kind either way). A kind whose table cannot be read is
    None with its reason in ``errors``; the others are still computed."""
    percentiles = lag_percentiles()
    kinds, errors, jobs = {}, {}, []
    for kind in KINDS:
        query = LagQuery(
            kind=kind,
            since=window.since,
            until=window.until,
            by="job" if worst_jobs else "none",
            percentiles=percentiles,
            worst_by=P99 if worst_jobs else None,
        )
        report = section(lambda query=query: lag_report(query), errors, kind)
        if report is None:
            kinds[kind] = None
            continue
        # Each kind's groups come worst first: its first few are all the candidates it has.
        jobs.extend(
            {"kind": kind, "job": group.pop("key"), **group} for group in report["groups"][:worst_jobs]
        )
        kinds[kind] = {key: report[key] for key in LAG_FIGURES}
    jobs.sort(key=lambda job: job["percentiles"][P99_KEY] or 0.0, reverse=True)
    return {"percentiles": [percentile_key(p) for p in percentiles], "kinds": kinds, "errors": errors} | (
        {"worst_jobs": jobs[:worst_jobs]} if worst_jobs else {}
    )


def overflow_window(window: Window, limit: int, by_node: bool = False) -> dict:
    """Drops over the window, most first, and this process's capture counters."""
    summary = summarize_overflow(
        OverflowFilter(since=window.since, until=window.until), limit=limit, by_node=by_node
    )
    return {key: summary[key] for key in ("totals", "groups_total", "groups", "capture")}


def layer_queues(limit: int) -> dict:
    """The fullest queues (then oldest message, then deepest) and the counts over all of them."""
    doc = inspect_queues(limit=limit)
    return {key: doc[key] for key in ("layer", "note", "truncated", "shards", "summary", "queues")}


# The report and the check ----------------------------------------------------------------------


def health_window(until: datetime, since: datetime | None = None) -> Window:
    """From ``since`` (default: HEALTH_WINDOW before ``until``, at most LAG_MAX_WINDOW: check
    W060) to ``until``. A ``since`` someone gave is checked by health/params.py."""
    return Window(since or default_since(until, "HEALTH_WINDOW"), until)


def health_report(window: Window) -> dict:
    """The document of ``eventdebug report --json`` and GET report/."""
    errors: dict[str, str] = {}
    report = {
        "generated_at": isoformat(timezone.now()),
        "window": window.as_dict(),
        "doctor": section(doctor_summary, errors, "doctor"),
        "lag": section(lambda: lag_section(window, WORST_JOBS), errors, "lag"),
        "overflow": section(lambda: overflow_window(window, WORST_GROUPS), errors, "overflow"),
        "channel_layer": section(lambda: layer_queues(WORST_QUEUES), errors, "channel_layer"),
    }
    report["path"] = section(
        lambda: critical_path(window, Thresholds.from_settings(), report["lag"], errors.get("lag", "")),
        errors,
        "path",
    )
    report["errors"] = errors
    return report


OK, FAILED, UNKNOWN = "ok", "failed", "unknown"
EXIT_CODES = {OK: 0, FAILED: 1, UNKNOWN: 2}


def health_check(window: Window, thresholds: Thresholds) -> dict:
    """The figures the thresholds bound, the checks that failed (one line each, naming the
    figure and the threshold) and those that could not be made. ``status`` is "failed" when any
    threshold is exceeded, else "unknown" when a figure could not be read, else "ok"."""
    errors: dict[str, str] = {}
    lag = section(lambda: lag_section(window, 0), errors, "lag")
    overflow = section(lambda: overflow_window(window, 1), errors, "overflow")
    layer = section(lambda: layer_queues(1), errors, "channel_layer")
    path = section(lambda: critical_path(window, thresholds, lag, errors.get("lag", "")), errors, "path")
    failures, unchecked = [], []

    worst_p99 = None
    if lag is not None:
        for kind, stats in lag["kinds"].items():
            if stats is None:
                unchecked.append(f"lag of {kind} events: {lag['errors'][kind]}")
                continue
            p99 = stats["percentiles"][P99_KEY]
            if p99 is None:
                continue  # no events of this kind in the window
            worst_p99 = p99 if worst_p99 is None else max(worst_p99, p99)
            if p99 > thresholds.max_p99:
                failures.append(
                    f"lag p99 of {kind} events is {p99:.3f} s, above the maximum {thresholds.max_p99:g} s "
                    f"({stats['count']} events)"
                )

    drops = None
    if overflow is not None:
        drops = overflow["totals"]["drops"]
        if drops > thresholds.max_drops:
            worst = overflow["groups"][0]
            failures.append(
                f"channels_redis dropped {drops} group messages, above the maximum {thresholds.max_drops} "
                f"(most in {worst['group']}: {worst['drops']})"
            )

    max_fill = None
    if layer is not None and layer["note"]:
        unchecked.append(f"queues: {layer['note']}")
    elif layer is not None:
        queue = layer["queues"][0] if layer["queues"] else None
        max_fill = (queue["fill"] or 0.0) if queue else 0.0
        if queue and max_fill > thresholds.max_fill:
            failures.append(
                f"queue {queue['key']} is {max_fill:g}% full ({queue['depth']} of {queue['capacity']}), "
                f"above the maximum {thresholds.max_fill:g}%"
            )
        for shard in layer["shards"]:
            if not shard["ok"]:
                unchecked.append(f"queues on redis {shard['host']}: {shard['error']}")

    if path is not None:
        path_failures, path_unchecked = path_checks(path)
        failures += path_failures
        unchecked += path_unchecked

    unchecked.extend(f"{name}: {message}" for name, message in errors.items())
    status = FAILED if failures else UNKNOWN if unchecked else OK
    return {
        "status": status,
        "exit_code": EXIT_CODES[status],
        "window": window.as_dict(),
        "thresholds": {
            "max_p99": thresholds.max_p99,
            "max_fill": thresholds.max_fill,
            "max_drops": thresholds.max_drops,
            "max_backlog": thresholds.max_backlog,
            "max_backlog_age": thresholds.max_backlog_age,
            "max_relay_down": thresholds.max_relay_down,
        },
        "figures": {"max_p99": worst_p99, "max_fill": max_fill, "drops": drops, **path_figures(path)},
        "failures": failures,
        "unchecked": unchecked,
    }


def path_figures(path: dict | None) -> dict:
    """The check's figures of hops 3 and 6: the worst over the nodes that are not stale."""
    hops = [h for n in (path or {"nodes": []})["nodes"] if not n["stale"] for h in n["hops"]]
    backlogs = [h["figure"] for h in hops if h["hop"] == 3 and h["figure"]]
    return {
        "max_backlog": max((b["length"] for b in backlogs), default=None),
        "max_backlog_age": max(
            (b["oldest_age"] for b in backlogs if b["oldest_age"] is not None), default=None
        ),
        "relay_down": sum(h["figure"] for h in hops if h["hop"] == 6 and h["figure"] is not None)
        if path
        else None,
    }


def metrics_sections(window: Window) -> dict:
    """What GET metrics/ exports: lag per kind, cumulative drops per node and group kind, the
    queue counts and the fullest queue, the critical path's per-node figures."""
    errors: dict[str, str] = {}
    lag = section(lambda: lag_section(window, 0), errors, "lag")
    return {
        "window": window,
        "lag": lag,
        "overflow": section(cumulative_drops, errors, "overflow"),
        "channel_layer": section(lambda: layer_queues(1), errors, "channel_layer"),
        "path": section(
            lambda: critical_path(window, Thresholds.from_settings(), lag, errors.get("lag", "")),
            errors,
            "path",
        ),
        "errors": errors,
    }
