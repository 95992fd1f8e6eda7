"""Serializer fields shared by the features' parameter validation (lag, health, overflow),
which the REST endpoints and the ``eventdebug`` subcommands both use."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.utils import timezone
from rest_framework import serializers

from .errors import cut
from .timeutil import parse_moment

MOMENT_MAX_LENGTH = 64


class FiniteFloatField(serializers.FloatField):
    """A FloatField refusing nan and inf on every supported DRF: 3.15 (AWX's) lets them through
    its min/max validators, which compare False with nan."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            raise serializers.ValidationError("A finite number is required.")
        return value


class ChoiceField(serializers.ChoiceField):
    """DRF's ChoiceField, whose refusal quotes a value cut (errors.cut), not 100 KB of it, and
    lists the choices: '"jobs" is not one of job, project_update, ...'."""

    default_error_messages = {"invalid_choice": '"{input}" is not one of {choices}.'}
    LISTED = 12  # choices a refusal lists; a longer list (metric names) ends with its count

    def to_internal_value(self, data):
        if data == "" and self.allow_blank:
            return ""
        try:
            return self.choice_strings_to_values[str(data)]
        except KeyError:
            choices = [str(choice) for choice in self.choices]
            listed = ", ".join(choices[: self.LISTED])
            if len(choices) > self.LISTED:
                listed += f", ... ({len(choices)} in all)"
            self.fail("invalid_choice", input=cut(str(data)), choices=listed)


class MomentField(serializers.Field):
    """since/until: an ISO 8601 time, or a duration meaning that long ago ("2h"), as an aware
    datetime in UTC, so every endpoint compares and reports windows the same way.

    Durations count back from the serializer's ``now()``, one moment per validation, so that
    since=2h and a default until of now are exactly 2h apart."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > MOMENT_MAX_LENGTH:
            raise serializers.ValidationError("Expected an ISO 8601 time or a duration such as 15m.")
        try:
            return parse_moment(data, now=validation_now(self)).astimezone(UTC)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        except OverflowError as exc:  # a time near year 1 or 9999 shifted out of range by its offset
            raise serializers.ValidationError("out of range.") from exc

    def to_representation(self, value):
        return value.isoformat()


def validation_now(field: serializers.Field) -> datetime:
    """The moment this validation runs, the same for every field and validate() of a serializer
    (kept in its context, which the fields share)."""
    return field.context.setdefault("now", timezone.now())
