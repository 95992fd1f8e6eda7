"""GET <prefix>/lag/: event lag percentiles (lag.py), and the validation of its query string,
which ``eventdebug lag`` reuses for its options."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.response import Response

from ..awx.tables import KINDS
from ..conf import get_config
from ..fields import MomentField, validation_now
from ..lag.query import GROUP_BY, LagQuery, lag_report, parse_percentiles
from ..timeutil import parse_duration
from .base import EventDebugView
from .schema import QueryParametersSchema

# main_unifiedjob.id is a PostgreSQL integer.
MAX_JOB_ID = 2**31 - 1


class LagQuerySerializer(serializers.Serializer):
    """Query parameters (all strings) -> the fields of a LagQuery; errors name each bad field."""

    kind = serializers.ChoiceField(choices=list(KINDS), default="job", help_text="Which event table.")
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
    by = serializers.ChoiceField(
        choices=GROUP_BY, default="none", help_text="Also give statistics per group, sorted by key."
    )
    percentiles = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Comma-separated, in (0, 100), at most 10, e.g. 50,90,99.9. "
        "Default: EVENTDEBUG['LAG_PERCENTILES'].",
    )

    def validate_percentiles(self, value):
        try:
            return parse_percentiles(value.split(","))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, attrs):
        errors = {}
        config = get_config()
        kind = KINDS[attrs["kind"]]
        if not kind.has_event_column:
            no_event = [f"kind {kind.name!r} has no event column."]
            if "event" in attrs:
                errors["event"] = no_event
            if attrs["by"] == "event":
                errors["by"] = no_event
        if errors:
            raise serializers.ValidationError(errors)
        since, until = attrs.get("since"), attrs.get("until")
        if "job" not in attrs:
            until = until or validation_now(self)
            try:
                since = since or until - parse_duration(config["LAG_WINDOW"])
            except OverflowError as exc:
                raise serializers.ValidationError({"until": ["out of range."]}) from exc
        if since is not None and until is not None:
            if until <= since:
                raise serializers.ValidationError({"until": ["must be later than since."]})
            maximum = parse_duration(config["LAG_MAX_WINDOW"])
            if until - since > maximum:
                raise serializers.ValidationError(
                    {
                        "since": [
                            f"the window from since to until is longer than the maximum "
                            f"{config['LAG_MAX_WINDOW']} (EVENTDEBUG['LAG_MAX_WINDOW']); give a later "
                            "since or an earlier until."
                        ]
                    }
                )
        return {
            "kind": kind.name,
            "job": attrs.get("job"),
            "since": since,
            "until": until,
            "event": attrs.get("event"),
            "by": attrs["by"],
            "percentiles": attrs.get("percentiles") or parse_percentiles(config["LAG_PERCENTILES"]),
        }


class LagView(EventDebugView):
    """Event lag (`modified - created`, seconds): count, mean, min, max and percentiles over a
    window, a job, an event type, optionally per event, job, minute or hour."""

    query_serializer_class = LagQuerySerializer
    schema = QueryParametersSchema(tags=["eventdebug"])

    def get(self, request):
        return Response(lag_report(LagQuery(**self.validated_query(self.query_serializer_class))))
