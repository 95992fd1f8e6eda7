"""The parameters of a lag query, validated once for both faces: GET lag/'s query string and
``eventdebug lag``'s options (all strings) become the fields of a LagQuery."""

from __future__ import annotations

from rest_framework import serializers

from ..awx.tables import KINDS, MAX_JOB_ID
from ..conf import get_config
from ..fields import ChoiceField, MomentField
from ..percentiles import parse_percentiles
from ..window import WindowQuerySerializer
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


def lag_document(query: dict) -> dict:
    """The lag report of a validated query: GET lag/ and ``eventdebug lag --json``."""
    return lag_report(LagQuery(**query))
