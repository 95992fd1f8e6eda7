import asyncio
import random

from channels.layers import get_channel_layer
from django.core.management.base import BaseCommand, CommandError

from awx_eventdebug.awx.tables import KINDS
from example_settings.awxschema.emit import emit_events


def counter_list(text: str) -> set[int]:
    try:
        return {int(item) for item in text.split(",") if item.strip()}
    except ValueError as exc:
        raise CommandError(f"--skip: {text!r} is not a comma-separated list of counters") from exc


class Command(BaseCommand):
    help = (
        "Send job event websocket messages as AWX's callback receiver does (group_send of "
        "internal.message to the job's group), for `eventdebug listen` and the dashboard's live "
        "gauge to receive."
    )

    def add_arguments(self, parser):
        parser.add_argument("--job", type=int, required=True, help="Job id (names the group).")
        parser.add_argument("--kind", choices=sorted(KINDS), default="job", help="Kind (default job).")
        parser.add_argument("--count", type=int, default=100, help="Events to send (default 100).")
        parser.add_argument("--start", type=int, default=1, help="First counter (default 1).")
        parser.add_argument("--skip", default="", help="Counters not to send, e.g. 5,6,9 (makes gaps).")
        parser.add_argument(
            "--drop", type=float, default=0.0, help="Fraction of counters left out at random (default 0)."
        )
        parser.add_argument(
            "--lag", type=float, default=0.0, help="Seconds between created and sending (default 0)."
        )
        parser.add_argument(
            "--lag-spread",
            type=float,
            default=0.0,
            help="Sigma of a lognormal lag whose median is --lag (default 0: every event exactly --lag).",
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for a repeatable run.")
        parser.add_argument(
            "--rate", type=float, default=None, help="Events per second (default: no pacing)."
        )
        parser.add_argument("--concurrency", type=int, default=1, help="group_sends in flight (default 1).")
        parser.add_argument("--layer", default="default", help="CHANNEL_LAYERS alias (default 'default').")

    def handle(self, *args, **options):
        if options["count"] < 1 or options["concurrency"] < 1:
            raise CommandError("--count and --concurrency must be at least 1")
        if options["rate"] is not None and options["rate"] <= 0:
            raise CommandError("--rate must be above 0")
        if options["lag"] < 0 or options["lag_spread"] < 0:
            raise CommandError("--lag and --lag-spread must be 0 or more")
        if not 0 <= options["drop"] < 1:
            raise CommandError("--drop must be a fraction in [0, 1)")
        layer = get_channel_layer(options["layer"])
        if layer is None:
            raise CommandError(f"no channel layer {options['layer']!r} in settings.CHANNEL_LAYERS")
        skip = counter_list(options["skip"])
        rng = random.Random(options["seed"])
        start = options["start"]
        counters = [
            c
            for c in range(start, start + options["count"])
            if c not in skip and rng.random() >= options["drop"]
        ]
        sent = asyncio.run(
            emit_events(
                layer,
                options["kind"],
                options["job"],
                counters,
                lag=options["lag"],
                lag_spread=options["lag_spread"],
                rng=rng,
                rate=options["rate"],
                concurrency=options["concurrency"],
            )
        )
        self.stdout.write(f"sent {sent} events to {KINDS[options['kind']].group_name(options['job'])}")
