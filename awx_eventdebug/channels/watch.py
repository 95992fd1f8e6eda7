"""Repeated samples of the channel layer's groups, like the repeated ``zcount`` of AWX's
debugging guide: each sample gives every queue's depth and its fill (positive) or drain (negative)
rate per second since the previous sample, and the members that joined or left each group."""

from __future__ import annotations

import time
from collections.abc import Iterator

from .groups import inspect_groups
from .queues import DEFAULT_LIMIT

# Member names listed per group and sample; the counts are always exact.
MAX_NAMES = 20


def watch_samples(
    alias: str | None = None,
    pattern: str = "*",
    interval: float = 1.0,
    count: int | None = None,
    limit: int = DEFAULT_LIMIT,
    timeout: float | None = None,
) -> Iterator[dict]:
    """Yield one sample per ``interval`` seconds, ``count`` of them (None: until stopped).

    Each sample reads the groups matching ``pattern`` with the same bounds as inspect_groups.
    """
    previous = None
    taken = 0
    while count is None or taken < count:
        started = time.monotonic()
        doc = inspect_groups(alias, pattern, limit=None, timeout=timeout, details=False)
        current = (started, _depths(doc), _memberships(doc))
        yield _sample(taken + 1, doc, current, previous, limit)
        previous = current
        taken += 1
        if count is None or taken < count:
            time.sleep(max(0.0, interval - (time.monotonic() - started)))


def _depths(doc: dict) -> dict[str, dict]:
    """Each queue once, with its member channels of all its groups: a process queue is listed
    under every group one of its channels joined, each time with that group's members only."""
    queues: dict[str, dict] = {}
    for group in doc["groups"]:
        for queue in group["queues"]:
            entry = queues.setdefault(queue["key"], {**queue, "members": set()})
            entry["members"].update(member["channel"] for member in queue["members"])
    return queues


def _memberships(doc: dict) -> dict[str, set[str]]:
    return {
        group["name"]: {m["channel"] for queue in group["queues"] for m in queue["members"]}
        for group in doc["groups"]
    }


def _sample(number: int, doc: dict, current: tuple, previous: tuple | None, limit: int) -> dict:
    started, depths, memberships = current
    seconds = None if previous is None else round(started - previous[0], 3)
    queues = []
    for key, queue in depths.items():
        before = None if previous is None else previous[1].get(key)
        rate = None
        if seconds and before is not None and queue["depth"] is not None and before["depth"] is not None:
            rate = round((queue["depth"] - before["depth"]) / seconds, 1)
        queues.append(
            {
                "key": key,
                "shard": queue["shard"],
                "members": len(queue["members"]),
                "depth": queue["depth"],
                "capacity": queue["capacity"],
                "fill": queue["fill"],
                "oldest_age": queue["oldest_age"],
                "rate": rate,
            }
        )
    queues.sort(key=lambda q: (q["fill"] or 0.0, q["rate"] or 0.0, q["depth"] or 0), reverse=True)
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
