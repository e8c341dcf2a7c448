"""
The dashboard benchmark: the time each dashboard page takes on the dataset of ``dataset.py``,
compared with the least work that could produce the same cells (its "floor").

``measure_pages`` requests each page in-process with Django's test client, DEBUG off, and
times it against its floor: raw SQL on the psycopg2 connection, fetching the cells the page
shows, plus ``json.dumps`` of the rows. Everything it writes (the readers' accounts, their
sessions) is rolled back at the end. Run it through ``manage.py bench_dashboards`` (see
docs/performance.md).
"""

import dataclasses
import datetime as dt
import gc
import gzip
import json
import math
import os
import platform
import statistics
import time

import django
from django.db import connection, transaction
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from config.startup import freeze_startup_heap
from devtools.dataset import ANALYST, FOCAL_POINT, BenchmarkError, ensure_readers
from implementation import dashboards
from implementation.filters import RatingFilterSet, end_of_day
from states.models import MemberState, Region

DEFAULT_RUNS = 15
DEFAULT_WARMUPS = 2
# Seconds after which a series of timings stops early, with at least MIN_RUNS timings.
DEFAULT_BUDGET = 60
MIN_RUNS = 3
# "As of" pages look this far back: about eighteen months.
AS_OF_DAYS_BACK = 548

# The measurements


@dataclasses.dataclass(frozen=True)
class Page:
    """A page to time: its address, its reader, its target (at most this many times its floor) and its floor."""

    path: str
    query: str
    reader: str
    target: float
    build: object  # (user, filters) -> the board, as the view builds it
    floor: list  # (sql, params): the raw queries that fetch the cells the page shows

    @property
    def url(self):
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclasses.dataclass(frozen=True)
class PageResult:
    """Times in milliseconds, one per run; ``size`` is the page's HTML in bytes, ``sent`` as compressed."""

    page: Page
    times: list
    sql: list
    builds: list
    floors: list
    queries: int
    size: int
    sent: int

    @property
    def median(self):
        return statistics.median(self.times)

    @property
    def p90(self):
        return _percentile(self.times, 90)

    @property
    def floor(self):
        return statistics.median(self.floors)

    @property
    def ratio(self):
        return self.median / self.floor

    @property
    def passed(self):
        return self.ratio <= self.page.target


@dataclasses.dataclass(frozen=True)
class Report:
    taken_at: dt.datetime
    as_of: dt.date
    runs: int
    warmups: int
    dataset: dict
    machine: dict
    results: list


def measure_pages(*, runs=DEFAULT_RUNS, warmups=DEFAULT_WARMUPS, as_of=None, budget=DEFAULT_BUDGET):
    """
    Time every page of ``pages(as_of)`` (``as_of`` defaults to about eighteen months ago)
    ``runs`` times after ``warmups`` untimed requests, with DEBUG off, and return a ``Report``.
    A page that takes more than ``budget`` seconds for its requests (or its builds, or its
    floors) is timed fewer times, at least ``MIN_RUNS``: the report gives the count.
    The readers' accounts and sessions are made inside a transaction that is rolled back.
    The start-up heap is frozen first, as ``config/wsgi.py`` freezes a worker's, and unfrozen
    at the end, so that the caller's process collects as before.
    """
    if connection.vendor != "postgresql":
        raise BenchmarkError("The benchmark measures PostgreSQL; this database is not PostgreSQL.")
    if runs < 1 or warmups < 0:
        raise BenchmarkError("Give at least one run, and no negative number of warm-ups.")
    as_of = as_of or timezone.localdate() - dt.timedelta(days=AS_OF_DAYS_BACK)
    from django.conf import settings

    # DEBUG off as in production: no query log, no template debug information.
    with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        # What a gunicorn worker does once the application is loaded, so that the garbage
        # collector's passes cost what they cost in production.
        freeze_startup_heap()
        try:
            results, dataset = _measure_all(as_of, runs, warmups, budget)
        finally:
            gc.unfreeze()
    return Report(
        taken_at=timezone.now(),
        as_of=as_of,
        runs=runs,
        warmups=warmups,
        dataset=dataset,
        machine=machine(),
        results=results,
    )


def _measure_all(as_of, runs, warmups, budget):
    """Every page's ``PageResult``, and the dataset's description, inside a transaction that is rolled back."""
    with transaction.atomic():
        readers = ensure_readers()
        clients = {}
        for name, user in readers.items():
            clients[name] = Client()
            clients[name].force_login(user)
        results = [
            _measure(page, clients[page.reader], readers[page.reader], runs, warmups, budget) for page in pages(as_of)
        ]
        dataset = _dataset()
        transaction.set_rollback(True)
    return results, dataset


def pages(as_of):
    """The pages measured: overview, two regions and Jamaica, now and ``as_of``; Europe as a focal point too."""
    try:
        europe, caribbean = Region.objects.get(slug="europe"), Region.objects.get(slug="caribbean")
        jamaica = MemberState.objects.get(iso3="JAM")
    except (Region.DoesNotExist, MemberState.DoesNotExist):
        raise BenchmarkError(
            "Europe, the Caribbean or Jamaica is missing: run `manage.py load_reference_data`."
        ) from None

    def overview(user, filters):
        return dashboards.build_overview(user=user, filters=filters)

    def region(region):
        return lambda user, filters: dashboards.build_region_board(region=region, user=user, filters=filters)

    def state(user, filters):
        return dashboards.build_state_profile(state=jamaica, user=user, filters=filters)

    today = timezone.localdate()
    now = {"on": today, "moment": None}
    then = {"on": as_of, "moment": end_of_day(as_of)}
    past = f"as_of={as_of.isoformat()}"
    made = []
    for query, when, target in (("", now, NOW_TARGET), (past, then, AS_OF_TARGET)):
        dated = when["moment"] is not None
        made += [
            Page("/", query, ANALYST, target, overview, [_sql(_OVERVIEW, dated, when)]),
            Page("/regions/europe/", query, ANALYST, target, region(europe), [_sql(_REGION, dated, when, "europe")]),
            Page(
                "/regions/caribbean/",
                query,
                ANALYST,
                target,
                region(caribbean),
                [_sql(_REGION, dated, when, "caribbean")],
            ),
            Page(
                "/states/JAM/",
                query,
                ANALYST,
                target,
                state,
                [_sql(_STATE, dated, when), _sql(_TIMELINE, dated, when)],
            ),
        ]
    made.append(
        Page("/regions/europe/", "", FOCAL_POINT, NOW_TARGET, region(europe), [_sql(_REGION, False, now, "europe")])
    )
    return made


# Targets: at most this many times the floor, today's pages and "as of" pages.
NOW_TARGET = 2
AS_OF_TARGET = 3


def _measure(page, client, user, runs, warmups, budget):
    def request():
        # As a browser asks: over HTTPS, which production serves (without DEBUG, plain HTTP is
        # only redirected), and compressed (GZipMiddleware), so compressing is timed too.
        response = client.get(page.url, secure=True, headers={"accept-encoding": "gzip, deflate"})
        if response.status_code != 200:
            raise BenchmarkError(f"{page.url} answered {response.status_code} to {user.username}.")
        return response

    def build():
        # role_kinds() caches on the user object; each request gets a fresh user, so forget it here too.
        user.__dict__.pop("_tracker_role_kinds", None)
        filters = RatingFilterSet(QueryDict(page.query))
        if not filters.is_valid():
            raise BenchmarkError(f"{page.url}: the filters are not valid: {filters.errors.as_text()}")
        return page.build(user, filters)

    raw = _raw_connection()

    def floor():
        rows = []
        with raw.cursor() as cursor:
            for sql, params in page.floor:
                cursor.execute(sql, params)
                rows.append(cursor.fetchall())
        return json.dumps(rows, default=str)

    for _ in range(warmups):
        request()
        build()
        floor()
    sql_timer = _SqlTimer()

    def timed_request():
        sql_timer.total = 0.0
        elapsed = _timed(request)
        return elapsed, sql_timer.total * 1000

    with connection.execute_wrapper(sql_timer):
        pairs = _series(timed_request, runs, budget)
    builds = _series(lambda: _timed(build), runs, budget)
    floors = _series(lambda: _timed(floor), runs, budget)
    with CaptureQueriesContext(connection) as captured:
        response = request()
    sent = response.content
    html = gzip.decompress(sent) if response.get("Content-Encoding") == "gzip" else sent
    return PageResult(
        page=page,
        times=[elapsed for elapsed, _ in pairs],
        sql=[sql for _, sql in pairs],
        builds=builds,
        floors=floors,
        queries=len(captured),
        size=len(html),
        sent=len(sent),
    )


def _series(timed, runs, budget):
    """``runs`` results of ``timed()``, or fewer (never under ``MIN_RUNS``) once ``budget`` seconds are spent."""
    results, started = [], time.perf_counter()
    while len(results) < runs:
        results.append(timed())
        if len(results) >= MIN_RUNS and time.perf_counter() - started > budget:
            break
    return results


def _timed(function):
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


class _SqlTimer:
    """Adds up the time spent in the database (psycopg2 fetches the rows within ``execute``)."""

    def __init__(self):
        self.total = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - started


def _raw_connection():
    connection.ensure_connection()
    return connection.connection  # the psycopg2 connection itself, no ORM and no Django cursor wrapper


def _percentile(values, percent):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


# The floors: the cells each page shows, fetched in one raw query each. "As of" rebuilds
# them from the history: the latest row of each rating at or before the moment.

_CURRENT_MEASURES = (
    "SELECT m.id FROM measures_measure m JOIN measures_edition e ON e.id = m.edition_id WHERE e.is_current"
)
_MEMBERS = """
    SELECT ms.state_id FROM states_regionmembership ms JOIN states_region g ON g.id = ms.region_id
    WHERE g.slug = %(slug)s AND (ms.joined_on IS NULL OR ms.joined_on <= %(on)s)
      AND (ms.left_on IS NULL OR ms.left_on > %(on)s)
"""
_LATEST = "DISTINCT ON (h.id)"
_LATEST_ORDER = "ORDER BY h.id, h.history_date DESC, h.history_id DESC"
_OVERVIEW = {
    False: f"""SELECT r.state_id, r.status FROM implementation_rating r
        WHERE r.kind = 'assessed' AND r.measure_id IN ({_CURRENT_MEASURES})""",
    True: f"""SELECT {_LATEST} h.state_id, h.status FROM implementation_historicalrating h
        WHERE h.kind = 'assessed' AND h.measure_id IN ({_CURRENT_MEASURES}) AND h.history_date <= %(moment)s
        {_LATEST_ORDER}""",
}
_REGION = {
    False: f"""SELECT r.state_id, r.measure_id, r.kind, r.status FROM implementation_rating r
        WHERE r.state_id IN ({_MEMBERS}) AND r.measure_id IN ({_CURRENT_MEASURES})""",
    True: f"""SELECT {_LATEST} h.state_id, h.measure_id, h.kind, h.status FROM implementation_historicalrating h
        WHERE h.state_id IN ({_MEMBERS}) AND h.measure_id IN ({_CURRENT_MEASURES}) AND h.history_date <= %(moment)s
        {_LATEST_ORDER}""",
}
_JAMAICA = "(SELECT id FROM states_memberstate WHERE iso3 = 'JAM')"
_STATE = {
    False: f"""SELECT r.measure_id, r.kind, r.status, r.explanation, r.justification, r.source_document,
            r.source_reference, r.set_at, r.last_confirmed_at
        FROM implementation_rating r
        WHERE r.state_id = {_JAMAICA} AND r.measure_id IN ({_CURRENT_MEASURES})""",
    True: f"""SELECT {_LATEST} h.measure_id, h.kind, h.status, h.explanation, h.justification, h.source_document,
            h.source_reference, h.set_at, h.last_confirmed_at
        FROM implementation_historicalrating h
        WHERE h.state_id = {_JAMAICA} AND h.measure_id IN ({_CURRENT_MEASURES}) AND h.history_date <= %(moment)s
        {_LATEST_ORDER}""",
}
_TIMELINE_COLUMNS = (
    "h.history_date, h.measure_id, h.kind, h.previous_status, h.status, h.history_change_reason, h.history_user_id"
)
_TIMELINE = {
    False: f"""SELECT {_TIMELINE_COLUMNS} FROM implementation_historicalrating h
        WHERE h.state_id = {_JAMAICA}
        ORDER BY h.history_date DESC, h.history_id DESC LIMIT {dashboards.TIMELINE_LENGTH}""",
    True: f"""SELECT {_TIMELINE_COLUMNS} FROM implementation_historicalrating h
        WHERE h.state_id = {_JAMAICA} AND h.history_date <= %(moment)s
        ORDER BY h.history_date DESC, h.history_id DESC LIMIT {dashboards.TIMELINE_LENGTH}""",
}


def _sql(statements, dated, when, slug=None):
    return statements[dated], {"on": when["on"], "moment": when["moment"], "slug": slug}


# What the figures were taken on


def _dataset():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT state_id), count(DISTINCT measure_id) FROM implementation_rating"
        )
        ratings, states, measures = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM implementation_historicalrating")
        (history_rows,) = cursor.fetchone()
    return {
        "ratings": ratings,
        "history_rows": history_rows,
        "states": states,
        "measures": measures,
    }


def machine():
    """The CPU, the cores and the versions the figures were taken with."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    with connection.cursor() as cursor:
        settings = {}
        for name in ("server_version", "shared_buffers", "work_mem"):
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "postgresql": settings["server_version"],
        "shared_buffers": settings["shared_buffers"],
        "work_mem": settings["work_mem"],
        "python": platform.python_version(),
        "django": django.get_version(),
    }


def format_report(report):
    """The report as lines of text: what was measured on, then one table of figures and one of where time goes."""
    data, box = report.dataset, report.machine
    lines = [
        f"Dashboard benchmark, {report.taken_at:%Y-%m-%d %H:%M} UTC",
        f"Dataset: {data['ratings']:,} ratings and {data['history_rows']:,} history rows "
        f"({data['states']} States x {data['measures']} measures x 2 kinds); as of = {report.as_of.isoformat()}",
        f"Machine: {box['cpu']}, {box['cores']} cores; PostgreSQL {box['postgresql']} (shared_buffers "
        f"{box['shared_buffers']}, work_mem {box['work_mem']}); Python {box['python']}; Django {box['django']}",
        f"Server time of {report.runs} requests per page (fewer past the time budget: see runs) after "
        f"{report.warmups} warm-ups, in-process, DEBUG off, gzip accepted; floor = raw SQL for the same cells "
        "+ json.dumps; ratio = median / floor.",
        "",
    ]
    header = ("page", "reader", "runs", "median ms", "p90 ms", "queries", "floor ms", "ratio", "target", "result")
    rows = [
        (
            r.page.url,
            "analyst" if r.page.reader == ANALYST else "focal point",
            str(len(r.times)),
            f"{r.median:.1f}",
            f"{r.p90:.1f}",
            str(r.queries),
            f"{r.floor:.1f}",
            f"{r.ratio:.1f}",
            f"{r.page.target:g}x",
            "PASS" if r.passed else "MISS",
        )
        for r in report.results
    ]
    lines += _table(header, rows)
    lines += [
        "",
        "Where the time goes (medians, ms): SQL = time in the database during the request; build = the "
        "build_* function alone (its SQL included); rest = total - build (tables, templates, middleware, gzip).",
    ]
    header = ("page", "reader", "total", "SQL", "build", "rest", "HTML KB", "sent KB")
    rows = [
        (
            r.page.url,
            "analyst" if r.page.reader == ANALYST else "focal point",
            f"{r.median:.1f}",
            f"{statistics.median(r.sql):.1f}",
            f"{statistics.median(r.builds):.1f}",
            f"{r.median - statistics.median(r.builds):.1f}",
            f"{r.size / 1024:.0f}",
            f"{r.sent / 1024:.0f}",
        )
        for r in report.results
    ]
    lines += _table(header, rows)
    return lines


def _table(header, rows):
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(header), line(["-" * w for w in widths]), *[line(row) for row in rows]]
