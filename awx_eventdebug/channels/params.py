"""The parameters of a channel layer inspection, validated once for GET channels/ and for
``eventdebug groups``/``queues``."""

from __future__ import annotations

from rest_framework import serializers

from .groups import inspect_groups
from .queues import DEFAULT_LIMIT, MAX_LIMIT, inspect_queues
from .recent import recent_groups


class ChannelsQuerySerializer(serializers.Serializer):
    pattern = serializers.CharField(default="*", max_length=200, help_text="Glob on group names.")
    limit = serializers.IntegerField(
        default=DEFAULT_LIMIT, min_value=1, max_value=MAX_LIMIT, help_text="Groups shown, worst first."
    )


def groups_document(query: dict) -> dict:
    """``eventdebug groups --json``: ``query`` holds inspect_groups's keywords."""
    return inspect_groups(**query)


def recent_groups_document(query: dict) -> dict:
    """GET channels/: groups_document of the configured layer, shared by the requests asking the
    same ``query`` within INSPECT_CACHE_SECONDS (recent.py), with its ``age``."""
    return recent_groups(**query)


def queues_document(query: dict) -> dict:
    """``eventdebug queues --json``: ``query`` holds inspect_queues's keywords."""
    return inspect_queues(**query)
