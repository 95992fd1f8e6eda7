"""The parameters of a channel layer inspection, validated once for GET channels/ and for
``eventdebug groups``/``queues``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypedDict

from rest_framework import serializers

from .groups import inspect_groups
from .queues import DEFAULT_LIMIT, MAX_LIMIT, inspect_queues
from .recent import recent_groups


class ChannelsQuerySerializer(serializers.Serializer):
    pattern = serializers.CharField(default="*", max_length=200, help_text="Glob on group names.")
    limit = serializers.IntegerField(
        default=DEFAULT_LIMIT, min_value=1, max_value=MAX_LIMIT, help_text="Groups shown, worst first."
    )


class LayerDescription(TypedDict):
    """The channel layer read, as configured (passwords masked)."""

    alias: str
    backend: str
    hosts: list[str]
    prefix: str
    capacity_messages: int
    channel_capacity_messages: Annotated[dict[str, int], "Capacity by channel name pattern."]
    expiry_seconds: float
    group_expiry_seconds: float
    kind: str


class ShardRead(TypedDict):
    """A Redis host of the layer, and why it could not be read."""

    index: int
    host: str
    ok: bool
    error: str


class Inspection(TypedDict):
    """A reading of the layer's Redis at a bounded cost."""

    layer: LayerDescription
    note: Annotated[str, "Why the layer's backend has nothing of this to read, if it has not."]
    truncated: Annotated[list[str], "Why the reading stopped short of every key (INSPECT_MAX_*)."]
    shards: list[ShardRead]


class QueueFigures(TypedDict):
    """A channel's queue (a sorted set) and its $inflight backup."""

    key: str
    shard: int
    depth_messages: int | None
    expired_messages: int | None
    capacity_messages: int
    fill_percent: float | None
    oldest_age_seconds: float | None
    inflight_messages: int | None
    inflight_oldest_age_seconds: float | None
    inflight_left_behind: Annotated[bool, "Its backup outlived the layer's expiry: its process is gone."]


class Member(TypedDict):
    """A member channel, and why Redis shows it as belonging to a process that is gone."""

    channel: str
    joined_age_seconds: float | None
    stale: Literal["expired", "inflight_left_behind", "not_drained"] | None


class GroupQueue(QueueFigures):
    """The queue some members of the group map to."""

    unreachable: Annotated[bool, "Its shard could not be read: its figures are null."]
    members: list[Member]
    stale_members: int


class MembersGroup(TypedDict):
    """A group (a sorted set of member channels) and the queues its members map to."""

    name: str
    key: str
    shard: int
    ttl_seconds: int | None
    members: int
    members_read: int
    stale_members: int
    queues: list[GroupQueue]


class GroupsSummary(TypedDict):
    """Over every group read, not only those shown."""

    groups: int
    members: int
    stale_members: int
    queues: int
    nearly_full_percent: float
    nearly_full_queues: int
    full_queues: int
    max_oldest_age_seconds: float | None


class SubscribersGroup(TypedDict):
    """A group of a pub/sub layer: a channel and its subscribers."""

    name: str
    shard: int
    subscribers: int


class SubscribersSummary(TypedDict):
    """Over every group of a pub/sub layer read."""

    groups: int
    subscribers: int


class GroupsDocument(Inspection):
    """The layer's groups matching ``pattern``, worst first."""

    generated_at: datetime
    pattern: str
    limit: int
    summary: GroupsSummary | SubscribersSummary
    groups: list[MembersGroup] | list[SubscribersGroup]


class RecentGroups(GroupsDocument):
    """The layer's groups matching ``pattern``, worst first, from a reading requests share."""

    age_seconds: Annotated[float, "Since the reading, which requests share (INSPECT_CACHE_SECONDS)."]


class LayerQueue(QueueFigures):
    """A channel's queue, its channel named without the layer's prefix."""

    channel: str
    kind: Literal["process", "plain"]
    receiver_shard: Annotated[int | None, "The shard its receiver reads (process channels)."]
    misplaced: Annotated[bool, "On another shard than its receiver reads."]


class QueuesSummary(TypedDict):
    """Over every queue read, not only those shown."""

    queues: int
    messages: int
    nearly_full_percent: float
    nearly_full_queues: int
    full_queues: int
    max_oldest_age_seconds: float | None
    misplaced_queues: int
    inflight_keys: int
    left_behind_inflight_keys: int


class LayerQueues(Inspection):
    """The channel layer's fullest queues as read now, and counts over all of them."""

    summary: QueuesSummary
    queues: list[LayerQueue]


def groups_document(query: dict) -> GroupsDocument:
    """``eventdebug groups --json``: ``query`` holds inspect_groups's keywords."""
    return inspect_groups(**query)


def recent_groups_document(query: dict) -> RecentGroups:
    """GET channels/: groups_document of the configured layer, shared by the requests asking the
    same ``query`` within INSPECT_CACHE_SECONDS (recent.py), with its ``age``."""
    return recent_groups(**query)


def queues_document(query: dict) -> dict:
    """``eventdebug queues --json``: ``query`` holds inspect_queues's keywords."""
    return inspect_queues(**query)
