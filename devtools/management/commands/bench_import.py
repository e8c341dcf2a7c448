"""
The bulk import benchmark (docs/performance.md, "Bulk import"): every Member State × a
catalogue large enough for 14,000 rows, imported as new assessed ratings and then changed,
timed step by step and from upload to applied; then one State's spreadsheet confirmed as
submissions. Everything it writes is rolled back at the end.
"""

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import random
import statistics
import time
from unittest import mock

import openpyxl
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from implementation import ratings, spreadsheets, workflow
from implementation.models import Rating, StagedUpload
from measures.models import Edition, Measure, Section
from states.models import MemberState, Role

TARGET_ROWS = 14_000
BUDGET_SECONDS = 5.0
# A State's spreadsheet: as many rows as the shipped catalogue has measures, confirmed within this.
STATE_ROWS = 71
STATE_BUDGET_SECONDS = 0.3
FOCAL_POINT = "bench-focal-point"
BENCH_MARK = "Benchmark data — "
ANALYST = "bench-importer"
# The confirmation above it again, writing as on databases other than PostgreSQL; for comparison, not budgeted.
ORM = "  the same through Django's bulk_create"


class _RollBack(Exception):
    """Raised at the end of the run so that nothing the benchmark wrote is kept."""


@dataclasses.dataclass
class Timing:
    """One step's wall-clock seconds and this process's CPU seconds, per run."""

    label: str
    seconds: list
    cpu: list
    queries: int | None = None
    note: str = ""
    budget: float | None = None

    def line(self):
        median = statistics.median(self.seconds)
        spread = f"{min(self.seconds):.2f}–{max(self.seconds):.2f}" if len(self.seconds) > 1 else "–"
        queries = "" if self.queries is None else f"{self.queries}"
        cpu = statistics.median(self.cpu)
        return f"{self.label:<50}{median:>8.2f}{spread:>12}{cpu:>8.2f}{queries:>9}  {self.note}"


class Clock:
    """Wall-clock and CPU time of what runs inside it: on a shared machine the two differ."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


class Command(BaseCommand):
    help = (
        "Time the bulk import of assessed ratings (docs/performance.md, 'Bulk import'): read, check and preview a "
        "file of every Member State × enough measures for 14,000 rows, as XLSX and as CSV, then confirm it, as new "
        "ratings and again as changes to them, and the whole from upload to applied; then a State's spreadsheet of 71 "
        "rows confirmed as submissions. PostgreSQL only. Loads the reference data if missing and adds a "
        "benchmark-only catalogue edition; everything is rolled back at the end. Fails if a confirmation or a file "
        "from upload to applied takes longer than --budget seconds, or a State's confirmation longer than "
        "--state-budget. `make bench-import` runs it on a throwaway PostgreSQL cluster."
    )

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=3, help="Timed runs of each step (default %(default)s).")
        parser.add_argument(
            "--rows", type=int, default=TARGET_ROWS, help="At least this many rows (default %(default)s)."
        )
        parser.add_argument("--states", type=int, help="Only the first N Member States (default: all).")
        parser.add_argument("--seed", type=int, default=2370, help="Seed of the made-up ratings.")
        parser.add_argument(
            "--budget",
            type=float,
            default=BUDGET_SECONDS,
            help="Seconds a confirmation, or a file from upload to applied, may take at most (median; default "
            "%(default)s).",
        )
        parser.add_argument(
            "--state-budget",
            type=float,
            default=STATE_BUDGET_SECONDS,
            help="Seconds confirming a State's spreadsheet may take at most (median; default %(default)s).",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                f"bench_import needs PostgreSQL, and this database is {connection.vendor}. Run `make bench-import`, "
                "which starts a throwaway cluster, or set DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/NAME."
            )
        if options["runs"] < 1:
            raise CommandError("--runs must be at least 1.")
        try:
            with transaction.atomic():
                timings = self._run(**options)
                raise _RollBack
        except _RollBack:
            pass
        slow = [t for t in timings if t.budget is not None and statistics.median(t.seconds) > t.budget]
        for timing in slow:
            self.stdout.write(
                f"Over budget: {timing.label.strip()} took {statistics.median(timing.seconds):.2f} s "
                f"(budget {timing.budget} s)."
            )
        if slow:
            raise CommandError(f"Over budget: {len(slow)} of the budgeted steps.")
        self.stdout.write(
            f"Within budget: every confirmation and every file from upload to applied took less than "
            f"{options['budget']} s, and a State's spreadsheet was confirmed in less than {options['state_budget']} s."
        )

    def _run(self, *, runs, rows, states, seed, budget, state_budget, **options):
        """Time each step; returns the ``Timing`` of each, printed as they come."""
        if not MemberState.objects.exists():
            call_command("load_reference_data", stdout=io.StringIO())
        members = list(MemberState.objects.order_by("iso3"))[: states or None]
        measures = _bench_edition(math.ceil(rows / len(members)))
        analyst = _analyst()
        rng = random.Random(seed)
        first = _ratings(members, measures, rng)
        second = _changed(first, rng)
        files = {"first.xlsx": _xlsx(first), "first.csv": _csv(first), "second.xlsx": _xlsx(second)}
        version = connection.cursor().connection.info.server_version
        self.stdout.write(
            f"Bulk import benchmark: {len(first):,} rows ({len(members)} States × {len(measures)} measures), "
            f"{runs} run{'s' if runs != 1 else ''} of each step; PostgreSQL {version // 10000}.{version % 10000}, "
            f"openpyxl {openpyxl.__version__}.\n"
            f"Files: first.xlsx {_mb(files['first.xlsx'])}, first.csv {_mb(files['first.csv'])} "
            f"(limit {spreadsheets.MAX_UPLOAD_BYTES / 1024 / 1024:.0f} MB).\n\n"
            f"{'step':<50}{'median s':>8}{'min–max s':>12}{'CPU s':>8}{'queries':>9}"
        )

        def stage(name):
            return lambda: _staged(name, files[name], analyst)

        def whole(label, name):
            return _pipeline_timing(label, runs, stage(name), analyst, budget)

        timings = []
        for timed in (
            # Nothing assessed yet: every row is new.
            lambda: _timed("Read, check, compare, stage: XLSX, all new", runs, stage("first.xlsx")),
            lambda: _timed("Read, check, compare, stage: CSV, all new", runs, stage("first.csv")),
            lambda: _preview_timing(runs, stage("first.xlsx")(), analyst),
            lambda: _apply_timing("Confirm: all new", runs, stage("first.xlsx"), analyst, budget=budget),
            lambda: _apply_timing(ORM, runs, stage("first.xlsx"), analyst, orm=True),
            lambda: whole("Upload to applied: XLSX, all new", "first.xlsx"),
            lambda: whole("Upload to applied: CSV, all new", "first.csv"),
            # The first file imported for good, so that the next steps compare with it.
            lambda: _keep(stage("first.xlsx")(), analyst),
            lambda: _timed("Read, check, compare, stage: XLSX, all unchanged", runs, stage("first.xlsx")),
            lambda: _timed("Read, check, compare, stage: XLSX, all changed", runs, stage("second.xlsx")),
            lambda: _apply_timing("Confirm: all changed", runs, stage("second.xlsx"), analyst, budget=budget),
            lambda: _apply_timing(ORM, runs, stage("second.xlsx"), analyst, orm=True),
            lambda: whole("Upload to applied: XLSX, all changed", "second.xlsx"),
            # A State's own spreadsheet, confirmed by its focal point as submissions.
            lambda: _self_report_timing(runs, members[0], measures[:STATE_ROWS], analyst, rng, state_budget),
        ):
            result = timed()
            for timing in result if isinstance(result, list) else [result] if result else []:
                timings.append(timing)
                self.stdout.write(timing.line())
        self.stdout.write("\n" + _check(stage("second.xlsx")(), analyst))
        return timings


def _bench_edition(count):
    """A benchmark-only catalogue edition of ``count`` measures, made current (inside the rolled-back transaction)."""
    Edition.objects.filter(is_current=True).update(is_current=False)
    edition = Edition.objects.create(code="bench-import", title=f"{BENCH_MARK}import", is_current=True)
    section = Section.objects.create(edition=edition, code="Z", title=f"{BENCH_MARK}measures")
    return Measure.objects.bulk_create(
        Measure(
            edition=edition,
            section=section,
            code=f"BENCH-{number:03}",
            title=f"{BENCH_MARK}measure {number}",
            domain=Measure.Domain.CROSS_CUTTING,
            phase=Measure.Phase.BOTH,
            legislative=True,
            position=number,
        )
        for number in range(1, count + 1)
    )


def _analyst():
    user = get_user_model().objects.create_user(ANALYST, is_staff=True)
    Role.objects.create(user=user, kind=Role.Kind.ANALYST)
    return user


STATUSES = list(Rating.Status)


def _ratings(members, measures, rng):
    """One made-up row per State × measure."""
    return [
        {
            "State": state.iso3,
            "Code": measure.code,
            **_status(rng.choice(STATUSES)),
            "Explanation": _explanation(rng),
            "Source document": f"{BENCH_MARK}Firearms Act {2010 + rng.randint(0, 14)}",
            "Article or section": f"s. {rng.randint(1, 80)}",
            "Source URL": f"https://example.org/{state.iso3.lower()}/{measure.code.lower()}",
            "Source date": dt.date(2015 + rng.randint(0, 9), rng.randint(1, 12), rng.randint(1, 28)),
        }
        for state in members
        for measure in measures
    ]


def _changed(rows, rng):
    """``rows`` with every explanation rewritten and about half the statuses moved."""
    return [
        {**row, "Explanation": _explanation(rng), **(_status(rng.choice(STATUSES)) if rng.random() < 0.5 else {})}
        for row in rows
    ]


def _status(status):
    why = f"{BENCH_MARK}no such industry" if status == Rating.Status.NOT_APPLICABLE else ""
    return {"Status": str(status.label), "Why not applicable": why}


def _explanation(rng):
    return BENCH_MARK + " ".join(rng.choice(("law", "decree", "registry", "training", "audit")) for _ in range(12))


HEADERS = ["State", "Code", "Status", "Explanation", "Why not applicable", "Source document", "Article or section",
           "Source URL", "Source date"]  # fmt: skip


def _xlsx(rows):
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(spreadsheets.SHEET)
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row[header] for header in HEADERS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([row[header].isoformat() if header == "Source date" else row[header] for header in HEADERS])
    return buffer.getvalue().encode("utf-8-sig")


def _timed(label, runs, work):
    seconds, cpu = [], []
    for _ in range(runs):
        with Clock() as clock:
            staged = work()
        seconds.append(clock.wall)
        cpu.append(clock.cpu)
    summary = staged.summary
    kept = len(json.dumps(staged.rows).encode())
    note = (
        f"{summary['added']:,} added, {summary['changed']:,} changed, {summary['unchanged']:,} unchanged; "
        f"preview kept: {kept / 1e6:.1f} MB"
    )
    return Timing(label, seconds, cpu, note=note)


def _preview_timing(runs, staged, analyst):
    client = Client()
    client.force_login(analyst)
    url = reverse("bulk_import_preview", args=[staged.pk])
    timings = []
    # Static files by their plain names: the benchmark's checkout has not run collectstatic.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"], STORAGES=storages):
        for label, query in (("Preview page", ""), ("Preview's CSV of every change", "?format=csv")):
            seconds, cpu = [], []
            for _ in range(runs):
                with Clock() as clock:
                    # Over HTTPS, which production serves: without DEBUG, plain HTTP is only redirected.
                    response = client.get(url + query, secure=True)
                    content = response.content
                seconds.append(clock.wall)
                cpu.append(clock.cpu)
            if response.status_code != 200:
                raise CommandError(f"{label} answered {response.status_code}.")
            timings.append(Timing(label, seconds, cpu, note=_mb(content)))
    return timings


def _staged(name, content, by, *, state=None):
    """The file received and checked, as the background check does: ready to confirm."""
    kind = StagedUpload.Kind.ASSESSED if state is None else StagedUpload.Kind.SELF_REPORT
    staged = StagedUpload.objects.receive(kind=kind, state=state, file_name=name, content=content, by=by)
    staged.start_checking()
    return spreadsheets.stage(staged)


def _keep(staged, analyst):
    staged.confirm()
    spreadsheets.apply_assessed(staged, by=analyst)


def _apply_timing(label, runs, stage, analyst, orm=False, budget=None):
    """Time ``apply_assessed``; with ``orm``, writing through Django's bulk operations as on other databases."""
    seconds, cpu, queries, count = [], [], None, 0
    writer = ratings.write_orm if orm else ratings.write_postgresql
    for _ in range(runs):
        # Each run applies the same file to the same ratings, and is then undone.
        savepoint = transaction.savepoint_create()
        staged = stage()
        staged.confirm()
        with (
            mock.patch.object(ratings, "write_postgresql", writer),
            CaptureQueriesContext(connection) as captured,
            Clock() as clock,
        ):
            count = spreadsheets.apply_assessed(staged, by=analyst)
        seconds.append(clock.wall)
        cpu.append(clock.cpu)
        queries = len(captured)
        transaction.savepoint_rollback(savepoint)
    return Timing(label, seconds, cpu, queries, note=f"{count:,} ratings set, as many history rows", budget=budget)


def _pipeline_timing(label, runs, stage, analyst, budget):
    """Time ``stage_assessed`` and ``apply_assessed`` together: the analyst's file from upload to applied."""
    seconds, cpu, queries, count = [], [], None, 0
    for _ in range(runs):
        savepoint = transaction.savepoint_create()
        with CaptureQueriesContext(connection) as captured, Clock() as clock:
            staged = stage()
            staged.confirm()
            count = spreadsheets.apply_assessed(staged, by=analyst)
        seconds.append(clock.wall)
        cpu.append(clock.cpu)
        queries = len(captured)
        transaction.savepoint_rollback(savepoint)
    return Timing(
        label, seconds, cpu, queries, note=f"{count:,} ratings set; read, check, stage, apply", budget=budget
    )


def _self_report_timing(runs, state, measures, analyst, rng, budget):
    """
    Time ``apply_self_report`` for a State's spreadsheet of one row per measure of ``measures``, each changing
    the State's self-report, a tenth of them over a submission waiting for review.
    """
    focal_point = get_user_model().objects.create_user(FOCAL_POINT, is_staff=True)
    Role.objects.create(user=focal_point, kind=Role.Kind.FOCAL_POINT, state=state)
    reported = [status for status in STATUSES if status != Rating.Status.NOT_APPLICABLE]
    ratings.write_many(
        [
            (None, state.pk, measure.pk, {"status": rng.choice(reported), "explanation": _explanation(rng)})
            for measure in measures
        ],
        kind=Rating.Kind.SELF_REPORTED,
        by=analyst,
        at=timezone.now(),
        reason=f"{BENCH_MARK}self-report",
    )
    workflow.submit_many(
        state=state,
        by=focal_point,
        proposals=[
            workflow.Proposal(measure, {"status": rng.choice(reported), "explanation": _explanation(rng)})
            for measure in measures[: max(1, len(measures) // 10)]
        ],
    )
    file = _xlsx(_changed(_ratings([state], measures, rng), rng))
    seconds, cpu, queries, count = [], [], None, 0
    for _ in range(runs):
        savepoint = transaction.savepoint_create()
        staged = _staged("state.xlsx", file, focal_point, state=state)
        staged.confirm()
        with CaptureQueriesContext(connection) as captured, Clock() as clock:
            count = spreadsheets.apply_self_report(staged, by=focal_point)
        seconds.append(clock.wall)
        cpu.append(clock.cpu)
        queries = len(captured)
        transaction.savepoint_rollback(savepoint)
    replaced = max(1, len(measures) // 10)
    note = f"{count:,} submissions, {replaced:,} of them replacing one waiting"
    return Timing(f"Confirm a State's spreadsheet ({state.iso3})", seconds, cpu, queries, note=note, budget=budget)


def _check(staged, analyst):
    """Apply ``staged`` for good and check the history rows it wrote against the ratings before; a report line."""
    before = {
        (rating.state_id, rating.measure_id): rating for rating in Rating.objects.filter(kind=Rating.Kind.ASSESSED)
    }
    changed = sum(row["action"] != "unchanged" for row in staged.rows)
    history_before = Rating.history.count()
    staged.confirm()
    spreadsheets.apply_assessed(staged, by=analyst)
    problems = 0
    for row in Rating.history.filter(history_change_reason=f"Bulk import {staged.file_name}"):
        old = before[row.state_id, row.measure_id]
        stamped = (row.set_by_id, row.set_at)
        problems += row.previous_status != old.status or row.history_user_id != analyst.pk
        problems += row.last_confirmed_at != row.history_date or row.history_type != "~"
        problems += stamped != (
            (analyst.pk, row.history_date) if old.status != row.status else (old.set_by_id, old.set_at)
        )
    written = Rating.history.count() - history_before
    if problems or written != changed:
        raise CommandError(f"The import wrote {written} history rows for {changed} changed rows, {problems} wrong.")
    return (
        f"Checked: {written:,} history rows for {changed:,} changed rows, each with its previous status, who and "
        "when; set_by/set_at moved only with the status."
    )


def _mb(content):
    return f"{len(content) / 1e6:.1f} MB"
