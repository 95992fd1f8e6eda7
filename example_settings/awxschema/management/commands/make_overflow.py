"""Make a small real channels_redis overflow, so that the demo's dashboard and `eventdebug overflow`
have rows to show: the app's capture handler (installed by the app as in AWX) records what
channels_redis logs, exactly as it would in AWX. The messages go to a key prefix of this command's
own, whose keys are deleted afterwards: the example project's channel layer is not touched."""

import asyncio
import uuid

import redis
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from awx_eventdebug.channels.config import load_layer
from awx_eventdebug.channels.redis_read import SCAN_COUNT, escape_glob
from awx_eventdebug.overflow.install import installed_handler
from example_settings.awxschema.models import JobEvent
from example_settings.awxschema.overflow import overflow_groups

CAPACITY = 10


class Command(BaseCommand):
    help = "Overflow a few channel layer groups for real, captured into the overflow table (demo data)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--messages", type=int, default=40, help="Messages sent to the first group (default 40)."
        )
        parser.add_argument(
            "--prefix", default="", help="Redis key prefix of the messages (default: a new random one)."
        )

    def handle(self, *args, **options):
        if options["messages"] < 1:
            raise CommandError("--messages must be at least 1")
        handler = installed_handler()
        if handler is None:
            raise CommandError("the overflow capture is off (EVENTDEBUG['CAPTURE']): nothing to record")
        # The websocket groups of the two latest seeded jobs, and AWX's broadcast group.
        jobs = list(JobEvent.objects.order_by("-job_id").values_list("job_id", flat=True).distinct()[:2])
        jobs += [1, 2][len(jobs) :]
        messages = options["messages"]
        sends = {
            f"job_events-{jobs[0]}": messages,
            "broadcast-group_send": max(1, messages // 2),
            f"job_events-{jobs[1]}": max(1, messages // 5),
        }
        prefix = options["prefix"] or f"eventdebug-demo-{uuid.uuid4().hex[:8]}:"
        hosts = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
        layer = RedisChannelLayer(hosts=hosts, prefix=prefix, capacity=CAPACITY)

        async def overflow():
            try:
                await overflow_groups(layer, sends)
            finally:
                await layer.close_pools()

        try:
            asyncio.run(overflow())
            self._delete_keys(prefix)
        except (redis.RedisError, OSError) as exc:
            raise CommandError(
                f"no demo overflow: Redis {load_layer().hosts[0].label} unreachable ({exc})"
            ) from exc
        if not handler.flush(timeout=10):
            raise CommandError("the captured overflow could not be written to the database")
        stats = handler.stats()
        self.stdout.write(
            f"{stats['parsed']} overflow records captured from channels_redis (queue capacity {CAPACITY}) "
            f"in groups {', '.join(sends)}"
        )

    def _delete_keys(self, prefix):
        for host in load_layer().hosts:
            client = host.client(timeout=5)
            keys = list(client.scan_iter(match=escape_glob(prefix) + "*", count=SCAN_COUNT))
            if keys:
                client.delete(*keys)
