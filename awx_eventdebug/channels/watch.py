"""Repeated samples of the channel layer's groups, like the repeated ``zcount`` of AWX's
debugging guide: each sample gives every queue's depth and its fill (positive) or drain (negative)
rate per second since the previous sample, and the members that joined or left each group.
A sample that finds the layer's Redis unreachable (a restart) is retried each interval, for a
bounded time."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import Unavailable
from ..timeutil import isoformat, utc_from_epoch
from .groups import inspect_groups
from .queues import DEFAULT_LIMIT

# Member names listed per group and sample; the counts are always exact.
MAX_NAMES = 20
# Seconds watch retries samples that find Redis unreachable before it gives up: a restart or a
# failover takes seconds, a Redis down for a minute is a fault to report.
RETRY_FOR = 60.0


@dataclass(frozen=True)
class FailedSample:
    """A sample that could not read any shard of the layer ``layer``."""

    sample: int
    at: str
    layer: str
    error: str
    give_up_at: str  # when the failures in a row end the watch
    giving_up: bool  # this one ends it: the iterator raises Unavailable next


def watch_samples(
    alias: str | None = None,
    pattern: str = "*",
    interval: float = 1.0,
    count: int | None = None,
    limit: int = DEFAULT_LIMIT,
    timeout: float | None = None,
    retry_for: float = RETRY_FOR,
) -> Iterator[dict | FailedSample]:
    """Yield one sample per ``interval`` seconds, ``count`` of them (None: until stopped).

    Once a sample was read, one that finds no shard reachable is a FailedSample and the next is
    taken an interval later, as usual; a failure ``retry_for`` seconds or more after the first of
    the failures in a row is the last (``giving_up``), then Unavailable is raised. A first sample
    that fails raises at once: nothing was ever read, which is a wrong address, not a restart.

    Each sample reads the groups matching ``pattern`` with the same bounds as inspect_groups,
    and keeps of that reading only each queue's figures and each group's member names: memory
    per sample is the names read, not a document of every member (which held 0.4-0.67 GB on
    200,000 keys).
    """
    previous = None
    taken = 0
    failing_since = None  # (monotonic, epoch) of the first failure in a row
    read_alias = None  # the layer's alias as the samples read name it; None until one is read
    while count is None or taken < count:
        started = time.monotonic()
        taken += 1
        kept: dict = {"depths": {}, "memberships": {}}

        def reduce(report, groups, entries, kept=kept):
            members = defaultdict(set)
            for group in groups:
                for key, channel in zip(group.member_queues, group.members, strict=True):
                    members[key].add(channel)
            kept["depths"] = {key: {**entry, "members": len(members[key])} for key, entry in entries.items()}
            kept["memberships"] = {group.name: set(group.members) for group in groups}

        try:
            doc = inspect_groups(alias, pattern, limit=0, timeout=timeout, details=False, reduce=reduce)
        except Unavailable as exc:
            if read_alias is None:
                raise
            now = time.time()
            failing_since = failing_since or (started, now)
            failed = FailedSample(
                taken,
                isoformat(utc_from_epoch(now)),
                read_alias,
                exc.message,
                give_up_at=isoformat(utc_from_epoch(failing_since[1] + retry_for)),
                giving_up=started - failing_since[0] >= retry_for,
            )
            yield failed
            if failed.giving_up:
                raise Unavailable(
                    f"{exc.message.rstrip('.')}; watch gave up after retrying for {retry_for:g} s",
                    hint=exc.hint,
                ) from exc
        else:
            failing_since = None
            read_alias = doc["layer"]["alias"]
            current = (started, kept["depths"], kept["memberships"])
            yield _sample(taken, doc, current, previous, limit)
            previous = current
        if count is None or taken < count:
            time.sleep(max(0.0, interval - (time.monotonic() - started)))


def _sample(number: int, doc: dict, current: tuple, previous: tuple | None, limit: int) -> dict:
    started, depths, memberships = current
    seconds = None if previous is None else round(started - previous[0], 3)
    queues = []
    for key, queue in depths.items():
        before = None if previous is None else previous[1].get(key)
        rate = None
        if (
            seconds
            and before is not None
            and queue["depth_messages"] is not None
            and before["depth_messages"] is not None
        ):
            rate = round((queue["depth_messages"] - before["depth_messages"]) / seconds, 1)
        queues.append(
            {
                "key": key,
                "shard": queue["shard"],
                "members": queue["members"],
                "depth_messages": queue["depth_messages"],
                "capacity_messages": queue["capacity_messages"],
                "fill_percent": queue["fill_percent"],
                "oldest_age_seconds": queue["oldest_age_seconds"],
                "rate_per_second": rate,
            }
        )
    queues.sort(
        key=lambda q: (q["fill_percent"] or 0.0, q["rate_per_second"] or 0.0, q["depth_messages"] or 0),
        reverse=True,
    )
    return {
        "sample": number,
        "at": doc["generated_at"],
        "seconds": seconds,
        "layer": doc["layer"]["alias"],
        "pattern": doc["pattern"],
        "note": doc["note"],
        "truncated": doc["truncated"],
        "shards": doc["shards"],
        "summary": doc["summary"],
        "queues": queues[:limit],
        "membership": [] if previous is None else _membership_changes(previous[2], memberships),
    }


def _membership_changes(before: dict[str, set[str]], after: dict[str, set[str]]) -> list[dict]:
    changes = []
    for group in sorted(before.keys() | after.keys()):
        old, new = before.get(group, set()), after.get(group, set())
        joined, left = sorted(new - old), sorted(old - new)
        if joined or left:
            changes.append(
                {
                    "group": group,
                    "members": len(new),
                    "joined_count": len(joined),
                    "left_count": len(left),
                    "joined": joined[:MAX_NAMES],
                    "left": left[:MAX_NAMES],
                }
            )
    return changes
