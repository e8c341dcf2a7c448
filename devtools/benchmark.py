"""
The dashboard benchmark: the time each dashboard page takes on the dataset of ``dataset.py``,
as a multiple of a reference page that every signed-in page pays for whatever it shows.

``measure_pages`` requests each page in-process with Django's test client, DEBUG off, for an
analyst and for a focal point, three ways: a first view (the cache missed, as after any change
of the data), repeat views (served from the cache) and revalidations (``If-None-Match`` with the
page's ``ETag``, which should answer 304). It times the reference page (``devtools.views``,
served through ``devtools.urls``) for each reader at the start and at the end. Then it changes a
rating through the workflow and checks that the next view shows it. Everything it writes (the
readers' accounts, their sessions, that rating) is rolled back at the end. Run it through
``manage.py bench_dashboards`` (see docs/performance.md).
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
import uuid

import django
from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from config.startup import freeze_startup_heap
from devtools.dataset import ANALYST, BENCH_MARK, FOCAL_POINT, BenchmarkError, ensure_readers
from implementation import dashboards, workflow
from implementation.filters import end_of_day
from implementation.models import Rating, Submission
from measures.models import Measure
from states.models import MemberState, Region

DEFAULT_RUNS = 15
DEFAULT_WARMUPS = 2
# Seconds after which a series of timings stops early, with at least MIN_RUNS timings.
DEFAULT_BUDGET = 30
MIN_RUNS = 3
# "As of" pages look this far back: about eighteen months.
AS_OF_DAYS_BACK = 548
# The pages: the overview, the four workshop regions and one State, today and "as of".
REGIONS = ("europe", "sahel-maghreb", "caribbean", "east-africa")
STATE = "JAM"
READERS = {ANALYST: "analyst", FOCAL_POINT: "focal point"}
# The URLconf that adds the reference page to the site's.
URLCONF = "devtools.urls"

# Targets, as multiples of the reference page's median for the same reader.
REPEAT_TARGET = 2
REVALIDATION_TARGET = 1.5
# First views take no longer than the medians of `make bench` on 27 November 2026, 13:17 UTC
# (docs/performance.md), in ms, by (path, "as of", reader); the other pages were not measured then.
FIRST_VIEW_BASELINE = {
    ("/", False, ANALYST): 60,
    ("/regions/europe/", False, ANALYST): 143,
    ("/regions/caribbean/", False, ANALYST): 89,
    ("/states/JAM/", False, ANALYST): 62,
    ("/", True, ANALYST): 235,
    ("/regions/europe/", True, ANALYST): 224,
    ("/regions/caribbean/", True, ANALYST): 123,
    ("/states/JAM/", True, ANALYST): 66,
    ("/regions/europe/", False, FOCAL_POINT): 74,
}
PASS, MISS, NO_TARGET = "PASS", "MISS", "-"

# The measurements


@dataclasses.dataclass(frozen=True)
class Page:
    """A page to time: its address and its reader; ``floor`` is the raw queries that fetch the cells it shows."""

    path: str
    query: str
    reader: str
    floor: list  # (sql, params)

    @property
    def url(self):
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def dated(self):
        return "as_of=" in self.query

    @property
    def baseline(self):
        """The 27 November median (ms) that a first view must not exceed, or None where there is none."""
        return FIRST_VIEW_BASELINE.get((self.path, self.dated, self.reader))


def verdict(measured, limit):
    """PASS if ``measured`` is at most ``limit``; MISS if over it or not measured; NO_TARGET without a limit."""
    if limit is None:
        return NO_TARGET
    if measured is None:
        return MISS
    return PASS if measured <= limit else MISS


def ratio(measured, reference):
    """``measured`` as a multiple of ``reference``, or None if either is missing."""
    if measured is None or not reference:
        return None
    return measured / reference


@dataclasses.dataclass(frozen=True)
class PageResult:
    """
    Times in milliseconds, one per run: ``first`` views missed the cache, ``repeat`` views did not,
    ``revalidations`` answered 304 (empty if the page sent no ``ETag``, or if ``revalidation_status``,
    the status ``If-None-Match`` got, was not 304). ``sql`` is the time in the database of each first
    view; ``queries`` the queries of a first view, a repeat view and a 304 (None without one); ``size``
    the page's HTML in bytes, ``sent`` as compressed; ``floors`` the raw SQL's times, if asked for.
    """

    page: Page
    first: list
    repeat: list
    revalidations: list
    revalidation_status: object
    sql: list
    queries: tuple
    size: int
    sent: int
    floors: list = dataclasses.field(default_factory=list)

    @property
    def first_median(self):
        return statistics.median(self.first)

    @property
    def repeat_median(self):
        return statistics.median(self.repeat)

    @property
    def revalidation_median(self):
        return statistics.median(self.revalidations) if self.revalidations else None

    @property
    def floor(self):
        return statistics.median(self.floors) if self.floors else None

    def verdicts(self, reference):
        """Each target's PASS, MISS or NO_TARGET, given the reader's reference median ``reference`` (ms)."""
        return {
            "first": verdict(self.first_median, self.page.baseline),
            "repeat": verdict(self.repeat_median, REPEAT_TARGET * reference),
            "revalidation": verdict(self.revalidation_median, REVALIDATION_TARGET * reference),
        }


@dataclasses.dataclass(frozen=True)
class Report:
    """
    ``reference``: each reader's reference-page times (ms), timed before the pages and after them.
    ``load``: the load averages (1, 5, 15 minutes) at the start and at the end. ``freshness``: what the
    check of a change found, one line each; ``stale``: the views that did not show the change.
    """

    taken_at: dt.datetime
    as_of: dt.date
    runs: int
    warmups: int
    dataset: dict
    machine: dict
    load: tuple
    reference: dict
    results: list
    freshness: list
    stale: list

    def reference_median(self, reader):
        before, after = self.reference[reader]
        return statistics.median([*before, *after])

    def verdicts(self):
        """Every page's verdicts, in the order of ``results``."""
        return [result.verdicts(self.reference_median(result.page.reader)) for result in self.results]

    @property
    def missed(self):
        """How many targets were missed, and how many there were."""
        found = [value for verdicts in self.verdicts() for value in verdicts.values() if value != NO_TARGET]
        return found.count(MISS), len(found)


def measure_pages(*, runs=DEFAULT_RUNS, warmups=DEFAULT_WARMUPS, as_of=None, budget=DEFAULT_BUDGET, floors=False):
    """
    Time the reference page and every page of ``pages(as_of)`` (``as_of`` defaults to about eighteen
    months ago) ``runs`` times after ``warmups`` untimed requests, with DEBUG off, then check that a
    change shows, and return a ``Report``. A series of timings that takes more than ``budget`` seconds
    stops early, after at least ``MIN_RUNS``. With ``floors``, the raw SQL of each page is timed too.
    The readers' accounts and sessions, and the change, are made inside a transaction that is rolled
    back. The start-up heap is frozen first, as ``config/wsgi.py`` freezes a worker's, and unfrozen
    at the end, so that the caller's process collects as before.
    """
    if connection.vendor != "postgresql":
        raise BenchmarkError("The benchmark measures PostgreSQL; this database is not PostgreSQL.")
    if runs < 1 or warmups < 0:
        raise BenchmarkError("Give at least one run, and no negative number of warm-ups.")
    as_of = as_of or timezone.localdate() - dt.timedelta(days=AS_OF_DAYS_BACK)
    load_before = os.getloadavg()
    # DEBUG off as in production: no query log, no template debug information.
    with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"], ROOT_URLCONF=URLCONF):
        # What a gunicorn worker does once the application is loaded, so that the garbage
        # collector's passes cost what they cost in production.
        freeze_startup_heap()
        try:
            measured = _measure_all(as_of, runs, warmups, budget, floors)
        finally:
            gc.unfreeze()
    return Report(
        taken_at=timezone.now(),
        as_of=as_of,
        runs=runs,
        warmups=warmups,
        machine=machine(),
        load=(load_before, os.getloadavg()),
        **measured,
    )


def _measure_all(as_of, runs, warmups, budget, floors):
    """The fields of the ``Report`` that are measured, inside a transaction that is rolled back."""
    with transaction.atomic():
        readers = ensure_readers()
        clients = {}
        for name, user in readers.items():
            clients[name] = Client()
            clients[name].force_login(user)
        reference_url = reverse("bench_reference")
        before = {
            name: _measure_reference(reference_url, name, client, runs, warmups, budget)
            for name, client in clients.items()
        }
        misses = CacheMisses()
        try:
            results = [
                _measure(page, clients[page.reader], misses, runs, warmups, budget, floors) for page in pages(as_of)
            ]
        finally:
            misses.restore()
        after = {
            name: _measure_reference(reference_url, name, client, runs, 0, budget) for name, client in clients.items()
        }
        # Counted before the check adds a history row of its own.
        dataset = _dataset()
        freshness, stale = check_freshness(clients, readers)
        transaction.set_rollback(True)
    return {
        "dataset": dataset,
        "reference": {name: (before[name], after[name]) for name in clients},
        "results": results,
        "freshness": freshness,
        "stale": stale,
    }


def pages(as_of):
    """
    The pages measured, each as an analyst (who sees everything) and as Jamaica's focal point: the
    overview, the four workshop regions and Jamaica's page, today and ``as_of``.
    """
    found = set(Region.objects.filter(slug__in=REGIONS).values_list("slug", flat=True))
    if found != set(REGIONS) or not MemberState.objects.filter(iso3=STATE).exists():
        raise BenchmarkError(
            f"A workshop region ({', '.join(REGIONS)}) or {STATE} is missing: run `manage.py load_reference_data`."
        )
    today = timezone.localdate()
    made = []
    for query, when in (("", {"on": today, "moment": None}), (f"as_of={as_of.isoformat()}", _then(as_of))):
        dated = when["moment"] is not None
        places = [("/", [_sql(_OVERVIEW, dated, when)])]
        places += [(f"/regions/{slug}/", [_sql(_REGION, dated, when, slug)]) for slug in REGIONS]
        places.append((f"/states/{STATE}/", [_sql(_STATE, dated, when), _sql(_TIMELINE, dated, when)]))
        made += [Page(path, query, reader, floor) for path, floor in places for reader in READERS]
    return made


def _then(as_of):
    return {"on": as_of, "moment": end_of_day(as_of)}


class CacheMisses:
    """
    Makes the next request miss every cache, as the first view after a change of the data does,
    without emptying any (a shared Redis may hold other sites' entries): each call gives every
    configured cache a key prefix it has never used. ``restore()`` puts the prefixes back.
    """

    def __init__(self):
        self.prefixes = {alias: caches[alias].key_prefix for alias in settings.CACHES}
        self.run = uuid.uuid4().hex[:8]
        self.count = 0

    def __call__(self):
        self.count += 1
        for alias, prefix in self.prefixes.items():
            caches[alias].key_prefix = f"{prefix}bench-{self.run}-{self.count}"

    def restore(self):
        for alias, prefix in self.prefixes.items():
            caches[alias].key_prefix = prefix


def _get(client, url, **headers):
    # As a browser asks: over HTTPS, which production serves (without DEBUG, plain HTTP is
    # only redirected), and compressed (GZipMiddleware), so compressing is timed too.
    return client.get(url, secure=True, headers={"accept-encoding": "gzip, deflate", **headers})


def _expect(response, status, url, reader):
    if response.status_code != status:
        raise BenchmarkError(f"{url} answered {response.status_code} to {READERS[reader]}, not {status}.")
    return response


def _measure_reference(url, reader, client, runs, warmups, budget):
    def request():
        _expect(_get(client, url), 200, url, reader)

    for _ in range(warmups):
        request()
    return _series(lambda: _timed(request), runs, budget)


def _measure(page, client, misses, runs, warmups, budget, floors):
    url, reader = page.url, page.reader
    meter = _SqlMeter()

    def request(status=200, **headers):
        meter.reset()
        return _expect(_get(client, url, **headers), status, url, reader)

    def first_view():
        misses()
        elapsed = _timed(request)
        return elapsed, meter.total * 1000

    with connection.execute_wrapper(meter):
        for _ in range(warmups):
            first_view()
        pairs = _series(first_view, runs, budget)
        misses()
        response = request()
        first_queries = meter.count
        misses.restore()

        # Repeat views: the first request fills the cache, the next ones read it.
        etag = request().get("ETag")
        for _ in range(warmups):
            request()
        repeat = _series(lambda: _timed(request), runs, budget)
        repeat_queries = meter.count

        revalidations, status, revalidation_queries = [], None, None
        if etag:
            status = _get(client, url, if_none_match=etag).status_code
            if status == 304:
                for _ in range(warmups):
                    request(304, if_none_match=etag)
                revalidations = _series(lambda: _timed(lambda: request(304, if_none_match=etag)), runs, budget)
                revalidation_queries = meter.count
    return PageResult(
        page=page,
        first=[elapsed for elapsed, _ in pairs],
        repeat=repeat,
        revalidations=revalidations,
        revalidation_status=status,
        sql=[sql for _, sql in pairs],
        queries=(first_queries, repeat_queries, revalidation_queries),
        size=len(_html(response)),
        sent=len(response.content),
        floors=_measure_floor(page, runs, warmups, budget) if floors else [],
    )


def _measure_floor(page, runs, warmups, budget):
    raw = _raw_connection()

    def floor():
        rows = []
        with raw.cursor() as cursor:
            for sql, params in page.floor:
                cursor.execute(sql, params)
                rows.append(cursor.fetchall())
        return json.dumps(rows, default=str)

    for _ in range(warmups):
        floor()
    return _series(lambda: _timed(floor), runs, budget)


# The check that a change shows

# A self-report moves to the next status of this ladder (not "not applicable", which needs a justification).
_LADDER = [
    Rating.Status.NO_INFORMATION,
    Rating.Status.NOT_IMPLEMENTED,
    Rating.Status.PARTIALLY,
    Rating.Status.LARGELY,
    Rating.Status.IMPLEMENTED,
]


def check_freshness(clients, readers):
    """
    View Jamaica's page as each reader (twice, so that the second comes from the cache if there is
    one), change one of its self-reports through the workflow (the focal point submits, the analyst
    accepts), then view it again. Returns ``(checked, stale)``: lines saying what was checked, and
    lines saying which view did not show the change, or answered 304 to an ``ETag`` from before it.
    """
    jamaica = MemberState.objects.get(iso3=STATE)
    url = reverse("state", args=[STATE])
    pending = Submission.objects.filter(state=jamaica).pending().values("measure")
    rating = (
        Rating.objects.filter(state=jamaica, kind=Rating.Kind.SELF_REPORTED, status__in=_LADDER)
        .filter(measure__in=Measure.objects.current())
        .exclude(measure__in=pending)
        .select_related("measure")
        .order_by("measure__code")
        .first()
    )
    if rating is None:
        raise BenchmarkError(f"{STATE} has no self-report the benchmark can change through the workflow.")
    etags = {}
    for reader, client in clients.items():
        for _ in range(2):
            response = _expect(_get(client, url), 200, url, reader)
        etags[reader] = response.get("ETag")

    # The page escapes what it shows: look for a token that escaping leaves as it is.
    token = uuid.uuid4().hex
    marker = f"{BENCH_MARK}freshness check {token}"
    status = _LADDER[(_LADDER.index(rating.status) + 1) % len(_LADDER)]
    values = {field: getattr(rating, field) for field in workflow.SUBMITTED_FIELDS}
    values.update(status=status, explanation=marker)
    submission = workflow.submit(state=jamaica, measure=rating.measure, by=readers[FOCAL_POINT], **values)
    workflow.accept(submission, by=readers[ANALYST])

    checked, stale = [], []
    change = f"{STATE}'s self-report on {rating.measure.code}, {rating.status} -> {status}"
    for reader, client in clients.items():
        response = _expect(_get(client, url), 200, url, reader)
        if token not in _html(response).decode():
            stale.append(f"{url} as {READERS[reader]} does not show {change}, accepted just before.")
        else:
            checked.append(f"{url} as {READERS[reader]} shows {change}, accepted just before.")
        if etags[reader]:
            answer = _get(client, url, if_none_match=etags[reader]).status_code
            line = f"{url} as {READERS[reader]}: If-None-Match with the ETag from before the change got {answer}."
            (stale if answer == 304 else checked).append(line)
    return checked, stale


def _html(response):
    content = response.content
    return gzip.decompress(content) if response.get("Content-Encoding") == "gzip" else content


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


class _SqlMeter:
    """Counts the queries of a request and adds up their time in the database (psycopg2 fetches within ``execute``)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.total, self.count = 0.0, 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - started
            self.count += 1


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
    """The CPU, the cores, the versions and the cache backend the figures were taken with."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    with connection.cursor() as cursor:
        found = {}
        for name in ("server_version", "shared_buffers", "work_mem"):
            cursor.execute(f"SHOW {name}")
            found[name] = cursor.fetchone()[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "postgresql": found["server_version"],
        "shared_buffers": found["shared_buffers"],
        "work_mem": found["work_mem"],
        "python": platform.python_version(),
        "django": django.get_version(),
        "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
    }


def format_load(averages):
    return "/".join(f"{value:.2f}" for value in averages)


def format_report(report):
    """The report as lines of text: what was measured on, one table of the targets, one of details, the check."""
    data, box = report.dataset, report.machine
    (load_before, load_after), cores = report.load, box["cores"]
    lines = [
        f"Dashboard benchmark, {report.taken_at:%Y-%m-%d %H:%M} UTC",
        f"Dataset: {data['ratings']:,} ratings and {data['history_rows']:,} history rows "
        f"({data['states']} States x {data['measures']} measures x 2 kinds); as of = {report.as_of.isoformat()}",
        f"Machine: {box['cpu']}, {cores} cores; PostgreSQL {box['postgresql']} (shared_buffers "
        f"{box['shared_buffers']}, work_mem {box['work_mem']}); Python {box['python']}; Django {box['django']}; "
        f"cache {box['cache']}",
        f"Load average (1/5/15 min): {format_load(load_before)} at the start, {format_load(load_after)} at the end"
        + (
            " - a loaded machine: compare ratios, not times." if max(load_before[0], load_after[0]) > cores / 2 else ""
        ),
        f"Server time (ms) of {report.runs} requests per series (fewer past the time budget: see runs) after "
        f"{report.warmups} warm-ups, in-process, DEBUG off, gzip accepted.",
    ]
    for reader, name in READERS.items():
        before, after = report.reference[reader]
        lines.append(
            f"Reference page (signed in, empty body), {name}: median {report.reference_median(reader):.1f} ms "
            f"({statistics.median(before):.1f} before the pages, {statistics.median(after):.1f} after)"
        )
    lines += [
        "first = a cache miss, as after a change; repeat = from the cache; 304 = If-None-Match with the page's "
        f"ETag. Targets: first <= the median of 27 Nov 13:17; repeat <= {REPEAT_TARGET:g}x reference; "
        f"304 <= {REVALIDATION_TARGET:g}x reference; x ref = median / the reader's reference median.",
        "",
    ]
    header = (
        "page", "reader", "runs", "first", "x ref", "27 Nov", "first ok",
        "repeat", "x ref", f"<={REPEAT_TARGET:g}x", "304", "x ref", f"<={REVALIDATION_TARGET:g}x",
    )  # fmt: skip
    rows = []
    for result, verdicts in zip(report.results, report.verdicts(), strict=True):
        reference = report.reference_median(result.page.reader)
        baseline = result.page.baseline
        revalidated = result.revalidation_median
        rows.append(
            (
                result.page.url,
                READERS[result.page.reader],
                str(len(result.first)),
                f"{result.first_median:.1f}",
                _times(ratio(result.first_median, reference)),
                f"{baseline}" if baseline else "-",
                verdicts["first"],
                f"{result.repeat_median:.1f}",
                _times(ratio(result.repeat_median, reference)),
                verdicts["repeat"],
                f"{revalidated:.1f}" if revalidated is not None else _no_revalidation(result),
                _times(ratio(revalidated, reference)),
                verdicts["revalidation"],
            )
        )
    lines += _table(header, rows)
    missed, targets = report.missed
    lines += ["", f"Targets met: {targets - missed} of {targets}."]
    lines += [
        "",
        "Details (medians, ms): SQL = time in the database during a first view; queries of a first view / a "
        "repeat view / a 304; HTML KB as rendered, sent KB as compressed"
        + ("; floor = the raw SQL of the page's cells + json.dumps, for information." if _has_floors(report) else "."),
    ]
    header = ("page", "reader", "first p90", "repeat p90", "SQL", "queries", "HTML KB", "sent KB")
    if _has_floors(report):
        header += ("floor",)
    rows = []
    for result in report.results:
        row = (
            result.page.url,
            READERS[result.page.reader],
            f"{_percentile(result.first, 90):.1f}",
            f"{_percentile(result.repeat, 90):.1f}",
            f"{statistics.median(result.sql):.1f}",
            " / ".join("-" if count is None else str(count) for count in result.queries),
            f"{result.size / 1024:.0f}",
            f"{result.sent / 1024:.0f}",
        )
        if _has_floors(report):
            row += (f"{result.floor:.1f}",)
        rows.append(row)
    lines += _table(header, rows)
    lines += [
        "",
        "Freshness: a self-report changed through the workflow (submitted, then accepted) between two views:",
    ]
    lines += [f"  ok: {line}" for line in report.freshness]
    lines += [f"  STALE: {line}" for line in report.stale]
    return lines


def _times(value):
    return f"{value:.2f}" if value is not None else "-"


def _no_revalidation(result):
    return "no ETag" if result.revalidation_status is None else f"got {result.revalidation_status}"


def _has_floors(report):
    return any(result.floors for result in report.results)


def _table(header, rows):
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(header), line(["-" * w for w in widths]), *[line(row) for row in rows]]
