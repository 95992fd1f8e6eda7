"""The parameters of a lag query, validated once for both faces: GET lag/'s query string and
``eventdebug lag``'s options (all strings) become the fields of a LagQuery."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, NotRequired, TypedDict

from rest_framework import serializers

from ..awx.tables import KINDS, MAX_JOB_ID
from ..conf import get_config
from ..fields import ChoiceField, MomentField
from ..percentiles import parse_percentiles
from ..window import WindowQuerySerializer
from .nodes import AHEAD, BEHIND, EXACT, IN_SYNC, SLOW_PATH, STORED, UNKNOWN
from .query import GROUP_BY, LagQuery
from .report import lag_report


class LagQuerySerializer(WindowQuerySerializer):
    """Query parameters -> the fields of a LagQuery; errors name each bad field."""

    kind = ChoiceField(choices=list(KINDS), default="job", help_text="Which event table.")
    job = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_JOB_ID,
        help_text="Only this job's events (scans its partition only). Without since/until: the whole job.",
    )
    since = MomentField(
        required=False,
        help_text="Window start on `modified`, inclusive: ISO 8601 or a duration ago (90s, 15m, 2h, 7d). "
        "Default: until minus EVENTDEBUG['LAG_WINDOW'], or open with a job.",
    )
    until = MomentField(
        required=False,
        help_text="Window end, exclusive, same forms as since. Default: now, or open with a job.",
    )
    event = serializers.CharField(
        required=False, max_length=100, help_text="Only this event type (kinds with an event column)."
    )
    by = ChoiceField(
        choices=GROUP_BY,
        default="none",
        help_text="Also give statistics per group: per job or node worst first (by the highest "
        "percentile asked for), per event type, minute or hour by key.",
    )
    percentiles = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Comma-separated, in (0, 100), at most 10, e.g. 50,90,99.9. "
        "Default: EVENTDEBUG['LAG_PERCENTILES'].",
    )

    exact = serializers.BooleanField(
        default=False,
        help_text="Exact percentiles even over a window longer than EVENTDEBUG['LAG_EXACT_WINDOW'], "
        "which is otherwise answered from the per-minute rollups (within 1%).",
    )

    def validate_percentiles(self, value):
        try:
            return parse_percentiles(value.split(","))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, attrs):
        errors = {}
        kind = KINDS[attrs["kind"]]
        if not kind.has_event_column:
            no_event = [f"kind {kind.name!r} has no event column."]
            if "event" in attrs:
                errors["event"] = no_event
            if attrs["by"] == "event":
                errors["by"] = no_event
        if errors:
            raise serializers.ValidationError(errors)
        # A job is read whole unless since or until narrows it.
        since, until = self.window_bounds(attrs, default=None if "job" in attrs else "LAG_WINDOW")
        return {
            "kind": kind.name,
            "job": attrs.get("job"),
            "since": since,
            "until": until,
            "event": attrs.get("event"),
            "by": attrs["by"],
            "percentiles": attrs.get("percentiles") or get_config()["LAG_PERCENTILES"],
            "exact": attrs["exact"],
        }


class LagFigures(TypedDict):
    """Event lag (``modified - created``) of the events measured: those with ``created`` set, not
    backfilled, stored after they were created; null where none was."""

    count: int
    mean_seconds: float | None
    min_seconds: float | None
    max_seconds: float | None
    percentiles_seconds: Annotated[dict[str, float | None], "Each percentile asked for, by its key (p99)."]
    missing_created_count: Annotated[int, "Events without created."]
    backfilled_count: Annotated[int, "Events whose created equals modified (AWX stamped both)."]
    negative_count: Annotated[int, "Events stored before they were created (clock skew)."]


class LagStatistics(LagFigures):
    negative_share: Annotated[float | None, "Of the events with a created, those stored before it."]
    min_lag_seconds: Annotated[float | None, "The lowest lag, negative included."]


class LagMethod(TypedDict):
    method: Literal["exact", "rollup"]
    percentile_error_ratio: Annotated[float, "Relative error bound of each percentile."]
    rollups_behind_minutes: Annotated[
        int | None, "Final minutes the rollups lacked, read from the events for this answer."
    ]


class LagGroup(LagStatistics):
    """The statistics of one group (``by``)."""

    key: Annotated[int | str | None, "The job, event type, node, or start of the minute or hour."]


class LagDocument(LagStatistics, LagMethod):
    """Event lag over a window, a job or an event type, with statistics per group when asked."""

    kind: str
    job: int | None
    event: str | None
    by: str
    since: datetime | None
    until: datetime | None
    tables: Annotated[list[str], "The event tables read."]
    groups: list[LagGroup]
    groups_truncated: Annotated[bool, "More groups than EVENTDEBUG['LAG_MAX_GROUPS'] (cut)."]


class LagKind(LagFigures, LagMethod):
    """The lag of one kind of job over the window."""


class WorstJob(LagStatistics):
    """A job with one of the highest p99 over the window, exact."""

    kind: str
    job: int


class LagSummary(TypedDict):
    """Lag per kind of job over the window; a kind that could not be read is null with its reason
    in ``errors``."""

    percentiles: Annotated[list[str], "The keys of the percentiles given."]
    kinds: dict[str, LagKind | None]
    errors: dict[str, str]
    worst_jobs: NotRequired[list[WorstJob]]
    worst_jobs_error: NotRequired[Annotated[str, "Why the worst jobs could not be read (some or all)."]]
    last_stored_minute: NotRequired[
        Annotated[datetime | None, "With no event in the window: the minute of the last one stored."]
    ]
    last_stored_error: NotRequired[str]


class NodeClock(TypedDict):
    """An execution node's clock estimated from its jobs' lag."""

    node: str
    events: int
    negative_share: float | None
    min_lag_seconds: float | None
    p50_seconds: float | None
    p99_seconds: float | None
    verdict: Literal[IN_SYNC, AHEAD, BEHIND, SLOW_PATH, UNKNOWN]
    skew_seconds: Annotated[float | None, "Ahead when positive."]
    evidence: str


class ClockSkew(TypedDict):
    """The execution nodes' clocks, from the lag of their jobs' events over the window."""

    kind: str
    method: Annotated[
        Literal[EXACT, STORED],
        "exact: made by this reading; stored: the maintenance upkeep's, at most 2 minutes old.",
    ]
    estimated_at: Annotated[datetime, "When it was made: the end of the window it read."]
    stored_error: NotRequired[Annotated[str, "Why the stored estimate could not be read (exact then)."]]
    events_since: Annotated[datetime, "Where the latest events estimated from start (lag/recent.py)."]
    groups_truncated: bool
    tolerance_seconds: float
    baseline_min_lag_seconds: float | None
    nodes: list[NodeClock]
    findings: list[str]


def lag_document(query: dict) -> LagDocument:
    """The lag report of a validated query: GET lag/ and ``eventdebug lag --json``."""
    return lag_report(LagQuery(**query))
