"""The channel layer's groups as Redis holds them: members grouped by the process queue
group_send fills for them, the state of those queues, and members of processes that are gone.

Built for AWX scale (tens of thousands of groups): two commands per group read a page of members
without their scores and count the expired ones; members map to queues with one interned string
per process queue, not an object per member; join times (ZMSCORE), the TTL and the per-queue
details are read only for the groups shown, with redis_read's bounded machinery.
A pub/sub layer's groups are read by pubsub.py instead.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain

from .backends import MEMBERS, SUBSCRIBERS
from .config import LayerConfig
from .pubsub import inspect_subscribers
from .queues import (
    DEFAULT_LIMIT,
    NEARLY_FULL,
    QueueStats,
    inflight_left_behind,
    not_drained,
    queue_severity,
    read_queue_stats,
    summarize_queues,
)
from .redis_read import (
    age,
    begin_inspection,
    collection_paused,
    escape_glob,
    execute,
    is_reply,
    on_each_shard,
    pipelined,
    require_some_shard,
    scan_keys,
    ttl,
    zcard,
    zcount,
    zmscore,
    zrange,
)

# Members read per round trip: one ZRANGE page.
MEMBER_PAGE = 500


@dataclass(slots=True)
class GroupRead:
    """One group key as read from its shard."""

    name: str
    shard: int
    count: int
    # Join order, up to the caps. Scores are join times, so the expired members come first.
    members: list[str]
    expired_count: int  # members past group_expiry (channels_redis prunes them at group_send)
    # The queue key of each member: where group_send puts the group's messages for it.
    member_queues: list[str] = field(default_factory=list)
    stale_count: int = 0  # members of processes that are gone (GroupReport.set_stats)


def read_groups(client, keys: list[str], name_start: int, shard: int, expired_until: int, budget) -> list:
    """GroupRead of ``keys`` (group keys on one shard): two pipelined commands per group, more
    round trips only for groups bigger than a page.

    A page of members without their scores (Redis formats every score it returns: WITHSCORES
    doubled its CPU and this process's parsing), and the count of members joined before
    ``expired_until``, which channels_redis prunes: members come in join order, so those are the
    first ones, and no names need reading."""
    groups = {}
    first_page = (zrange(0, MEMBER_PAGE - 1), zcount("-inf", expired_until))
    # Not a sorted set (not a group), or deleted since SCAN saw it: left out.
    pages = [
        (key, members, expired)
        for key, (members, expired) in pipelined(client, keys, first_page, budget).items()
        if members and is_reply(members) and is_reply(expired)
    ]
    granted = budget.take_members(sum(len(members) for _, members, _ in pages))
    for key, members, expired in pages:
        count = len(members)
        if granted < count:
            members = members[:granted]
        granted -= len(members)
        groups[key] = GroupRead(key[name_start:], shard, count, members, expired)

    full_pages = [key for key, group in groups.items() if group.count == MEMBER_PAGE]
    for key, (count,) in pipelined(client, full_pages, (zcard(),), budget).items():
        groups[key].count = count
        # Groups bigger than a page (broadcast groups) are read a page per round trip.
        members = groups[key].members
        while len(members) < count and not budget.out_of_time():
            (page,) = execute(client, key, (zrange(len(members), len(members) + MEMBER_PAGE - 1),))
            if not is_reply(page):  # no longer a sorted set
                break
            granted = budget.take_members(len(page))
            members.extend(page[:granted])
            if granted < MEMBER_PAGE:
                break
    return list(groups.values())


def read_group_details(client, groups: list[GroupRead], group_key, budget) -> dict[str, tuple]:
    """TTL and members' join times of the groups shown: group key -> (ttl, [score or None])."""
    members = {group_key(group.name): group.members for group in groups}

    def details_reads(key):
        return (ttl(), zmscore(members[key])) if members[key] else (ttl(),)

    details = {}
    for key, (seconds, *scores) in pipelined(client, list(members), details_reads, budget).items():
        # ZMSCORE needs Redis 6.2; before that join times are unknown.
        scores = scores[0] if scores else []
        scores = scores if is_reply(scores) else [None] * len(members[key])
        details[key] = (seconds if is_reply(seconds) and seconds >= 0 else None, scores)
    return details


class GroupReport:
    """Groups and the queues their members map to, turned into the document."""

    def __init__(self, layer: LayerConfig, now: float):
        self.layer = layer
        self.now = now
        self.queues: dict[str, str] = {}  # every group's queue keys, each with its first member
        self.severities: dict[str, tuple] = {}  # queue key -> queue_severity() of its entry
        self.stats: dict[str, QueueStats] = {}
        self.behind: set[str] = set()  # queue keys whose $inflight backup was left behind
        self.undrained: set[str] = set()  # queue keys nobody receives from (queues.not_drained)
        self.failed: dict[int, str] = {}

    def map_members(self, groups: list[GroupRead]) -> dict[int, list[str]]:
        """Each member's queue key, and the queue keys wanted on each shard, as group_send maps
        them: a process's queue is prefix + channels' non_local_name of the channel, inlined
        here (a method call per member of every group costs more than reading them)."""
        prefix = self.layer.prefix
        channels = list(chain.from_iterable(group.members for group in groups))
        # Up to and with the "!" of a process-specific name, else the whole name; interned, so
        # that the members of one process (all of a daphne's websockets) share one string.
        keys = list(map(sys.intern, (prefix + (c[: c.find("!") + 1] or c) for c in channels)))
        start = 0
        for group in groups:
            end = start + len(group.members)
            group.member_queues = keys[start:end]
            start = end
        # dict() over reversed lists: each queue's first member (join order, first group) wins.
        self.queues = dict(zip(reversed(keys), reversed(channels), strict=True))
        wanted: dict[int, list[str]] = defaultdict(list)
        for key, first in self.queues.items():
            wanted[self.layer.queue_shard(first)].append(key)
        return wanted

    def entries(self) -> dict[str, dict]:
        """Every queue's entry, and each queue's severity kept for severity()."""
        entries = {key: self.queue_entry(key, first) for key, first in self.queues.items()}
        self.severities = {key: queue_severity(entry) for key, entry in entries.items()}
        return entries

    def queue_entry(self, key: str, first_member: str) -> dict:
        shard = self.layer.queue_shard(first_member)
        # An absent key is an empty queue, unless its shard could not be read.
        stats = self.stats.get(key) or QueueStats(key, shard, 0, 0, None, 0, None)
        # group_send takes a queue's capacity from the first member (join order) mapping to it.
        entry = stats.entry(self.layer.capacity_for(first_member), self.now, self.layer.expiry)
        entry["unreachable"] = shard in self.failed
        if entry["unreachable"]:
            entry.update(
                depth_messages=None, expired_messages=None, fill_percent=None, inflight_messages=None
            )
        return entry

    def set_stats(self, stats: dict[str, QueueStats], groups: list[GroupRead]) -> None:
        """The queues' figures, and from them each group's stale_count."""
        self.stats = stats
        self.behind = {
            key
            for key, queue in stats.items()
            if inflight_left_behind(queue.inflight_oldest, self.now, self.layer.expiry)
        }
        self.undrained = {
            key for key, queue in stats.items() if not_drained(queue.oldest, self.now, self.layer.expiry)
        }
        gone = self.behind | self.undrained
        for group in groups:
            group.stale_count = group.expired_count
            # The usual case: every queue of the group drained, no backup left behind.
            if gone.isdisjoint(group.member_queues):
                continue
            # Of the members read, the expired ones come first and are counted already.
            group.stale_count += sum(1 for key in group.member_queues[group.expired_count :] if key in gone)

    def stale_reason(self, key: str, expired: bool) -> str | None:
        """Why Redis shows a member (of queue ``key``; ``expired``: past group_expiry) as
        belonging to a process that is gone (docs/channels.md)."""
        if expired:
            return "expired"
        if key in self.behind:
            return "inflight_left_behind"
        if key in self.undrained:
            return "not_drained"
        return None

    @property
    def expired_until(self) -> int:
        # channels_redis prunes members scored up to int(now) - group_expiry.
        return int(self.now) - self.layer.group_expiry

    def severity(self, group: GroupRead) -> tuple:
        worst = max(map(self.severities.__getitem__, group.member_queues), default=(0.0, 0.0, 0))
        return (*worst[:2], group.stale_count, group.count)

    def group_doc(self, group: GroupRead, ttl: int | None, scores: list | None) -> dict:
        """The group as shown; ``scores`` are the members' join times (None: not read)."""
        scores = scores or [None] * len(group.members)
        by_queue: dict[str, list] = defaultdict(list)
        rows = zip(group.members, group.member_queues, scores, strict=True)
        for index, (channel, key, score) in enumerate(rows):
            # The first expired_count members (join order) had expired when the page was read.
            expired = index < group.expired_count or (score is not None and score <= self.expired_until)
            by_queue[key].append(
                {
                    "channel": channel,
                    "joined_age_seconds": age(self.now, score),
                    "stale": self.stale_reason(key, expired),
                }
            )
        queues = []
        for key, members in by_queue.items():
            entry = self.queue_entry(key, members[0]["channel"])
            entry["members"] = members
            entry["stale_members"] = sum(1 for m in members if m["stale"])
            queues.append(entry)
        queues.sort(key=queue_severity, reverse=True)
        return {
            "name": group.name,
            "key": self.layer.group_key(group.name),
            "shard": group.shard,
            "ttl_seconds": ttl,
            "members": group.count,
            "members_read": len(group.members),
            "stale_members": group.stale_count,
            "queues": queues,
        }


@collection_paused()
def inspect_groups(
    alias: str | None = None,
    pattern: str = "*",
    limit: int | None = DEFAULT_LIMIT,
    timeout: float | None = None,
    details: bool = True,
    reduce=None,
) -> dict:
    """Groups whose name matches the glob ``pattern``, worst first, ``limit`` of them (None: all
    read), with a summary over every group read: the document of ``eventdebug groups --json``
    and ``GET channels/``. Without ``details`` the TTLs and join times (the one read proportional
    to the groups shown) are skipped: null in the document. ``reduce(report, groups, entries)``,
    when given, sees the whole reading (every GroupRead, every queue's entry) before the document
    keeps only ``limit`` groups of it: watch keeps what it needs without a document of every
    member."""
    layer, timeout, now, budget, doc = begin_inspection(alias, timeout, pattern=pattern, limit=limit)
    if layer.support.groups == SUBSCRIBERS:
        return inspect_subscribers(layer, doc, pattern, limit, timeout, budget)
    summary = {
        "groups": 0,
        "members": 0,
        "stale_members": 0,
        "queues": 0,
        "nearly_full_percent": NEARLY_FULL,
        "nearly_full_queues": 0,
        "full_queues": 0,
        "max_oldest_age_seconds": None,
    }
    doc.update(summary=summary, groups=[])
    if layer.support.groups != MEMBERS:
        doc["note"] = layer.support.note
        return doc
    report = GroupReport(layer, now)
    group_prefix = layer.group_key("")
    match = escape_glob(group_prefix) + pattern

    def read_shard_groups(client, host):
        keys = scan_keys(client, match, budget)
        return {
            "groups": read_groups(client, keys, len(group_prefix), host.index, report.expired_until, budget)
        }

    results = on_each_shard(layer, read_shard_groups, timeout)
    require_some_shard(results)
    report.failed = {r.host.index: r.error for r in results if r.error}
    groups = [group for r in results for group in r.data.get("groups", [])]
    wanted = report.map_members(groups)

    def read_shard_queues(client, host):
        return read_queue_stats(client, wanted[host.index], host.index, now, layer.expiry, budget)

    results = on_each_shard(layer, read_shard_queues, timeout, report.failed)
    report.failed.update((r.host.index, r.error) for r in results if r.error)
    report.set_stats({key: stats for r in results for key, stats in r.data.items()}, groups)

    entries = report.entries()
    if reduce is not None:
        reduce(report, groups, entries)
    groups.sort(key=report.severity, reverse=True)
    shown = groups[:limit]

    def read_shard_details(client, host):
        mine = [group for group in shown if group.shard == host.index] if details else []
        return read_group_details(client, mine, layer.group_key, budget)

    results = on_each_shard(layer, read_shard_details, timeout, report.failed)
    ttl_and_scores = {key: detail for r in results for key, detail in r.data.items()}
    unread = (None, None)
    doc["groups"] = [
        report.group_doc(group, *ttl_and_scores.get(layer.group_key(group.name), unread)) for group in shown
    ]
    doc["shards"] = [r.as_dict() for r in results]
    summary.update(
        groups=len(groups),
        members=sum(group.count for group in groups),
        stale_members=sum(group.stale_count for group in groups),
    )
    summarize_queues(summary, list(entries.values()))
    doc["truncated"] = budget.truncated
    return doc
