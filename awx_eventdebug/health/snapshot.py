"""One request's health of the critical path: its figures read once, judged once, and every view
made from that one reading: ``check`` (and the dashboard's verdict), ``path``, ``report`` and the
metrics.

Each part is read when a view first needs it and then kept: a check reads the hops' cluster-wide
figures and the node snapshots, a report the doctor and the overflow section as well. A part that
fails (Redis down, no event tables, a statement timeout) is None with the reason in ``errors``,
and the others are still there (sections.py).
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import Any

from django.utils import timezone

from ..awx.sending import websocket_rate
from ..awx.tables import KINDS
from ..lag.histogram import lag_counters
from ..lag.reuse import one_reading
from ..overflow.queries import cumulative_drops
from ..path.judge import JudgedPath, judge_path, latest_snapshots, limits, limits_of
from ..path.registry import hops, thresholds
from ..sections import attempt, section
from ..timeutil import isoformat
from .report import WORST_DETAIL, Window, doctor_summary, overflow_window
from .reporter import Reporter

OK, FAILED, UNKNOWN, IDLE = "ok", "failed", "unknown", "idle"
# The check's exit codes, one contract for every subcommand (docs/cli.md).
EXIT_CODES = {OK: 0, FAILED: 1, UNKNOWN: 2, IDLE: 3}


class HealthSnapshot:
    """The health over ``window`` with the check's thresholds (``given`` overrides the CHECK_*
    settings by threshold name); ``detail`` worst jobs, groups and queues kept for a report. With
    ``explain`` off (the metrics: figures, no text), the reads that only explain another hop's
    figure (an ``inside`` hop's: hop 1's clock estimate) are not made."""

    def __init__(self, window: Window, detail: int = 0, explain: bool = True, **given):
        self.window = window
        self.detail = detail
        self.explain = explain
        self.limits = limits(**given)
        # Why a part the judgment reads failed (a hop's cluster-wide read, the snapshots); the
        # report's and the metrics' own parts keep theirs apart, so no view changes another.
        self.errors: dict[str, str] = {}
        self._read: dict[str, tuple[Any, str]] = {}

    @cached_property
    def readings(self) -> dict[str, tuple[Any, str]]:
        """Each hop's cluster-wide figures, by the name of what it reads: (value, why it failed)."""
        return {
            hop.cluster_read: self.read(hop.cluster_read)
            for hop in hops()
            if hop.cluster_read and (self.explain or not hop.inside)
        }

    def read(self, name: str) -> tuple[Any, str]:
        """One hop's cluster-wide figures, read once: (value, why it failed)."""
        if name not in self._read:
            [hop] = [hop for hop in hops() if hop.cluster_read == name]
            value, error = attempt(lambda: hop.read_cluster(self.window, self.detail))
            self._read[name] = (value, error)
            # A hop inside another's figure reads what explains it (shown): its failure changes
            # no status, and `unread` says it.
            if error and not hop.inside:
                self.errors[name] = error
        return self._read[name]

    def reading(self, name: str):
        return self.readings.get(name, (None, ""))[0]

    @cached_property
    def snapshots(self):
        return section(latest_snapshots, self.errors, "path")

    @property
    def clock_skew(self) -> tuple[dict | None, str]:
        """Each execution node's clock estimate over the window (lag/nodes.py), hop 1's read:
        (value, why it failed)."""
        return self.read("clock_skew")

    @cached_property
    def websocket_rate(self) -> tuple[dict | None, str]:
        """The jobs whose live output AWX thinned by its own rate limit (awx/sending.py): (value,
        why it failed)."""
        return attempt(lambda: websocket_rate(self.window))

    @property
    def shown(self) -> dict[str, tuple[dict | None, str]]:
        """What check, path and report show beside the judgment, without a threshold: a node's
        clock or path, a job's rate, explain figures or output that is late with every hop on
        time."""
        return {"clock_skew": self.clock_skew, "websocket_rate": self.websocket_rate}

    @cached_property
    def judged(self) -> JudgedPath:
        return judge_path(
            self.snapshots, self.errors.get("path", ""), self.readings, self.limits, time.time()
        )

    # The views ----------------------------------------------------------------------------------

    def check(self) -> dict:
        """The figures the thresholds bound, the checks that failed (one line each, naming the
        figure and the threshold) and those that could not be made, and what is shown beside them
        (``shown``). ``status`` is "failed" when
        any threshold is exceeded, else "unknown" when a figure could not be read or a node is
        stale, else "idle" when a figure had nothing to judge (no event stored in the window: quiet
        is not healthy, nor a failure), else "ok"."""
        judged = self.judged
        unchecked = judged.unchecked + [f"{name}: {message}" for name, message in self.errors.items()]
        status = FAILED if judged.failures else UNKNOWN if unchecked else IDLE if judged.idle else OK
        return {
            "status": status,
            "exit_code": EXIT_CODES[status],
            "window": self.window.as_dict(),
            "thresholds": limits_of(thresholds(), self.limits),
            "figures": judged.figures,
            "failures": judged.failures,
            # Per hop over its threshold: its most likely cause, the evidence, what to change.
            "causes": judged.causes,
            "unchecked": unchecked,
            "idle": judged.idle,
            **{name: value for name, (value, _) in self.shown.items()},
            # Why a part shown beside the judgment could not be read: it changes no status.
            "unread": {name: error for name, (_, error) in self.shown.items() if error},
        }

    def path(self) -> dict:
        """The document of GET path/ and ``eventdebug path --json``."""
        return {
            "generated_at": isoformat(self.window.until),
            "window": self.window.as_dict(),
            **self.judged.document(),
            "websocket_rate": self.websocket_rate[0],
        }

    def report(self) -> dict:
        """The document of GET report/ and ``eventdebug report --json``."""
        errors: dict[str, str] = {}
        report = {
            "generated_at": isoformat(timezone.now()),
            "window": self.window.as_dict(),
            "doctor": section(doctor_summary, errors, "doctor"),
            "lag": self.reading("lag"),
            "overflow": section(lambda: overflow_window(self.window, WORST_DETAIL), errors, "overflow"),
            "channel_layer": self.reading("channel_layer"),
        }
        for name, (value, error) in self.shown.items():
            report[name] = value
            if error:
                errors[name] = error
        judged = self.judged
        report["path"] = None if self.snapshots is None else judged.document()
        report["errors"] = {**self.errors, **errors}
        return report

    def metrics(self, reporter: Reporter | None) -> dict:
        """What GET metrics/ exports (health/prometheus.py): this node's queues, and when
        ``reporter`` says this node reports the cluster (health/reporter.py), the cluster-wide
        figures: lag per kind (the window's counts, the histogram's counters since the lease's
        origin), cumulative live drops per node and group kind, the path's per-node figures. The
        path here is judged with the snapshot's ``explain``: made without it (as the metrics
        are), its rows and causes lack what only explains (the clock estimate)."""
        errors: dict[str, str] = {}
        layer, error = self.read("channel_layer")
        data = {"window": self.window, "reporter": reporter, "channel_layer": layer, "errors": errors}
        if error:
            errors["channel_layer"] = error
        if reporter is None or not reporter.reporting:
            return data
        with one_reading():  # the counters' open minutes are the lag's
            data["lag"], _ = self.read("lag")
            data["lag_counters"] = section(
                lambda: lag_counters(KINDS, reporter.since, self.window.until), errors, "lag_histogram"
            )
        data["overflow"] = section(cumulative_drops, errors, "overflow")
        data["path"] = None if self.snapshots is None else self.judged
        errors.update(self.errors)
        return data


def shown_findings(check: dict) -> list[tuple[str, str]]:
    """(what it is about, the finding) of each thing the check shows beside its judgment: an
    execution node whose clock or path is off ("node"), a job whose live output AWX thinned
    ("ui"), a part that could not be read ("unread"). The CLI's lines and the dashboard's verdict
    (verdict.js the same from GET check/)."""
    clocks, rate = check["clock_skew"], check["websocket_rate"]
    return [
        *(("node", finding) for finding in (clocks["findings"] if clocks else [])),
        *(("ui", finding) for finding in (rate["findings"] if rate else [])),
        *(("unread", f"{name}: {error}") for name, error in check["unread"].items()),
    ]


def threshold_rows(check: dict) -> list[dict]:
    """The check's figures beside their thresholds, in path order: the dashboard's rows and the
    OK line."""
    return [
        {
            "name": t.name,
            "label": t.label,
            "figure": t.shown(check["figures"].get(t.figure_key), figure=True),
            "threshold": t.shown(check["thresholds"][t.limit_key]),
            "read": check["figures"].get(t.figure_key) is not None,
        }
        for t in thresholds()
    ]
