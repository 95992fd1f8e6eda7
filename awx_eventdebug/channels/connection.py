"""One shard connection of a channels_redis layer, the same on every supported channels_redis.

channels_redis 4 answers ``layer.connection(index)`` with a redis-py asyncio client; channels_redis
3.4 (AWX 24.6.1) with a context manager lending an aioredis 1.3 connection, whose replies have other
shapes and whose errors are not redis-py's. ``shard_queue`` is the one place that tells them apart;
everything past it sees a ``ShardQueue``.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import redis

try:  # only beside channels_redis 3
    from aioredis import RedisError as AioredisError
except ImportError:
    AioredisError = redis.RedisError

CONNECTION_ERRORS = (redis.RedisError, AioredisError, OSError)


class ShardQueue:
    """The commands the live probe needs on a shard (its queue, its groups' keys), with redis-py's
    reply shapes."""

    def __init__(self, connection):
        self._connection = connection

    async def pop(self, key: str, count: int) -> list[bytes]:
        """Up to ``count`` members of the lowest scores, taken off the queue."""
        return [member for member, _score in await self._connection.zpopmin(key, count)]

    async def wait_pop(self, key: str, timeout: float) -> bytes | None:
        """One member, waiting up to ``timeout`` seconds for it; None when none came."""
        popped = await self._connection.bzpopmin(key, timeout=timeout)
        return popped[1] if popped else None

    async def depth(self, key: str) -> int:
        return await self._connection.zcard(key)

    async def delete(self, key: str) -> None:
        await self._connection.delete(key)

    async def is_member(self, key: str, member: str) -> bool:
        return await self._connection.zscore(key, member) is not None

    async def exists(self, key: str) -> bool:
        return bool(await self._connection.exists(key))


class AioredisShardQueue(ShardQueue):
    """aioredis 1.3: ZPOPMIN answers a flat [member, score, ...] list, and bzpopmin() takes whole
    seconds only, so BZPOPMIN goes through execute() to keep sub-second waits."""

    async def pop(self, key: str, count: int) -> list[bytes]:
        return (await self._connection.zpopmin(key, count))[::2]

    async def wait_pop(self, key: str, timeout: float) -> bytes | None:
        popped = await self._connection.execute(b"BZPOPMIN", key, timeout)
        return popped[1] if popped else None


@asynccontextmanager
async def shard_queue(layer, index: int):
    """A ShardQueue on shard ``index`` of ``layer`` for the duration of the block."""
    handle = layer.connection(index)
    if hasattr(handle, "zpopmin"):  # channels_redis 4: the client itself
        yield ShardQueue(handle)
        return
    async with handle as connection:  # channels_redis 3: a connection lent by the layer's pool
        yield AioredisShardQueue(connection)
