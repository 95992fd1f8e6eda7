"""The live probe behind ``eventdebug listen``: debug.js without a browser.

It joins a job's websocket group through the configured channel layer as one more consumer, so
it receives exactly what daphne hands to browsers, and measures lag = now - created for each
event with sub-second precision (debug.js rounds both times to whole seconds). It always leaves
the group on the way out, whether stopped by --duration, Ctrl-C, SIGTERM or a Redis error: a
member left behind would make channels_redis queue every later message of that group for a
consumer that is gone, until the group expires (about five years with AWX's settings).

Receiving: channels_redis's ``receive()`` makes four Redis round trips per message (backup-queue
cleanup script, BZPOPMIN, ZADD to the ``$inflight`` backup, ZPOPMIN of the backup), which tops
out below AWX's event rates (see docs/listen.md). The probe instead owns a layer instance of its
own (its own client prefix, so its process queue holds only its own channel's messages) and
drains that queue with one ZPOPMIN of up to BATCH messages per round trip, decoding them with the
layer's own ``deserialize``. It also never creates the ``$inflight`` key, which channels_redis
never expires.

Counter gaps are not all losses: AWX does not send every event. They are checked against the
stored events while listening and at the end (listen/gaps.py); only ``lost`` counts as loss. The
probe also checks that it is still in its groups, and joins again (live/membership.py).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack

from channels.layers import channel_layers

from ..awx.messages import awx_payload, broadcast_group, parse_created, relay_message
from ..channels.backends import BACKENDS
from ..channels.cleanup import CHANNEL_PREFIX
from ..channels.config import LayerConfig, load_layer
from ..channels.connection import CONNECTION_ERRORS, shard_queue
from ..channels.redis_read import describe_redis_error, ping_hosts, unreachable_message
from ..conf import get_config
from ..errors import Misconfigured, Unavailable
from ..timeutil import isoformat, utc_from_epoch
from . import membership
from .gaps import CHECK_EVERY, GapCheck
from .membership import Membership
from .stats import WINDOW, CounterGaps, LagStats

BATCH = 500  # messages taken per ZPOPMIN; bounds the memory of one batch
IDLE_WAIT = 0.25  # seconds BZPOPMIN blocks on an empty queue; bounds the reaction to a stop
MAX_STREAMS = 1000  # jobs whose counters are tracked at once (several only on a broadcast group)

STOP_DURATION = "duration"
STOP_INTERRUPTED = "interrupted"
STOP_TERMINATED = "terminated"
STOP_HANGUP = "hangup"  # the terminal went away (SSH session dropped)
STOP_ERROR = "error"
STOP_OUTPUT_CLOSED = "output_closed"  # whoever read the output went away (``listen | head``)


class ListenState:
    """Everything measured so far; fed one decoded layer message at a time."""

    def __init__(self, groups: list[str], window: int = WINDOW):
        self.groups = groups
        self.channel = ""
        self.lags = LagStats(window)
        self.counters: dict[str, CounterGaps] = {}
        self.received = 0
        self.needs_relay = 0  # copies sent on the job's own node, before AWX 22's relay
        self.skipped = {"not_awx": 0, "undecodable": 0, "no_created": 0, "untracked_counter": 0}
        self.started = time.time()
        self.queue = {"key": "", "depth_messages": None, "capacity_messages": None, "max_depth_messages": 0}
        self.gap_check = GapCheck()
        self.membership = Membership()
        self._interval_start = self.started
        self._interval_events = 0

    def handle(self, message, now: float) -> None:
        """Account for one message received at ``now`` (epoch seconds)."""
        self.received += 1
        if not isinstance(message, dict):
            self.skipped["undecodable"] += 1
            return
        payload, stream, why_not = awx_payload(message)
        if payload is None:
            self.skipped[why_not] += 1
            return
        if message.get("needs_relay"):
            self.needs_relay += 1
        created = parse_created(payload.get("created"))
        if created is None:
            self.skipped["no_created"] += 1
            return
        counter = payload.get("counter")
        if not isinstance(counter, int) or isinstance(counter, bool):
            counter = None
        self.lags.add(now - created, now, counter)
        self._interval_events += 1
        if counter is not None:
            gaps = self.counters.get(stream)
            if gaps is None:
                if len(self.counters) >= MAX_STREAMS:
                    self.skipped["untracked_counter"] += 1
                    return
                gaps = self.counters[stream] = CounterGaps()
            gaps.add(counter)

    def record_depth(self, depth: int) -> None:
        self.queue["depth_messages"] = depth
        self.queue["max_depth_messages"] = max(self.queue["max_depth_messages"], depth)

    def counter_figures(self) -> dict:
        totals = {"missing": 0, "gaps": 0, "late": 0, "duplicates": 0}
        for gaps in self.counters.values():
            for name in totals:
                totals[name] += getattr(gaps, name)
        highest = [gaps.highest for gaps in self.counters.values()]
        return {
            **totals,
            "highest": max(highest) if len(highest) == 1 else None,
            "jobs": len(highest),
            **self.gap_check.figures(totals["missing"]),
        }

    def _common(self, now: float) -> dict:
        figures = self.lags.window.figures()
        return {
            "groups": self.groups,
            "channel": self.channel,
            "elapsed_seconds": round(now - self.started, 3),
            "received_messages": self.received,
            "needs_relay_messages": self.needs_relay,
            "events": self.lags.count,
            "lag": {"last_seconds": self.lags.last, **figures.as_dict()} if figures else None,
            "peaks": {name: peak.as_dict() if peak else None for name, peak in self.lags.peaks.items()},
            "counters": self.counter_figures(),
            "skipped_messages": dict(self.skipped),
            "queue": dict(self.queue),
            "membership": self.membership.as_dict(),
        }

    def update(self, now: float) -> dict:
        """The figures now, and the event rate since the previous update."""
        span = now - self._interval_start
        rate = self._interval_events / span if span > 0 else 0.0
        self._interval_start, self._interval_events = now, 0
        return {
            "type": "update",
            "at": isoformat(utc_from_epoch(now)),
            **self._common(now),
            "rate_per_second": round(rate, 1),
        }

    def summary(self, now: float, stopped: str, error: str = "") -> dict:
        """The final figures of the run; ``stopped`` says why it ended."""
        elapsed = now - self.started
        return {
            "type": "summary",
            "stopped": stopped,
            "error": error or None,
            "started": isoformat(utc_from_epoch(self.started)),
            "ended": isoformat(utc_from_epoch(now)),
            **self._common(now),
            "rate_per_second": round(self.lags.count / elapsed, 1) if elapsed > 0 else 0.0,
            "overall": {
                "avg_seconds": self.lags.overall_avg,
                "max_seconds": self.lags.overall_max,
                "count": self.lags.count,
            },
        }


def redis_layer(alias: str | None) -> LayerConfig:
    """The layer ``alias`` if the listener can join its groups and its hosts are reachable."""
    config = load_layer(alias)
    if not config.support.listen:
        listenable = " or ".join(path for path, support in BACKENDS.items() if support.listen)
        raise Misconfigured(
            f"channel layer {config.alias!r} is {config.backend or 'without a BACKEND'}; listen needs "
            f"{listenable}, the layer AWX uses.",
            hint="Pass --layer with the alias of AWX's layer.",
        )
    down = [ping for ping in ping_hosts(config) if not ping.ok]
    if down:
        raise Unavailable("; ".join(unreachable_message(ping.host, ping.error) for ping in down))
    return config


class Listener:
    """One run of the probe: join, drain and measure, leave."""

    def __init__(
        self,
        config: LayerConfig,
        groups: list[str],
        *,
        duration: float | None = None,
        interval: float = 1.0,
        window: int = WINDOW,
        relay: bool = False,
        on_joined: Callable[[dict], None] | None = None,
        on_update: Callable[[dict], None] | None = None,
    ):
        self.config = config
        self.groups = groups
        self.duration = duration
        self.interval = interval
        self.relay = relay
        self.on_joined = on_joined
        self.on_update = on_update
        self.state = ListenState(groups, window)
        self.stop_reason = ""
        self.not_left: list[str] = []  # groups we could not leave (Redis gone at the end)
        self._stop: asyncio.Event | None = None
        self._channel = ""
        self._queue_key = ""
        self._queue = None  # the ShardQueue of our channel's queue, once created
        self._connections = AsyncExitStack()
        self._joined: list[str] = []
        self._relay_subscribed = False
        self._left_at = time.time()

    def stop(self, reason: str) -> None:
        """Ask the running probe to leave its groups and finish (safe from a signal handler)."""
        self.stop_reason = self.stop_reason or reason
        if self._stop is not None:
            self._stop.set()

    def run(self) -> dict:
        """Listen until stopped; the summary. Ctrl-C, SIGTERM and SIGHUP stop it normally."""
        return asyncio.run(self._main())

    async def _main(self) -> dict:
        self._stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        stops = (
            (signal.SIGINT, STOP_INTERRUPTED),
            (signal.SIGTERM, STOP_TERMINATED),
            (signal.SIGHUP, STOP_HANGUP),
        )
        for signum, reason in stops:
            try:
                loop.add_signal_handler(signum, self.stop, reason)
            except (ValueError, RuntimeError):
                pass  # not the main thread: the caller stops it with stop()
        # A layer instance of our own: a client prefix, hence a process queue, no one else uses.
        layer = channel_layers.make_backend(self.config.alias)
        error = ""
        try:
            await self._listen(layer)
        except CONNECTION_ERRORS as exc:
            error = describe_redis_error(exc)
            self.stop_reason = STOP_ERROR
        finally:
            await self._close(layer)
            await self.state.gap_check.finish(self.state.counters, self._left_at)
        summary = self.state.summary(time.time(), self.stop_reason or STOP_DURATION, error)
        summary["not_left"] = self.not_left
        summary["relay"] = (
            {"group": broadcast_group(), "unsubscribed": not self._relay_subscribed} if self.relay else None
        )
        return summary

    async def _listen(self, layer) -> None:
        channel = await layer.new_channel(CHANNEL_PREFIX)
        queue_name = layer.non_local_name(channel)
        self._channel, self._queue_key = channel, layer.prefix + queue_name
        self.state.channel = channel
        self._queue = await self._connections.enter_async_context(
            shard_queue(layer, layer.consistent_hash(queue_name))
        )
        state = self.state
        state.queue.update(key=self._queue_key, capacity_messages=layer.get_capacity(channel))
        for group in self.groups:
            await layer.group_add(group, channel)
            self._joined.append(group)
        if self.relay:
            await layer.group_send(broadcast_group(), relay_message("subscribe", self.groups, channel))
            self._relay_subscribed = True
        if self.on_joined:
            self.on_joined({"channel": channel, "groups": self.groups, "queue": dict(state.queue)})

        queue, key, stop = self._queue, self._queue_key, self._stop
        started = time.monotonic()
        deadline = started + self.duration if self.duration else None
        next_update = started + self.interval
        # group_send forgets members that joined more than group_expiry ago: re-joining renews.
        membership_every = min(membership.EVERY, layer.group_expiry / 2)
        next_membership = started + membership_every
        next_check = started + CHECK_EVERY
        while not stop.is_set():
            batch = await queue.pop(key, BATCH)
            if not batch:
                wait = min(IDLE_WAIT, max(next_update - time.monotonic(), 0.01))
                popped = await queue.wait_pop(key, wait)
                batch = [popped] if popped is not None else ()
            now = time.time()
            for member in batch:
                state.handle(_decode(layer, member), now)
            clock = time.monotonic()
            at_deadline = deadline is not None and clock >= deadline
            update_due = clock >= next_update
            # An update due at the deadline is still sent, and the summary gets the queue's
            # depth at the end even when the run is shorter than one interval.
            if update_due or at_deadline:
                state.record_depth(await queue.depth(key))
            if update_due:
                if clock >= next_membership and not at_deadline:
                    await state.membership.reassert(layer, self.config, self.groups, channel)
                    next_membership = clock + membership_every
                if clock >= next_check:
                    state.gap_check.start(state.counters)
                    next_check = clock + CHECK_EVERY
                next_update = clock + self.interval
                if self.on_update:
                    self.on_update(state.update(time.time()))
            if at_deadline:
                self.stop(STOP_DURATION)

    async def _close(self, layer) -> None:
        """Leave every joined group (and the relay) and delete our queue, each bounded by
        REDIS_TIMEOUT. A relay subscription left behind would make the task node forward the
        job's messages to this node for as long as the relay connection lives."""
        if self._relay_subscribed:
            message = relay_message("unsubscribe", self._joined, self._channel)
            if await _bounded(layer.group_send(broadcast_group(), message)):
                self._relay_subscribed = False
        for group in self._joined:
            if not await _bounded(layer.group_discard(group, self._channel)):
                self.not_left.append(group)
        self._left_at = time.time()
        if self._queue is not None:
            # What reached the queue before we left counts as received.
            await _bounded(self._drain_rest(layer))
            await _bounded(self._queue.delete(self._queue_key))
        await _bounded(self._connections.aclose())
        await _bounded(layer.close_pools())

    async def _drain_rest(self, layer) -> None:
        while batch := await self._queue.pop(self._queue_key, BATCH):
            now = time.time()
            for member in batch:
                self.state.handle(_decode(layer, member), now)


def _decode(layer, member):
    try:
        return layer.deserialize(member)
    except Exception:  # noqa: BLE001 - any corrupt or undecryptable entry is skipped
        return None


async def _bounded(operation) -> bool:
    """Await a Redis operation for at most REDIS_TIMEOUT; False when Redis failed or hung."""
    try:
        await asyncio.wait_for(operation, get_config()["REDIS_TIMEOUT"])
    except (TimeoutError, *CONNECTION_ERRORS):
        return False
    return True
