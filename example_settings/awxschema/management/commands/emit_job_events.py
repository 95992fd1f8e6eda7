"""Send AWX-shaped job event messages over the channel layer, as AWX's callback receiver does for
each saved event, so the dashboard's live gauge has something to show outside AWX."""

import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta

from channels.layers import get_channel_layer
from django.core.management.base import BaseCommand, CommandError

from awx_eventdebug.event_tables import KINDS


def event_message(kind: str, job_id: int, counter: int, created: datetime) -> dict:
    """The group message: type internal.message, text the event as AWX serializes it."""
    event = {
        "group_name": KINDS[kind].group_prefix,
        kind: job_id,
        "counter": counter,
        "event": "runner_on_ok",
        "created": created.isoformat(),
        "modified": datetime.now(UTC).isoformat(),
    }
    return {"type": "internal.message", "text": json.dumps(event)}


class Command(BaseCommand):
    help = "Send job event messages to the websocket group of one job (for the dashboard's live gauge)."

    def add_arguments(self, parser):
        parser.add_argument("--job", type=int, required=True, help="Job id: the group is job_events-<id>.")
        parser.add_argument("--kind", choices=KINDS, default="job", help="Kind of job (default job).")
        parser.add_argument("--events", type=int, default=600, help="How many events (default 600).")
        parser.add_argument("--rate", type=float, default=20.0, help="Events per second (default 20).")
        parser.add_argument(
            "--lag", type=float, default=0.5, help="Median of now - created, in seconds (default 0.5)."
        )
        parser.add_argument(
            "--drop", type=float, default=0.01, help="Fraction of counters never sent (default 0.01)."
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for a repeatable run.")

    def handle(self, *args, **options):
        if options["events"] < 1 or options["rate"] <= 0 or options["lag"] < 0:
            raise CommandError("--events must be at least 1, --rate above 0 and --lag 0 or more")
        if not 0 <= options["drop"] < 1:
            raise CommandError("--drop must be a fraction in [0, 1)")
        layer = get_channel_layer()
        if layer is None:
            raise CommandError("settings.CHANNEL_LAYERS has no default layer to send on")
        sent = asyncio.run(self.send_events(layer, options))
        group = KINDS[options["kind"]].group_name(options["job"])
        self.stdout.write(f"sent {sent} of {options['events']} events to {group}")

    async def send_events(self, layer, options) -> int:
        rng = random.Random(options["seed"])
        group = KINDS[options["kind"]].group_name(options["job"])
        interval = 1.0 / options["rate"]
        start = time.monotonic()
        sent = 0
        for counter in range(1, options["events"] + 1):
            if rng.random() < options["drop"]:
                continue
            # Lognormal around the median: mostly near it, with a tail, as real lag is.
            lag = options["lag"] * rng.lognormvariate(0, 0.5)
            created = datetime.now(UTC) - timedelta(seconds=lag)
            await layer.group_send(group, event_message(options["kind"], options["job"], counter, created))
            sent += 1
            delay = start + counter * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        return sent
