"""Staying in a group: every daphne start deletes all ``asgi:*`` keys (AWX's awx/main/routing.py),
and channels_redis's group_send forgets members older than ``group_expiry``; either silently ends
a listener's membership. ``Membership.reassert`` checks that the listener is still a member of
each group, notes when it was not and why, and joins again (which also renews the member)."""

from __future__ import annotations

import time

from ..channels.connection import shard_queue
from ..timeutil import isoformat, utc_from_epoch

EVERY = 5.0  # seconds between checks
MAX_EVENTS = 20  # losses of membership kept for the report, the latest
# Why a membership was gone: the group's key was deleted (a daphne start, the key's expiry), or
# only our member was removed from it (group_send forgetting an old member, a ZREM).
GROUP_GONE = "group_gone"
MEMBER_REMOVED = "member_removed"


class Membership:
    def __init__(self):
        self.checks = 0
        self.lost = 0
        self.events: list[dict] = []

    async def reassert(self, layer, config, groups: list[str], channel: str) -> None:
        """Join every group again; first note each group ``channel`` was no longer in."""
        for group in groups:
            key = config.group_key(group)
            self.checks += 1
            async with shard_queue(layer, layer.consistent_hash(group)) as shard:
                if not await shard.is_member(key, channel):
                    why = MEMBER_REMOVED if await shard.exists(key) else GROUP_GONE
                    self.lost += 1
                    self.events.append(
                        {"group": group, "at": isoformat(utc_from_epoch(time.time())), "why": why}
                    )
                    del self.events[:-MAX_EVENTS]
            await layer.group_add(group, channel)

    def as_dict(self) -> dict:
        return {"checks": self.checks, "lost_count": self.lost, "events": list(self.events)}
