import json
import sys

from django.core.management.base import BaseCommand, CommandError

from awx_eventdebug.awx.tables import KINDS
from awx_eventdebug.timeutil import parse_duration, parse_moment
from example_settings.awxschema.workload import PROFILES, WorkloadSpec, profile_names, seed_workload


class Command(BaseCommand):
    help = "Fill the stand-in AWX tables with generated jobs and job events (see workload.py)."

    def add_arguments(self, parser):
        parser.add_argument("--jobs", type=int, default=10, help="Jobs of each kind (default 10).")
        parser.add_argument("--events", type=int, default=1000, help="Events per job (default 1000).")
        parser.add_argument(
            "--kinds",
            default=",".join(KINDS),
            help=f"Comma-separated kinds (default all: {', '.join(KINDS)}).",
        )
        parser.add_argument(
            "--since", default="2h", help="Start of the time range: ISO 8601 or a duration ago (default 2h)."
        )
        parser.add_argument("--until", default=None, help="End of the time range (default now).")
        parser.add_argument(
            "--job-duration", default="5m", help="Time over which one job's events are spread (default 5m)."
        )
        parser.add_argument(
            "--profile",
            default="steady",
            help=f"Lag profiles, comma-separated, each the mark of one cause: {', '.join(PROFILES)} "
            "(default steady; see workload.py).",
        )
        parser.add_argument("--lag", type=float, default=0.5, help="Median lag in seconds (default 0.5).")
        parser.add_argument(
            "--peak", type=float, default=60.0, help="Peak lag of the backlog profile (default 60)."
        )
        parser.add_argument(
            "--missing-created", type=float, default=0.005, help="Fraction of events without created."
        )
        parser.add_argument(
            "--negative", type=float, default=0.001, help="Fraction of events with negative lag."
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed; the same seed gives the same rows."
        )
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, *args, **options):
        kinds = tuple(k.strip() for k in options["kinds"].split(",") if k.strip())
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise CommandError(f"--kinds: unknown kind {unknown[0]!r}; choose from {', '.join(KINDS)}")
        if options["jobs"] < 1 or options["events"] < 1:
            raise CommandError("--jobs and --events must be at least 1")
        if options["lag"] <= 0:
            raise CommandError("--lag must be greater than 0")
        try:
            profile_names(options["profile"])
            since = parse_moment(options["since"])
            until = parse_moment(options["until"]) if options["until"] else None
            duration = parse_duration(options["job_duration"]).total_seconds()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        spec = WorkloadSpec(
            kinds=kinds,
            jobs=options["jobs"],
            events=options["events"],
            since=since,
            job_duration=duration,
            profile=options["profile"],
            lag=options["lag"],
            peak=options["peak"],
            missing_created=options["missing_created"],
            negative=options["negative"],
            seed=options["seed"],
        )
        if until is not None:
            spec.until = until
        if spec.until <= spec.since:
            raise CommandError("--until must be later than --since")
        result = seed_workload(spec, progress=self._progress)
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        for kind, count in result.events.items():
            self.stdout.write(f"{kind:<17} {len(result.jobs[kind]):>6} jobs {count:>10} events")
        self.stdout.write(
            f"{sum(result.events.values())} events in {result.seconds:.1f} s"
            + (f", {result.partitions} hourly partitions" if result.partitions else "")
        )

    def _progress(self, done, total):
        if sys.stderr.isatty():
            sys.stderr.write(f"\rseeding: {done}/{total} events ({100 * done // total}%)")
            sys.stderr.flush()
