"""The cost of one path sample on a busy node: `eventdebug sample` against the `groups` read alone.

On a redis-server of its own, writes the channel layer of bench_channels.py (10k groups x 5
members over 2k process queues) and a callback queue of 100k AWX-shaped events (RPUSHed as
CallbackQueueDispatcher does, pipelined here for speed), then times, in the same run:

- sample: take_sample(), what the in-process sampler and `eventdebug sample` run: one pipelined
  LLEN + LINDEX 0 + GET, the channel layer's queue read (SCAN + pipelined bounded reads), AWX's
  instance table, and the snapshot written (SQLite here);
- its own reads alone: the one pipelined LLEN + LINDEX 0 + GET that hops 3 and 6 add;
- groups alone: `eventdebug groups --json`, the existing read of every group and its queues.

Prints the best of --repeat alternating runs of each, Python's peak memory and the largest single
command time Redis logged (SLOWLOG, every command logged in that run only) for each.

    python benchmarks/bench_path.py [--groups 10000] [--events 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta

import redis
from bench_channels import CAPACITY, PREFIX, measure, ours, populate, print_measured
from common import redis_server, setup_django
from django.conf import settings

CALLBACK_QUEUE = "callback_tasks"


def awx_event(created: datetime, counter: int) -> str:
    """A runner_on_ok event as CallbackQueueDispatcher serializes it (about 1 kB)."""
    return json.dumps(
        {
            "uuid": f"{counter:08x}-4bc9-4d58-998d-5803982df6c8",
            "counter": counter,
            "stdout": '\u001b[0;32mok: [h2] => {"changed": false, "ping": "pong"}\u001b[0m',
            "start_line": counter * 4,
            "end_line": counter * 4 + 4,
            "runner_ident": "14",
            "event": "runner_on_ok",
            "job_id": 14,
            "pid": 19777,
            "created": created.isoformat(),
            "event_data": {
                "playbook": "site.yml",
                "playbook_uuid": "301ac7e3-76ce-4159-b675-fee65eac4e62",
                "task": "ping",
                "task_uuid": "02fc0000-0001-443d-9a93-000000000007",
                "task_action": "ping",
                "resolved_action": "ansible.builtin.ping",
                "host": "h2",
                "res": {"ping": "pong", "invocation": {"module_args": {"data": "pong"}}, "changed": False},
                "start": created.isoformat(),
                "end": created.isoformat(),
                "duration": 0.44627,
            },
            "job_created": "2026-11-30 03:51:21.498070+00:00",
            "host_name": "h2",
            "host_id": 2,
        }
    )


def fill_callback_queue(client: redis.Redis, events: int) -> None:
    now = datetime.now(UTC)
    pipe = client.pipeline(transaction=False)
    for n in range(events):
        pipe.rpush(CALLBACK_QUEUE, awx_event(now - timedelta(seconds=(events - n) / 1000), n))
        if n % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10000)
    parser.add_argument("--events", type=int, default=100000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    from awx_eventdebug.path.collect import read_broker
    from awx_eventdebug.path.hop import NodeContext
    from awx_eventdebug.path.registry import hops
    from awx_eventdebug.path.sampler import take_sample

    with redis_server() as port:
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        populate(client, args.groups, 5, 2000)
        fill_callback_queue(client, args.events)
        settings.BROKER_URL = url
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [url], "prefix": PREFIX, "capacity": CAPACITY},
            }
        }
        piped = [hop for hop in hops() if hop.snapshot_key and not hop.reads_own]
        # A node name per run: each sample fills a slot of its own.
        nodes = (f"bench-{n}" for n in itertools.count())
        methods = {
            "sample (eventdebug sample)": lambda: take_sample(10, node=next(nodes)),
            "its own reads alone (LLEN + LINDEX 0 + GET)": lambda: read_broker(
                piped, {hop.key: NodeContext("bench", None, [], time.time()) for hop in piped}
            ),
            "groups alone (eventdebug groups --json)": ours,
        }
        print(
            f"{args.groups} groups x 5 members over 2000 process queues, "
            f"{client.llen(CALLBACK_QUEUE)} events queued "
            f"({client.memory_usage(CALLBACK_QUEUE) / 2**20:.0f} MB); {client.dbsize()} keys; "
            f"{os.cpu_count()} cores; best of {args.repeat}",
            file=sys.stderr,
        )
        for function in methods.values():
            function()  # warm up: connections, imports, Redis's first touch of the keys
        results = measure(methods, client, args.repeat)
        client.close()

    print_measured(results)


if __name__ == "__main__":
    main()
