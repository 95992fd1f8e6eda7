"""What AWX sends the UI live, by its own settings, and the jobs whose live output it thinned.

The controller's runner callback (``RunnerCallback.event_handler``, awx/main/tasks/callback.py)
marks an event ``skip_websocket_message`` once the job sent ``MAX_WEBSOCKET_EVENT_RATE``
messages (default 30) within a second, and with ``UI_LIVE_UPDATES_ENABLED`` off
``emit_event_detail`` (awx/main/models/events.py) sends none but the minimal events. The event is
stored all the same: the UI shows it when the job's output page loads again. So a job's output
can show up late in the UI with every hop of the path on time; the flag is not stored, but a job
whose average rate (``emitted_events`` over ``elapsed``, saved when it ends) is above the limit
had at least that share of its events left out of the live view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypedDict

from django.conf import settings

from ..db import diagnostic_cursor
from .jobs import KIND_BY_MODEL
from .tables import UNIFIED_JOB_TABLE

# Jobs shown, fastest first: enough to name the culprits of a window.
MAX_JOBS = 5
# Jobs read at most: the latest that ended in the window, so that a health reading costs the same
# however many jobs its window holds (as the latest events do: lag/recent.py).
RECENT_JOBS = 1_000

# The jobs faster on average than the limit among the latest RECENT_JOBS that ended in the
# window, read backwards on AWX's index on ``finished``.
_FAST_JOBS = f"""
SELECT u.id, t.model, u.emitted_events, u.elapsed
FROM (
    SELECT id, polymorphic_ctype_id, emitted_events, elapsed FROM {UNIFIED_JOB_TABLE}
    WHERE finished >= %s AND finished < %s ORDER BY finished DESC LIMIT %s
) AS u LEFT JOIN django_content_type t ON t.id = u.polymorphic_ctype_id
WHERE u.elapsed > 0 AND u.emitted_events > %s * u.elapsed
ORDER BY u.emitted_events * 1.0 / u.elapsed DESC, u.id
LIMIT %s
"""


@dataclass(frozen=True)
class AwxSending:
    """AWX's settings that decide which events are sent (database-backed in AWX, read through
    its settings like AWX itself does)."""

    max_event_rate: int
    live_updates: bool

    @classmethod
    def from_settings(cls) -> AwxSending:
        return cls(
            int(getattr(settings, "MAX_WEBSOCKET_EVENT_RATE", 30)),
            bool(getattr(settings, "UI_LIVE_UPDATES_ENABLED", True)),
        )

    def as_dict(self) -> AwxSendingSettings:
        return {
            "max_websocket_events_per_second": self.max_event_rate,
            "ui_live_updates_enabled": self.live_updates,
        }


class AwxSendingSettings(TypedDict):
    """AWX's settings that decide which events it sends the UI live."""

    max_websocket_events_per_second: Annotated[int, "MAX_WEBSOCKET_EVENT_RATE; 0: no limit."]
    ui_live_updates_enabled: bool


class FastJob(TypedDict):
    """A job that ended faster on average than AWX's limit."""

    job: int
    kind: str | None
    emitted_events: int
    elapsed_seconds: float
    rate_per_second: Annotated[float, "emitted_events over elapsed_seconds."]
    live_share: Annotated[float, "The most of its events AWX sent the UI live (0-1)."]


class WebsocketRate(TypedDict):
    """The jobs whose live output AWX thinned by its own rate limit."""

    awx: AwxSendingSettings
    jobs: Annotated[
        list[FastJob], "The fastest first, at most 5, among the latest 1,000 that ended in the window."
    ]
    jobs_truncated: bool
    findings: list[str]


def websocket_rate(window) -> WebsocketRate:
    """AWX's sending settings and the jobs above its rate limit among the latest RECENT_JOBS that
    ended in ``window`` (the fastest MAX_JOBS, and whether there were more), each with its
    finding; one statement."""
    sending = AwxSending.from_settings()
    jobs: list[dict] = []
    more = False
    if sending.live_updates and sending.max_event_rate > 0:
        with diagnostic_cursor() as cursor:
            cursor.execute(
                _FAST_JOBS,
                [window.since, window.until, RECENT_JOBS, sending.max_event_rate, MAX_JOBS + 1],
            )
            rows = cursor.fetchall()
        more = len(rows) > MAX_JOBS
        jobs = [_fast_job(*row, sending.max_event_rate) for row in rows[:MAX_JOBS]]
    return {
        "awx": sending.as_dict(),
        "jobs": jobs,
        "jobs_truncated": more,
        "findings": _findings(sending, jobs, more),
    }


def _fast_job(job: int, model: str | None, events: int, elapsed, limit: int) -> FastJob:
    rate = events / float(elapsed)
    return {
        "job": job,
        "kind": KIND_BY_MODEL.get(model),
        "emitted_events": events,
        "elapsed_seconds": float(elapsed),
        "rate_per_second": round(rate, 1),
        # AWX sends at most ``limit`` a second: at most this share of the job's events went live.
        "live_share": round(min(limit / rate, 1.0), 3),
    }


def _findings(sending: AwxSending, jobs: list[FastJob], more: bool) -> list[str]:
    if not sending.live_updates:
        return [
            "UI_LIVE_UPDATES_ENABLED is False: AWX sends the UI no job event live, only each "
            "job's status changes; every job's output shows when its page loads again"
        ]
    found = [
        f"job {job['job']} ({job['kind'] or 'unknown kind'}): {job['emitted_events']:,} events in "
        f"{job['elapsed_seconds']:g} s, {job['rate_per_second']:g} events/s on average against "
        f"MAX_WEBSOCKET_EVENT_RATE {sending.max_event_rate}/s: AWX sent the UI at most "
        f"{job['live_share']:.0%} of its events live, the rest show when its output page loads again"
        for job in jobs
    ]
    if more:
        found.append(f"more jobs than these {MAX_JOBS} were faster than MAX_WEBSOCKET_EVENT_RATE")
    return found
