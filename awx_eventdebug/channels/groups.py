"""The channel layer's groups as Redis holds them: members grouped by the process queue
group_send fills for them, the state of those queues, and members of processes that are gone.

Built for AWX scale (tens of thousands of groups): one command per group reads a page of members
(their scores come along but only the lowest is turned into a number, to see whether the group
has expired members), mapped to queues without a Python object per member beyond its name; join
times (ZMSCORE), the TTL and the per-queue details are read only for the groups shown, with
redis_read's bounded machinery.
A pub/sub layer's groups are read by pubsub.py instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .backends import MEMBERS, SUBSCRIBERS
from .config import LayerConfig
from .pubsub import inspect_subscribers
from .queues import (
    DEFAULT_LIMIT,
    QueueStats,
    inflight_left_behind,
    not_drained,
    queue_severity,
    read_queue_stats,
    summarize_queues,
)
from .redis_read import (
    Commands,
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
)

# Members read per round trip: one ZRANGE page.
MEMBER_PAGE = 500


@dataclass
class GroupRead:
    """One group key as read from its shard."""

    name: str
    shard: int
    count: int
    members: list[str]  # join order, up to the caps
    expired_count: int  # members past group_expiry (channels_redis prunes them at group_send)
    # Their names, up to a page; one shared empty set for the groups without (nearly all).
    expired: frozenset[str] | set[str] = frozenset()
    # Its distinct queue keys, each with the group's first member (join order) mapping to it.
    queues: dict[str, str] = field(default_factory=dict)


def read_groups(client, keys: list[str], name_start: int, shard: int, expired_until: int, budget) -> list:
    """GroupRead of ``keys`` (group keys on one shard): one pipelined command per group, more
    round trips only for groups bigger than a page or holding expired members.

    A page comes with its scores: members are in join order, so expired members (joined before
    ``expired_until``) are a prefix, and the first score tells whether a group has any."""
    groups = {}
    maybe_expired = []
    first_pages = pipelined(client, keys, lambda c, key: c.zrange_page(key, 0, MEMBER_PAGE - 1), budget)
    # Not a sorted set (not a group), or deleted since SCAN saw it: left out.
    pages = [(key, page) for key, (page,) in first_pages.items() if is_reply(page) and page[0]]
    granted = budget.take_members(sum(len(members) for _, (members, _) in pages))
    for key, (members, first_joined) in pages:
        kept = min(len(members), granted)
        granted -= kept
        groups[key] = GroupRead(key[name_start:], shard, len(members), members[:kept], 0)
        if first_joined <= expired_until:
            maybe_expired.append(key)

    full_pages = [key for key, group in groups.items() if group.count == MEMBER_PAGE]
    for key, (count,) in pipelined(client, full_pages, lambda pipe, key: pipe.zcard(key), budget).items():
        groups[key].count = count
        # Groups bigger than a page (broadcast groups) are read a page per round trip.
        members = groups[key].members
        while len(members) < count and not budget.out_of_time():
            commands = Commands()
            commands.zrange(key, len(members), len(members) + MEMBER_PAGE - 1)
            (page,) = execute(client, commands)
            granted = budget.take_members(len(page))
            members.extend(page[:granted])
            if granted < MEMBER_PAGE:
                break

    def expired_commands(commands, key):
        commands.zcount(key, "-inf", expired_until)
        commands.zrangebyscore(key, "-inf", expired_until, start=0, num=MEMBER_PAGE)

    for key, (count, names) in pipelined(client, maybe_expired, expired_commands, budget).items():
        if is_reply(count) and is_reply(names):
            groups[key].expired_count = count
            groups[key].expired = set(names)
    return list(groups.values())


def read_group_details(client, groups: list[GroupRead], group_key, budget) -> dict[str, tuple]:
    """TTL and members' join times of the groups shown: name -> (ttl, [score or None])."""
    members = {group.name: group.members for group in groups}

    def details_commands(pipe, name):
        pipe.ttl(group_key(name))
        if members[name]:
            pipe.zmscore(group_key(name), members[name])

    details = {}
    for name, (ttl, *scores) in pipelined(client, list(members), details_commands, budget).items():
        # ZMSCORE needs Redis 6.2; before that join times are unknown.
        scores = scores[0] if scores else []
        scores = scores if is_reply(scores) else [None] * len(members[name])
        details[name] = (ttl if is_reply(ttl) and ttl >= 0 else None, scores)
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

    def queue_key(self, channel: str) -> str:
        """LayerConfig.queue_key (prefix + channels' non_local_name) inlined: it runs for every
        member of every group, and the method calls cost more than the reading itself."""
        bang = channel.find("!")
        return self.layer.prefix + (channel[: bang + 1] if bang >= 0 else channel)

    def map_members(self, groups: list[GroupRead]) -> dict[int, list[str]]:
        """Each group's queues; the queue keys wanted on each shard, as group_send maps them.

        Built with dict() over reversed lists, so the first member (join order) and the first
        group win, at C speed: this runs once per member of every group."""
        for group in groups:
            backwards = group.members[::-1]
            group.queues = dict(zip(map(self.queue_key, backwards), backwards, strict=True))
        for group in reversed(groups):
            self.queues.update(group.queues)
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
            entry.update(depth=None, expired=None, fill=None, inflight=None)
        return entry

    def set_stats(self, stats: dict[str, QueueStats]) -> None:
        self.stats = stats
        self.behind = {
            key
            for key, queue in stats.items()
            if inflight_left_behind(queue.inflight_oldest, self.now, self.layer.expiry)
        }
        self.undrained = {
            key for key, queue in stats.items() if not_drained(queue.oldest, self.now, self.layer.expiry)
        }

    def stale_count(self, group: GroupRead) -> int:
        behind = self.behind | self.undrained
        if not behind:  # the usual case: every queue drained, no backup left behind
            return group.expired_count
        behind = behind.intersection(group.queues)
        if not behind:
            return group.expired_count
        return group.expired_count + sum(
            1 for m in group.members if m not in group.expired and self.queue_key(m) in behind
        )

    def stale_reason(self, group: GroupRead, channel: str, score: float | None) -> str | None:
        """Why Redis shows this member as belonging to a process that is gone (docs/channels.md)."""
        if channel in group.expired or (score is not None and score <= self.expired_until):
            return "expired"
        if self.queue_key(channel) in self.behind:
            return "inflight_left_behind"
        if self.queue_key(channel) in self.undrained:
            return "not_drained"
        return None

    @property
    def expired_until(self) -> int:
        # channels_redis prunes members scored up to int(now) - group_expiry.
        return int(self.now) - self.layer.group_expiry

    def severity(self, group: GroupRead) -> tuple:
        worst = max(map(self.severities.__getitem__, group.queues), default=(0.0, 0.0, 0))
        return (*worst[:2], self.stale_count(group), group.count)

    def group_doc(self, group: GroupRead, ttl: int | None, scores: list | None) -> dict:
        """The group as shown; ``scores`` are the members' join times (None: not read)."""
        scores = scores or [None] * len(group.members)
        by_queue: dict[str, list] = defaultdict(list)
        for channel, score in zip(group.members, scores, strict=True):
            by_queue[self.queue_key(channel)].append(
                {
                    "channel": channel,
                    "joined_age": age(self.now, score),
                    "stale": self.stale_reason(group, channel, score),
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
            "ttl": ttl,
            "members": group.count,
            "members_read": len(group.members),
            "stale_members": self.stale_count(group),
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
        "queues_over_80": 0,
        "queues_full": 0,
        "max_oldest_age": None,
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
    report.set_stats({key: stats for r in results for key, stats in r.data.items()})

    entries = report.entries()
    if reduce is not None:
        reduce(report, groups, entries)
    groups.sort(key=report.severity, reverse=True)
    shown = groups[:limit]

    def read_shard_details(client, host):
        mine = [group for group in shown if group.shard == host.index] if details else []
        return read_group_details(client, mine, layer.group_key, budget)

    results = on_each_shard(layer, read_shard_details, timeout, report.failed)
    ttl_and_scores = {name: detail for r in results for name, detail in r.data.items()}
    unread = (None, None)
    doc["groups"] = [report.group_doc(group, *ttl_and_scores.get(group.name, unread)) for group in shown]
    doc["shards"] = [r.as_dict() for r in results]
    summary.update(
        groups=len(groups),
        members=sum(group.count for group in groups),
        stale_members=sum(report.stale_count(group) for group in groups),
    )
    summarize_queues(summary, list(entries.values()))
    doc["truncated"] = budget.truncated
    return doc
