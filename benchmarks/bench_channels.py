"""Channel layer inspection at AWX scale: `eventdebug groups --json` against AWX's debugging guide.

On a redis-server of its own (so the shared one stays light), writes 10k groups x 5 members over
2k process queues (messages in every queue, some full), then times, in the same run:

- ours: `eventdebug groups --json` (SCAN + pipelined bounded reads), in this process;
- naive: what AWX's debugging guide does by hand - KEYS, then one round trip per key (ZRANGE 0 -1
  of each group, ZCOUNT -inf +inf of each queue).

Prints the best of --repeat alternating runs of each with the CPU this process and Redis spent
in it, the ratio, Python's peak memory (tracemalloc, in a run of its own) and the largest single
command time Redis logged (SLOWLOG, every command logged in that run only) for each. The first line gives this
host's speed (a fixed Python loop) so that figures of different hosts can be compared.

    python benchmarks/bench_channels.py [--groups 10000] [--members 5] [--queues 2000] [--repeat 3]
                                        [--rtt-ms 0.2] [--without-hiredis]

redis-py parses replies with hiredis when it is installed (AWX ships it); --without-hiredis hides
it from this process, to compare both (the first line printed says which parser ran).

--rtt-ms puts a proxy delaying each direction by half that round trip between both clients and
Redis: AWX's default Redis is a local unix socket (no such delay); a Redis across a network is not.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import socket
import sys
import threading
import time
import tracemalloc
from io import StringIO

if "--without-hiredis" in sys.argv:
    sys.modules["hiredis"] = None  # an import that fails: redis-py falls back to its Python parser

import redis  # noqa: E402 - after the parser is chosen
from common import redis_server, setup_django  # noqa: E402
from django.conf import settings
from django.core.management import call_command

PREFIX = "asgi"
CAPACITY = 100


def populate(client: redis.Redis, groups: int, members: int, queues: int) -> None:
    now = time.time()
    pipe = client.pipeline(transaction=False)
    for group in range(groups):
        channels = {
            f"specific.{(group * members + m) % queues:032x}!{group:08x}{m:024x}": now - group
            for m in range(members)
        }
        pipe.zadd(f"{PREFIX}:group:job_events-{group}", channels)
        pipe.expire(f"{PREFIX}:group:job_events-{group}", 86400)
        if group % 1000 == 999:
            pipe.execute()
    for process in range(queues):
        # Every tenth queue full, the others with a few messages.
        depth = CAPACITY if process % 10 == 0 else process % 7
        if depth:
            pipe.zadd(f"{PREFIX}specific.{process:032x}!", {f"m{n:012d}": now - n for n in range(depth)})
        if process % 200 == 199:
            pipe.execute()
    pipe.execute()


class LatencyProxy:
    """A TCP proxy in front of Redis that delivers every chunk ``rtt / 2`` seconds after it
    arrived, in each direction, like a network between AWX and its Redis (bandwidth is not
    limited: chunks in flight overlap). It runs in a process of its own so that its threads do
    not compete with the measured client for the GIL."""

    def __init__(self, target_port: int, rtt: float):
        self.target_port = target_port
        self.delay = rtt / 2
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def start(self) -> multiprocessing.Process:
        process = multiprocessing.Process(target=self._accept, daemon=True)
        process.start()
        return process

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, target in ((client, upstream), (upstream, client)):
                chunks: queue.Queue = queue.Queue()
                threading.Thread(target=self._read, args=(source, chunks), daemon=True).start()
                threading.Thread(target=self._deliver, args=(chunks, target), daemon=True).start()

    @staticmethod
    def _read(source: socket.socket, chunks: queue.Queue) -> None:
        while data := source.recv(1 << 16):
            chunks.put((time.monotonic(), data))
        chunks.put((time.monotonic(), b""))

    def _deliver(self, chunks: queue.Queue, target: socket.socket) -> None:
        while True:
            arrived, data = chunks.get()
            time.sleep(max(0.0, arrived + self.delay - time.monotonic()))
            if not data:
                target.close()
                return
            target.sendall(data)


def ours() -> int:
    out = StringIO()
    call_command("eventdebug", "groups", "--json", stdout=out)
    return len(out.getvalue())


def naive(client: redis.Redis) -> int:
    """The method of AWX's debugging guide: KEYS, then a round trip per key."""
    found = 0
    for key in client.keys(f"{PREFIX}*"):
        if key.startswith(f"{PREFIX}:group:".encode()):
            found += len(client.zrange(key, 0, -1, withscores=True))
        else:
            found += client.zcount(key, "-inf", "+inf")
    return found


def redis_cpu(client: redis.Redis) -> float:
    """CPU seconds the redis-server has used (user + system), from INFO."""
    info = client.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def measure(methods: dict, client: redis.Redis, repeat: int) -> dict:
    """Best wall time of each method over ``repeat`` rounds (the methods alternate, so load
    from other processes hits both alike), with the CPU seconds this process and Redis spent in
    that run; then one more run of each under tracemalloc (which slows Python down, so it is not
    timed) for its peak memory, and the slowest command Redis logged while it ran. Only that run
    logs every command: logging is work of its own for Redis, which a production Redis (slowlog
    at 10 ms) does not do."""
    results = {name: {"seconds": float("inf")} for name in methods}
    client.config_set("slowlog-log-slower-than", 10_000)
    for _ in range(repeat):
        for name, function in methods.items():
            redis_before, python_before = redis_cpu(client), time.process_time()
            started = time.perf_counter()
            function()
            seconds = time.perf_counter() - started
            if seconds < results[name]["seconds"]:
                results[name].update(
                    seconds=seconds,
                    python_cpu=time.process_time() - python_before,
                    redis_cpu=redis_cpu(client) - redis_before,
                )
    client.config_set("slowlog-log-slower-than", 0)
    client.config_set("slowlog-max-len", 1_000_000)
    for name, function in methods.items():
        client.slowlog_reset()
        tracemalloc.start()
        function()
        results[name]["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        log = [e for e in client.slowlog_get(10_000_000) if not e["command"].lower().startswith(b"slowlog")]
        slowest = max(log, key=lambda e: e["duration"])
        results[name]["slowest_ms"] = slowest["duration"] / 1000
        results[name]["slowest_command"] = slowest["command"].split()[0].decode()
    return results


def python_speed() -> float:
    """Seconds this host's Python takes for a fixed loop (best of 3): to compare figures measured
    on different hosts (a typical recent x86-64 core: about 0.4 s)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(10_000_000):
            total += number
        best = min(best, time.perf_counter() - started)
    return best


def print_measured(results: dict) -> None:
    """The results of measure(), a method per line."""
    width = max(map(len, results))
    print(
        f"{'method'.ljust(width)}  {'seconds':>8}  {'Python CPU':>10}  {'Redis CPU':>9}  {'peak MB':>8}  "
        "slowest command in SLOWLOG"
    )
    for name, r in results.items():
        slowest = f"{r['slowest_ms']:.3f} ms ({r['slowest_command']})"
        print(
            f"{name.ljust(width)}  {r['seconds']:8.3f}  {r['python_cpu']:10.3f}  {r['redis_cpu']:9.3f}  "
            f"{r['peak_mb']:8.1f}  {slowest}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10000)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--queues", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--rtt-ms", type=float, default=0.0, help="Network round-trip time to simulate (a delaying proxy)."
    )
    parser.add_argument("--without-hiredis", action="store_true", help="Parse replies in Python.")
    args = parser.parse_args()
    setup_django()
    from redis.utils import HIREDIS_AVAILABLE

    with redis_server() as port:
        client = redis.Redis(port=port)
        populate(client, args.groups, args.members, args.queues)
        proxy = None
        if args.rtt_ms:
            latency = LatencyProxy(port, args.rtt_ms / 1000)
            proxy, port = latency.start(), latency.port
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [url], "prefix": PREFIX, "capacity": CAPACITY},
            }
        }
        print(
            f"{args.groups} groups x {args.members} members over {args.queues} process queues; "
            f"{client.dbsize()} keys; {os.cpu_count()} cores; round trip +{args.rtt_ms} ms; "
            f"best of {args.repeat}; redis-py {redis.__version__}, parser "
            f"{'hiredis ' + sys.modules['hiredis'].__version__ if HIREDIS_AVAILABLE else 'Python'}; "
            f"this host's Python: {python_speed():.2f} s for a 10M-step loop",
            file=sys.stderr,
        )
        methods = {"ours (groups --json)": ours, "naive (KEYS + a round trip per key)": lambda: naive(client)}
        for function in methods.values():
            function()  # warm up: connections, imports, Redis's first touch of the keys
        results = measure(methods, client, args.repeat)
        client.close()
        if proxy is not None:
            proxy.terminate()

    print_measured(results)
    ours_s, naive_s = (r["seconds"] for r in results.values())
    print(f"ratio naive / ours: {naive_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
