"""Make a real channels_redis overflow on the example project's own channel layer, so that the
demo shows what the tool is for: a slow consumer holding a group, its queue filling up to the
layer's capacity, and the messages channels_redis then drops to it, recorded by the app's capture
handler (installed by the app as in AWX) exactly as it would in AWX.

The group, its members and the full queue are left in Redis for ``--keep`` (they expire then), so
the dashboard, `eventdebug groups` and `eventdebug queues` show them after the command."""

import asyncio
import time

import redis
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from awx_eventdebug.channels.config import load_layer
from awx_eventdebug.overflow.install import installed_handler
from awx_eventdebug.timeutil import format_duration, parse_duration
from example_settings.awxschema.models import JobEvent
from example_settings.awxschema.overflow import slow_consumer

# Members of the group a previous run may have left: two per run.
MEMBERS_READ = 1000


class Command(BaseCommand):
    help = (
        "A slow consumer fills its queue on the default channel layer and channels_redis drops "
        "messages to it, captured into the overflow table (demo data)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--drops", type=int, default=50, help="Messages dropped once the queue is full (default 50)."
        )
        parser.add_argument(
            "--live-fill",
            type=int,
            default=500,
            help="Messages of the queue's capacity filled live, by group_send, before the drops "
            "(default 500). The slow consumer starts the rest behind: sent one by one, the "
            "layer's 10,000 would take a minute.",
        )
        parser.add_argument(
            "--keep",
            default="1h",
            help="How long the group and the full queue stay in Redis (default 1h; AWX's own "
            "messages expire after 60 s unless sent to again).",
        )

    def handle(self, *args, **options):
        for option in ("drops", "live_fill"):
            if options[option] < 1:
                raise CommandError(f"--{option.replace('_', '-')} must be at least 1")
        try:
            keep = parse_duration(options["keep"])
        except ValueError as exc:
            raise CommandError(f"--keep: {exc}") from exc
        handler = installed_handler()
        if handler is None:
            raise CommandError("the overflow capture is off (EVENTDEBUG['CAPTURE']): nothing to record")
        # The websocket group of the latest seeded job (job 1 when none is seeded).
        job = JobEvent.objects.order_by("-job_id").values_list("job_id", flat=True).first() or 1
        group = f"job_events-{job}"
        # Two processes of the layer the dashboard shows (its hosts, prefix and capacity); only
        # the expiries differ: the queue outlives the command, and the group (years, as AWX's)
        # goes with it.
        seconds = int(keep.total_seconds())
        config = {
            **settings.CHANNEL_LAYERS["default"].get("CONFIG", {}),
            "expiry": seconds,
            "group_expiry": seconds,
        }
        slow, healthy = RedisChannelLayer(**config), RedisChannelLayer(**config)

        def backlog(key, messages):
            # One ZADD, scored now as channels_redis scores a send; the key expires as --keep says.
            client = (
                load_layer().hosts[slow.consistent_hash(key.removeprefix(slow.prefix))].client(timeout=10)
            )
            client.zadd(key, dict.fromkeys(messages, time.time()))
            client.expire(key, seconds)

        def members(key):
            client = load_layer().hosts[slow.consistent_hash(group)].client(timeout=10)
            return [member.decode() for member in client.zrange(key, 0, MEMBERS_READ - 1)]

        async def overflow():
            try:
                # A demo run again within --keep starts afresh: the members the last one left (the
                # slow one's queue still full) leave the group, so its drops are not counted again.
                for channel in await asyncio.to_thread(members, slow._group_key(group)):
                    await slow.group_discard(group, channel)
                behind = max(0, slow.capacity - options["live_fill"])
                return await slow_consumer(slow, healthy, group, options["drops"], backlog, behind)
            finally:
                await slow.close_pools()
                await healthy.close_pools()

        try:
            run = asyncio.run(overflow())
        except (redis.RedisError, OSError) as exc:
            raise CommandError(
                f"no demo overflow: Redis {load_layer().hosts[0].label} unreachable ({exc})"
            ) from exc
        if not handler.flush(timeout=10):
            raise CommandError("the captured overflow could not be written to the database")
        self.stdout.write(
            f"{group}: a slow consumer reading 1 message in 10 filled its queue {run.queue} to "
            f"{run.depth:,} messages (the layer's capacity); channels_redis then dropped {run.dropped:,} "
            f"of the {run.sent:,} sent, captured into the overflow table. The group and the queue stay "
            f"for {format_duration(keep.total_seconds())}: `eventdebug groups`, `eventdebug queues`, "
            "the dashboard."
        )
