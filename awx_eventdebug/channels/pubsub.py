"""A RedisPubSubChannelLayer's groups as Redis shows them: the layer keeps no groups or queues,
only pub/sub channels named after its groups, so what can be read is which group channels have
subscriber connections and how many (PUBSUB CHANNELS and PUBSUB NUMSUB).
"""

from __future__ import annotations

from .config import LayerConfig
from .redis_read import PIPELINE_BATCH, Budget, as_text, escape_glob, on_each_shard, require_some_shard


def inspect_subscribers(
    layer: LayerConfig, doc: dict, pattern: str, limit, timeout: float, budget: Budget
) -> dict:
    """``doc`` (inspect_groups's frame) filled with the groups matching ``pattern`` that have
    subscribers, most first, ``limit`` of them, and the summary over all of them."""
    group_prefix = f"{layer.prefix}__group__"
    match = escape_glob(group_prefix) + pattern

    def read(client, host):
        # PUBSUB CHANNELS walks the server's active channels, not its keyspace. It has no cursor
        # (Redis offers none for pub/sub): the reply is one name per subscribed group, small by
        # nature; the budget bounds what is asked about after it (docs/channels.md).
        names = [as_text(name) for name in client.pubsub_channels(match)]
        names = names[: budget.take_keys(len(names))]
        counts = {}
        for start in range(0, len(names), PIPELINE_BATCH):
            if budget.out_of_time():
                break
            counts.update(
                (as_text(n), c) for n, c in client.pubsub_numsub(*names[start : start + PIPELINE_BATCH])
            )
        return counts

    results = on_each_shard(layer, read, timeout)
    require_some_shard(results)
    groups = [
        {"name": name[len(group_prefix) :], "shard": r.host.index, "subscribers": count}
        for r in results
        for name, count in r.data.items()
    ]
    groups.sort(key=lambda g: (g["subscribers"], g["name"]), reverse=True)
    doc.update(
        note=layer.support.note,
        shards=[r.as_dict() for r in results],
        summary={"groups": len(groups), "subscribers": sum(g["subscribers"] for g in groups)},
        groups=groups[:limit],
        truncated=budget.truncated,
    )
    return doc
