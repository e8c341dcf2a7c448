import datetime as dt

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from devtools import benchmark, dataset
from devtools import report as report_text


class Command(BaseCommand):
    help = (
        "Time the dashboard pages (first views, repeat views from the cache, 304 revalidations) against a "
        "signed-in page with an empty body, for an analyst and a focal point, then change a rating through the "
        "workflow and fail if the next view does not show it (docs/performance.md). PostgreSQL only. "
        "On a database without ratings it first loads the reference data and builds a made-up "
        "dataset: both ratings of every State and current measure, and 1.5 million history rows. A database "
        "holding ratings the benchmark did not make is refused unless --reuse is given, and then measured as it "
        "is, with nothing added. `make bench` runs it on a throwaway PostgreSQL cluster."
    )

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=benchmark.DEFAULT_RUNS, help="Timed requests per page.")
        parser.add_argument("--warmups", type=int, default=benchmark.DEFAULT_WARMUPS, help="Untimed requests first.")
        parser.add_argument(
            "--budget",
            type=float,
            default=benchmark.DEFAULT_BUDGET,
            help=f"Seconds after which a page's series of timings stops early (at least {benchmark.MIN_RUNS} runs).",
        )
        parser.add_argument(
            "--as-of",
            type=dt.date.fromisoformat,
            help=f"The date of the 'as of' pages (default: {benchmark.AS_OF_DAYS_BACK} days ago).",
        )
        parser.add_argument(
            "--history-rows",
            type=int,
            default=dataset.DEFAULT_HISTORY_ROWS,
            help="History rows of a new dataset (default %(default)s).",
        )
        parser.add_argument("--seed", type=int, default=dataset.DEFAULT_SEED, help="Seed of a new dataset.")
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="Measure a database that holds other ratings, as it is, without adding any data.",
        )
        parser.add_argument("--build-only", action="store_true", help="Build the dataset, then stop.")
        parser.add_argument(
            "--floors",
            action="store_true",
            help="Also time each page's raw SQL (its cells, no ORM) plus json.dumps, for information.",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                f"bench_dashboards needs PostgreSQL, and this database is {connection.vendor}. Run `make bench`, "
                "which starts a throwaway cluster, or set DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/NAME "
                "to an empty database."
            )
        made, other = dataset.existing_ratings()
        if other and not options["reuse"]:
            raise CommandError(
                f"This database holds {other} ratings the benchmark did not make. Rather than add made-up ratings "
                "and history to it, bench_dashboards stops. Point DATABASE_URL at an empty database (or run "
                "`make bench`), or pass --reuse to measure this data as it is, adding nothing."
            )
        try:
            if made:
                self.stdout.write(f"Using the benchmark dataset already here ({made} ratings).")
            elif not other:
                call_command("load_reference_data", stdout=self.stdout)
                summary = dataset.build_dataset(history_rows=options["history_rows"], seed=options["seed"])
                for table, pages, visible in dataset.settle():
                    self.stderr.write(
                        f"Warning: {table} has {pages - visible} of {pages} pages not yet visible to all after "
                        "repeated VACUUMs (another transaction was open): reads of it may be slower than in use."
                    )
                self.stdout.write(
                    f"Built {summary.ratings} ratings with {summary.history_rows} history rows, "
                    f"{summary.assessments} assessments, {summary.recommendations} recommendations and "
                    f"{summary.assistance_needs} assistance needs in {summary.seconds:.0f} s."
                )
            if options["build_only"]:
                return
            report = benchmark.measure_pages(
                runs=options["runs"],
                warmups=options["warmups"],
                as_of=options["as_of"],
                budget=options["budget"],
                floors=options["floors"],
            )
        except benchmark.BenchmarkError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("\n".join(report_text.format_report(report)))
        if report.stale:
            raise CommandError(
                "A page did not show a change made through the workflow just before: " + " ".join(report.stale)
            )
