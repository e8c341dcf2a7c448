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
from devtools import floors
from devtools.dataset import ANALYST, BENCH_MARK, FOCAL_POINT, BenchmarkError, ensure_readers
from implementation import workflow
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
                measure_page(page, clients[page.reader], misses, runs, warmups, budget, floors)
                for page in pages(as_of)
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
        places = [("/", [floors.statement(floors.OVERVIEW, dated, when)])]
        places += [(f"/regions/{slug}/", [floors.statement(floors.REGION, dated, when, slug)]) for slug in REGIONS]
        places.append(
            (
                f"/states/{STATE}/",
                [floors.statement(floors.STATE, dated, when), floors.statement(floors.TIMELINE, dated, when)],
            )
        )
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


def get_page(client, url, **headers):
    # As a browser asks: over HTTPS, which production serves (without DEBUG, plain HTTP is
    # only redirected), and compressed (GZipMiddleware), so compressing is timed too.
    return client.get(url, secure=True, headers={"accept-encoding": "gzip, deflate", **headers})


def _expect(response, status, url, reader):
    if response.status_code != status:
        raise BenchmarkError(f"{url} answered {response.status_code} to {READERS[reader]}, not {status}.")
    return response


def _measure_reference(url, reader, client, runs, warmups, budget):
    def request():
        _expect(get_page(client, url), 200, url, reader)

    for _ in range(warmups):
        request()
    return _series(lambda: _timed(request), runs, budget)


def measure_page(page, client, misses, runs, warmups, budget, floors):
    url, reader = page.url, page.reader
    meter = _SqlMeter()

    def request(status=200, **headers):
        meter.reset()
        return _expect(get_page(client, url, **headers), status, url, reader)

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
            status = get_page(client, url, if_none_match=etag).status_code
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
            response = _expect(get_page(client, url), 200, url, reader)
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
        response = _expect(get_page(client, url), 200, url, reader)
        if token not in _html(response).decode():
            stale.append(f"{url} as {READERS[reader]} does not show {change}, accepted just before.")
        else:
            checked.append(f"{url} as {READERS[reader]} shows {change}, accepted just before.")
        if etags[reader]:
            answer = get_page(client, url, if_none_match=etags[reader]).status_code
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


def percentile(values, percent):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


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
