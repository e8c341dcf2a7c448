"""
The hostile-files benchmark (docs/performance.md, "Hostile files"): how long reading each file of
``devtools.hostile_files`` takes, and how much memory, until it is refused or read. No database.
"""

import gc
import statistics
import time
import tracemalloc

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand

from devtools import hostile_files
from implementation.spreadsheets import UploadRefused, read_sheet

BUDGET_SECONDS = 2.0
BUDGET_MEGABYTES = 200


def read(data):
    """What reading ``data`` comes to: the first problem of its refusal, or how many rows it holds."""
    try:
        sheet = read_sheet(SimpleUploadedFile("hostile.xlsx", data))
    except UploadRefused as refused:
        return f"refused: {refused.problems[0]}"
    return f"read: {len(sheet.rows):,} rows"


class Command(BaseCommand):
    help = "Time reading each hostile workbook, and its peak memory."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=3, help="Timed reads of each file (default %(default)s).")

    def handle(self, *args, **options):
        files = {**hostile_files.CORPUS, **hostile_files.HARMLESS, "filled workbook (14,000 rows)": filled_workbook}
        over = []
        # The CPU column is what a read costs when the machine is busy with other work.
        self.stdout.write(f"{'file':32} {'size':>10} {'median s':>9} {'CPU s':>6} {'peak MB':>8}  outcome")
        for name, make in files.items():
            data = make()
            seconds, cpu = [], []
            for _ in range(options["runs"]):
                gc.collect()
                start, start_cpu = time.perf_counter(), time.process_time()
                outcome = read(data)
                seconds.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            # Measured apart: tracing every allocation slows the read it measures.
            gc.collect()
            tracemalloc.start()
            read(data)
            peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
            tracemalloc.stop()
            median, median_cpu = statistics.median(seconds), statistics.median(cpu)
            self.stdout.write(
                f"{name:32} {len(data):>10,} {median:>9.3f} {median_cpu:>6.3f} {peak:>8.1f}  {outcome[:80]}"
            )
            if median > BUDGET_SECONDS or peak > BUDGET_MEGABYTES:
                over.append(name)
        if over:
            self.stdout.write(f"Over budget ({BUDGET_SECONDS} s, {BUDGET_MEGABYTES} MB): {', '.join(over)}.")
        else:
            self.stdout.write(
                f"Within budget: every file took less than {BUDGET_SECONDS} s and {BUDGET_MEGABYTES} MB."
            )


def filled_workbook(rows=14_000):
    """A workbook of ``rows`` plausible rows, as large as a bulk import of every State gets."""
    return hostile_files.good_workbook(
        [
            "JAM",
            f"SALW-{number:05}",
            "Section",
            "Measure title",
            "Largely implemented",
            f"Marking law adopted in {2000 + number % 25}; import marking enforced at the ports, row {number}.",
            "",
            "Firearms Act",
            f"s. {number % 90}",
            f"https://laws.example.org/{number}",
            "2024-05-01",
        ]
        for number in range(rows)
    )
