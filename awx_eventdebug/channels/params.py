"""The parameters of a channel layer inspection, validated once for GET channels/ and for
``eventdebug groups``/``queues``."""

from __future__ import annotations

from rest_framework import serializers

from .queues import DEFAULT_LIMIT, MAX_LIMIT


class ChannelsQuerySerializer(serializers.Serializer):
    pattern = serializers.CharField(default="*", max_length=200, help_text="Glob on group names.")
    limit = serializers.IntegerField(
        default=DEFAULT_LIMIT, min_value=1, max_value=MAX_LIMIT, help_text="Groups shown, worst first."
    )
