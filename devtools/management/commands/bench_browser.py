import os

from django.core.management.base import BaseCommand, CommandError

from devtools import browser
from devtools.dataset import BenchmarkError


class Command(BaseCommand):
    help = (
        "Load the overview, the four workshop regions and Jamaica's page in Chromium under Slow 4G (150 ms, "
        "1.6 Mbit/s down, 750 kbit/s up, CPU 4x slower), signed in as the benchmark's analyst, from the server "
        "at --url, which serves this database; print each page's DOM elements, bytes transferred, load event "
        "and Largest Contentful Paint against the targets (docs/performance.md). `make bench-browser` serves "
        "the benchmark dataset on loopback and runs it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="The server's address, e.g. http://127.0.0.1:8000.")
        parser.add_argument("--runs", type=int, default=browser.DEFAULT_RUNS, help="Loads of each page.")

    def handle(self, *args, **options):
        if options["runs"] < 1:
            raise CommandError("Give at least one run.")
        before = os.getloadavg()
        try:
            results = browser.measure_in_browser(options["url"].rstrip("/"), runs=options["runs"])
        except BenchmarkError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("\n".join(browser.format_results(results, load=(before, os.getloadavg()))))
