"""Can `eventdebug listen` keep up with AWX's event rates? Measured against baselines, same run.

Run from the repository root:  python benchmarks/bench_listen.py [--messages 20000] [--senders 2]

Everything goes through a real channels_redis RedisChannelLayer on the real Redis
(EVENTDEBUG_REDIS_URL, default redis://127.0.0.1:6379/0) under a prefix of the run's own, whose
keys are deleted at the end. Messages are AWX's (example_settings/awxschema/emit.py), sent with
group_send by sender processes. Three receivers are compared:

- ``receive()``: a bare loop over channels_redis's own ``layer.receive(channel)``, which is what
  a consumer does; no decoding, no statistics;
- ``raw drain``: the probe's batched ZPOPMIN drain with ``deserialize`` but no JSON decoding and
  no statistics: the ceiling of the receiving strategy;
- ``listen``: the probe itself (awx_eventdebug.listen.listener.Listener), everything included.

Phase 1 (drain): the receiver joins, the senders fill its queue with N messages while it waits,
then it drains them: messages per second the receiver can take, independent of the senders.
Phase 2 (live, AWX's capacity 10000): the senders send N messages as fast as they can while the
receiver runs; a third process samples ZCARD of the receiver's queue every 2 ms. Reported: the
rate offered, whether everything arrived, and the deepest queue seen against capacity (the goal:
below 10% at 5,000 messages per second).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
import uuid

import redis
from channels_redis.core import RedisChannelLayer
from common import setup_django
from django.conf import settings

REDIS_URL = os.environ.get("EVENTDEBUG_REDIS_URL", "redis://127.0.0.1:6379/0")
JOB = 4242
GROUP = f"job_events-{JOB}"
AWX_CAPACITY = 10000
SPAWN = multiprocessing.get_context("spawn")
IDLE = 3  # seconds without a message after which a receiver stops: the rest was dropped
# Seconds a receiver waits for its first message: the sender processes start Python and Django
# first, which a loaded machine takes seconds to do.
FIRST_WAIT = 60


def layer_config(prefix: str, capacity: int) -> dict:
    return {"hosts": [REDIS_URL], "prefix": prefix, "capacity": capacity, "expiry": 300}


# -- the other processes ------------------------------------------------------------------------


def _send(prefix, capacity, counters, results):
    from example_settings.awxschema.emit import emit_events

    layer = RedisChannelLayer(**layer_config(prefix, capacity))
    started = time.perf_counter()
    sent = asyncio.run(emit_events(layer, "job", JOB, counters, concurrency=32))
    results.put((sent, started, time.perf_counter()))


def _paced_send(queue_key, prefix, rate, messages, results):
    """What group_send writes for each message (channels_redis's own serialize of AWX's message),
    written straight to the receiver's queue with one ZADD per 10 ms tick, paced at ``rate``: a
    sender that is not held back by group_send's ~250 us of Python per message."""
    from awx_eventdebug.timeutil import utc_from_epoch
    from example_settings.awxschema.emit import event_payload, layer_message

    layer = RedisChannelLayer(**layer_config(prefix, AWX_CAPACITY))
    channel = queue_key[len(prefix) :] + "bench"
    client = redis.Redis.from_url(REDIS_URL)
    per_tick = max(1, round(rate * 0.01))
    started = time.perf_counter()
    sent = 0
    while sent < messages:
        members = {}
        for counter in range(sent + 1, min(sent + per_tick, messages) + 1):
            payload = event_payload("job", JOB, counter, utc_from_epoch(time.time()))
            message = {**layer_message(payload), "__asgi_channel__": [channel]}
            members[layer.serialize(message)] = time.time()
        client.zadd(queue_key, members)
        sent += len(members)
        delay = started + sent / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    results.put((sent, started, time.perf_counter()))


class PacedSender:
    def __init__(self, queue_key: str, prefix: str, rate: float, messages: int):
        self.results = SPAWN.Queue()
        self.process = SPAWN.Process(
            target=_paced_send, args=(queue_key, prefix, rate, messages, self.results)
        )

    def start(self):
        self.process.start()

    def finish(self) -> float:
        sent, started, ended = self.results.get(timeout=600)
        self.process.join()
        return sent / (ended - started)


def _sample(queue_key, stop, results):
    client = redis.Redis.from_url(REDIS_URL)
    deepest = samples = 0
    while not stop.is_set():
        deepest = max(deepest, client.zcard(queue_key))
        samples += 1
        time.sleep(0.002)
    results.put((deepest, samples))


class Senders:
    """``count`` senders splitting the counters 1..messages between them."""

    def __init__(self, prefix: str, capacity: int, messages: int, count: int):
        self.results = SPAWN.Queue()
        self.processes = [
            SPAWN.Process(
                target=_send, args=(prefix, capacity, list(range(1 + i, messages + 1, count)), self.results)
            )
            for i in range(count)
        ]

    def start(self):
        for process in self.processes:
            process.start()

    def finish(self) -> float:
        """Wait for every sender; the rate they offered together (messages per second)."""
        reports = [self.results.get(timeout=600) for _ in self.processes]
        for process in self.processes:
            process.join()
        sent = sum(r[0] for r in reports)
        return sent / (max(r[2] for r in reports) - min(r[1] for r in reports))


class Sampler:
    def __init__(self, queue_key: str):
        self.stop, self.results = SPAWN.Event(), SPAWN.Queue()
        self.process = SPAWN.Process(target=_sample, args=(queue_key, self.stop, self.results))

    def start(self):
        self.process.start()

    def finish(self) -> tuple[int, int]:
        self.stop.set()
        deepest = self.results.get(timeout=60)
        self.process.join()
        return deepest


# -- the receivers --------------------------------------------------------------------------------


async def _bare(prefix, capacity, messages, on_joined, batched):
    """A receiver without statistics; (seconds from first to last message, messages)."""
    from awx_eventdebug.listen.listener import BATCH

    layer = RedisChannelLayer(**layer_config(prefix, capacity))
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    key = layer.prefix + layer.non_local_name(channel)
    on_joined(key)
    connection = layer.connection(0)
    received, first, last = 0, None, None
    while received < messages:
        if batched:
            batch = await connection.zpopmin(key, BATCH)
            if not batch:
                popped = await connection.bzpopmin(key, IDLE if first else FIRST_WAIT)
                if popped is None:
                    break
                batch = [popped[1:]]
            for member, _score in batch:
                layer.deserialize(member)
            received += len(batch)
        else:
            try:
                await asyncio.wait_for(layer.receive(channel), IDLE if first else FIRST_WAIT)
            except TimeoutError:
                break
            received += 1
        last = time.perf_counter()
        first = first or last
    elapsed = last - first
    await layer.group_discard(GROUP, channel)
    await connection.delete(key, key + "$inflight")
    await layer.close_pools()
    return elapsed, received


def bare_receiver(batched):
    def run(prefix, capacity, messages, on_joined):
        return asyncio.run(_bare(prefix, capacity, messages, on_joined, batched))

    return run


def listen_receiver(prefix, capacity, messages, on_joined):
    from awx_eventdebug.channels.config import load_layer
    from awx_eventdebug.listen.listener import STOP_DURATION, Listener

    settings.CHANNEL_LAYERS = {
        "bench": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": layer_config(prefix, capacity),
        }
    }
    marks = {"received": 0}

    def joined(info):
        on_joined(info["queue"]["key"])
        marks["start"] = marks["end"] = time.perf_counter()

    def update(report):
        now = time.perf_counter()
        if report["received_messages"] > marks["received"]:
            marks["received"], marks["end"] = report["received_messages"], now
        quiet = now - marks["end"] > (IDLE if marks["received"] else FIRST_WAIT)
        if report["received_messages"] >= messages or quiet:
            listener.stop(STOP_DURATION)

    listener = Listener(
        load_layer("bench"), [GROUP], duration=600, interval=0.02, on_joined=joined, on_update=update
    )
    summary = listener.run()
    return marks["end"] - marks["start"], summary["received_messages"]


RECEIVERS = {"receive()": bare_receiver(False), "raw drain": bare_receiver(True), "listen": listen_receiver}


# -- the phases -----------------------------------------------------------------------------------


def drain(name, receiver, messages, senders):
    """Fill the receiver's queue while it waits, then time how fast it empties it."""
    prefix = f"edbench-{uuid.uuid4().hex[:8]}"
    capacity = messages * 2
    client = redis.Redis.from_url(REDIS_URL)

    cpu = {}

    def joined(key):
        team = Senders(prefix, capacity, messages, senders)
        team.start()
        team.finish()
        assert client.zcard(key) == messages, "the queue should hold every message"
        cpu["start"] = time.process_time()

    try:
        elapsed, received = receiver(prefix, capacity, messages, joined)
        cpu_per_message = (time.process_time() - cpu["start"]) / received
    finally:
        cleanup(client, prefix)
    return received / elapsed, cpu_per_message


def live(name, receiver, messages, make_senders):
    """Senders running while the receiver runs; the deepest queue a third process saw.
    ``make_senders(prefix, queue_key)`` gives the sending side (started once the receiver joined)."""
    prefix = f"edbench-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL)
    parts = {}

    def joined(key):
        parts["sampler"] = Sampler(key)
        parts["sampler"].start()
        parts["senders"] = make_senders(prefix, key)
        parts["senders"].start()
        parts["cpu"] = time.process_time()

    try:
        elapsed, received = receiver(prefix, AWX_CAPACITY, messages, joined)
        busy = (time.process_time() - parts["cpu"]) / elapsed
        offered = parts["senders"].finish()
        deepest, samples = parts["sampler"].finish()
    finally:
        cleanup(client, prefix)
    return offered, received, deepest, samples, busy


def cleanup(client, prefix):
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument(
        "--receivers", default=",".join(RECEIVERS), help=f"Comma-separated subset of {', '.join(RECEIVERS)}."
    )
    parser.add_argument(
        "--phases", default="drain,live,paced", help="Comma-separated subset of drain,live,paced."
    )
    parser.add_argument("--rate", type=float, default=5000.0, help="Rate of the paced sender (phase 3).")
    args = parser.parse_args()
    setup_django()
    receivers = {name: RECEIVERS[name] for name in args.receivers.split(",")}
    phases = args.phases.split(",")
    print(f"{os.cpu_count()} CPUs, {args.messages} messages, {args.senders} sender processes", flush=True)

    if "drain" in phases:
        print("\nPhase 1: drain a full queue (messages/s the receiver takes)")
        baseline = None
        for name, receiver in receivers.items():
            rate, cpu = drain(name, receiver, args.messages, args.senders)
            baseline = baseline or rate
            print(
                f"  {name:<10} {rate:>9.0f}/s  x{rate / baseline:<6.1f} {next(iter(receivers))}  "
                f"CPU {cpu * 1e6:>5.0f} us/message",
                flush=True,
            )

    def group_senders(prefix, key):
        return Senders(prefix, AWX_CAPACITY, args.messages, args.senders)

    def paced_sender(prefix, key):
        return PacedSender(key, prefix, args.rate, args.messages)

    paced_title = f"Phase 3: live, one sender paced at {args.rate:.0f}/s writing what group_send writes"
    for phase, title, make_senders in (
        ("live", f"Phase 2: live, {args.senders} group_send senders", group_senders),
        ("paced", paced_title, paced_sender),
    ):
        if phase not in phases:
            continue
        print(f"\n{title}, capacity {AWX_CAPACITY} (10% = {AWX_CAPACITY // 10})")
        for name, receiver in receivers.items():
            if phase == "paced" and name == "receive()":
                # receive() routes by the member's exact channel name, which the paced sender does
                # not know; phase 2 already shows it falling behind below 5,000/s.
                continue
            offered, received, deepest, samples, busy = live(name, receiver, args.messages, make_senders)
            print(
                f"  {name:<10} offered {offered:>6.0f}/s  received {received}/{args.messages}  "
                f"deepest queue {deepest:>5} ({100 * deepest / AWX_CAPACITY:>4.1f}% of capacity, "
                f"{samples} samples)  receiver busy {100 * busy:.0f}% of a core",
                flush=True,
            )


if __name__ == "__main__":
    main()
