"""
The dashboard benchmark: a large made-up dataset, and the time each dashboard page takes
compared with the least work that could produce the same cells (its "floor").

``build_dataset`` fills a PostgreSQL database that has no ratings yet: both ratings of every
State × current measure, a long rating history (1.5 million rows by default, 2016 to today),
assessments, recommendations and assistance needs. It writes set-based SQL (``INSERT ...
SELECT`` over ``generate_series``, seeded with ``setseed``), since creating that many rows
through the ORM would take the best part of an hour. History rows are inserted final, as the
append-only triggers of migration 0002 require.

``measure_pages`` requests each page in-process with Django's test client, DEBUG off, and
times it against its floor: raw SQL on the psycopg2 connection, fetching the cells the page
shows, plus ``json.dumps`` of the rows. Everything it writes (the readers' accounts, their
sessions) is rolled back at the end.

Every rating the benchmark makes cites ``BENCH_SOURCE``; every other row it makes starts with
``BENCH_MARK``. Run it through ``manage.py bench_dashboards`` (see docs/performance.md).
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
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from config.startup import freeze_startup_heap
from implementation import dashboards
from implementation.filters import RatingFilterSet, end_of_day
from implementation.models import Rating
from measures.models import Measure
from states.models import MemberState, Region, Role

DEFAULT_HISTORY_ROWS = 1_500_000
DEFAULT_SEED = 2370
DEFAULT_RUNS = 15
DEFAULT_WARMUPS = 2
# Seconds after which a series of timings stops early, with at least MIN_RUNS timings.
DEFAULT_BUDGET = 60
MIN_RUNS = 3
# How many times, and how many seconds apart, ``settle`` vacuums a table until all its pages are visible to all.
SETTLE_ATTEMPTS = 30
SETTLE_PAUSE = 2.0
# "As of" pages look this far back: about eighteen months.
AS_OF_DAYS_BACK = 548
HISTORY_STARTS = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)
BENCH_SOURCE = "Benchmark data — not a real rating"
BENCH_MARK = "Benchmark data — "
ANALYST = "bench-analyst"
FOCAL_POINT = "bench-focal-jam"
# Share of State × measure pairs whose ratings turn "not applicable" after their first row.
NOT_APPLICABLE_SHARE = 0.03
# Each history row after a rating's first moves its status one step down, one step up or not
# at all; up is likelier for States of higher capacity and a little more in self-reports.
STEP_DOWN = 0.03
STEP_UP = 0.04
STEP_UP_PER_CAPACITY = 0.05
STEP_UP_SELF_REPORTED = 0.01


class BenchmarkError(Exception):
    """The benchmark cannot run here; the message says why and what to do."""


# The dataset


@dataclasses.dataclass(frozen=True)
class DatasetSummary:
    states: int
    measures: int
    ratings: int
    history_rows: int
    assessments: int
    recommendations: int
    assistance_needs: int
    seconds: float


def existing_ratings():
    """``(benchmark, other)``: how many ratings the benchmark made, and how many it did not."""
    made = Rating.objects.filter(source_document=BENCH_SOURCE).count()
    return made, Rating.objects.count() - made


@transaction.atomic
def build_dataset(*, history_rows=DEFAULT_HISTORY_ROWS, seed=DEFAULT_SEED, states=None, measures=None, until=None):
    """
    Make the benchmark dataset in a database with reference data and no ratings, and
    return a ``DatasetSummary``. ``states`` and ``measures`` default to every Member State
    and every measure of the current edition; history rows are spread from 2016 to
    ``until`` (now by default). The same seed gives the same data on the same PostgreSQL.
    """
    if connection.vendor != "postgresql":
        raise BenchmarkError("The benchmark dataset is written in PostgreSQL's SQL; this database is not PostgreSQL.")
    if Rating.objects.exists():
        raise BenchmarkError("This database already has ratings; the benchmark dataset goes into one without any.")
    started = time.perf_counter()
    state_ids = sorted(s.pk for s in (MemberState.objects.all() if states is None else states))
    measure_ids = sorted(m.pk for m in (Measure.objects.current() if measures is None else measures))
    if not state_ids or not measure_ids:
        raise BenchmarkError("No Member States or no current measures: run `manage.py load_reference_data` first.")
    ratings = len(state_ids) * len(measure_ids) * len(Rating.Kind)
    if history_rows < ratings:
        raise BenchmarkError(f"{ratings} ratings need at least {ratings} history rows (one each); got {history_rows}.")
    author = ensure_readers()[ANALYST]
    params = {
        "states": state_ids,
        "measures": measure_ids,
        "ratings": ratings,
        "extra": history_rows - ratings,
        "start": HISTORY_STARTS,
        "until": until or timezone.now(),
        "author": author.pk,
        "source": BENCH_SOURCE,
        "mark": BENCH_MARK,
        "not_applicable": NOT_APPLICABLE_SHARE,
        "step_down": STEP_DOWN,
        "step_up": STEP_UP,
        "step_up_capacity": STEP_UP_PER_CAPACITY,
        "step_up_self": STEP_UP_SELF_REPORTED,
    }
    with connection.cursor() as cursor:
        # random() is only reproducible in one process, in one order: no parallel workers.
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute("SELECT setseed(%s)", [(seed % 1_000_003) / 1_000_003])
        for statement in _BUILD:
            cursor.execute(statement, params)
        counts = {}
        for name, table in _COUNTED.items():
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[name] = cursor.fetchone()[0]
        for table in _ANALYZED:
            cursor.execute(f"ANALYZE {table}")
    return DatasetSummary(
        states=len(state_ids),
        measures=len(measure_ids),
        seconds=time.perf_counter() - started,
        **counts,
    )


def settle(*, attempts=SETTLE_ATTEMPTS, pause=SETTLE_PAUSE):
    """
    VACUUM ANALYZE the tables the dataset filled, outside any transaction: a freshly loaded
    table has no visibility map (so no index-only scans) and unset hint bits, which the
    first reads would otherwise pay for, unlike on a database that has been in use.

    A VACUUM run while another transaction that began before the build is still open (an
    autovacuum ANALYZE of the reference data, typically) can mark no page visible to all,
    and says nothing: each table is vacuumed again, ``pause`` seconds apart, until all its
    pages are marked, at most ``attempts`` times. Returns ``(table, pages, pages marked)``
    for the tables left with unmarked pages, so that the caller can say so.
    """
    unsettled = []
    with connection.cursor() as cursor:
        for table in _ANALYZED:
            for attempt in range(attempts):
                if attempt:
                    time.sleep(pause)
                cursor.execute(f"VACUUM (ANALYZE) {table}")
                cursor.execute("SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass", [table])
                pages, visible = cursor.fetchone()
                if visible >= pages:
                    break
            else:
                unsettled.append((table, pages, visible))
    return unsettled


def ensure_readers():
    """The benchmark's two readers, made if missing: an analyst, and an alternate focal point for Jamaica."""
    User = get_user_model()
    analyst, _ = User.objects.get_or_create(username=ANALYST, defaults={"is_staff": True})
    focal, created = User.objects.get_or_create(username=FOCAL_POINT, defaults={"is_staff": True})
    for user in (analyst, focal):
        if user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
    Role.objects.get_or_create(user=analyst, kind=Role.Kind.ANALYST, is_active=True)
    jamaica = MemberState.objects.filter(iso3="JAM").first()
    if jamaica is not None:
        # Alternate, so that it never clashes with a State's main focal point.
        Role.objects.get_or_create(
            user=focal, kind=Role.Kind.FOCAL_POINT, state=jamaica, is_active=True, defaults={"is_alternate": True}
        )
    return {ANALYST: analyst, FOCAL_POINT: focal}


_LEVELS = "ARRAY['no_information', 'not_implemented', 'partially', 'largely', 'implemented', 'not_applicable']"
_EXPLANATIONS = """ARRAY[
    'No information received on this measure.',
    'No legislation, regulation or practice found for this measure.',
    'Legislation in place; implementing regulations and enforcement are incomplete.',
    'Legislation and regulations in place; enforcement is uneven across agencies.',
    'Legislation, regulations and enforcement in place, with evidence of practice.',
    'The measure does not apply to this State.'
]"""

_BUILD = [
    # Three assessments per State, about three years apart.
    """
    INSERT INTO implementation_assessment
        (state_id, kind, conducted_on, author_id, summary, status, confidentiality, is_demo)
    SELECT s.id,
           (ARRAY['desk_review', 'country_visit', 'follow_up_visit'])[k],
           date '2016-09-01' + (k - 1) * 1100 + floor(random() * 300)::int,
           %(author)s, %(mark)s || 'not a real assessment.', 'final', 'shared', false
    FROM unnest(%(states)s::bigint[]) AS s(id) CROSS JOIN generate_series(1, 3) AS k
    ORDER BY s.id, k
    """,
    # One row per rating: its State's capacity, whether the measure applies, where its walk starts.
    """
    CREATE TEMP TABLE bench_rating ON COMMIT DROP AS
    WITH state AS MATERIALIZED (
        SELECT id, random() AS capacity FROM unnest(%(states)s::bigint[]) AS s(id)
    ), pair AS MATERIALIZED (
        SELECT state.id AS state_id, m.id AS measure_id, state.capacity,
               random() < %(not_applicable)s AS not_applicable
        FROM state CROSS JOIN unnest(%(measures)s::bigint[]) AS m(id)
    ), rating AS MATERIALIZED (
        SELECT pair.*, k.kind, random() AS shuffle,
               floor(random() * 2)::int + (pair.capacity > 0.6)::int AS start_level
        FROM pair CROSS JOIN (VALUES ('assessed'), ('self_reported')) AS k(kind)
    )
    SELECT row_number() OVER (ORDER BY shuffle) AS ord, state_id, measure_id, kind, capacity,
           not_applicable, start_level
    FROM rating
    """,
    # Every history row: one per rating, then the rest drawn to ratings unevenly (the
    # busiest get about three times as many as the quietest), at random moments, each a
    # step of the rating's walk.
    """
    CREATE TEMP TABLE bench_step ON COMMIT DROP AS
    WITH pick AS (
        SELECT ord FROM bench_rating
        UNION ALL
        SELECT 1 + floor(
            %(ratings)s * CASE WHEN random() < 0.5 THEN random() ELSE greatest(random(), random()) END
        )::bigint
        FROM generate_series(1, %(extra)s)
    ), timed AS (
        SELECT ord, %(start)s::timestamptz + random() * (%(until)s::timestamptz - %(start)s::timestamptz) AS at,
               random() AS draw
        FROM pick
    ), walked AS (
        SELECT b.ord, b.state_id, b.measure_id, b.kind, b.not_applicable, t.at,
               row_number() OVER w AS seq,
               count(*) OVER (PARTITION BY b.ord) AS n,
               b.start_level + sum(
                   CASE WHEN t.draw < %(step_down)s THEN -1
                        WHEN t.draw > 1 - %(step_up)s - %(step_up_capacity)s * b.capacity
                             - CASE WHEN b.kind = 'self_reported' THEN %(step_up_self)s ELSE 0 END THEN 1
                        ELSE 0 END
               ) OVER w AS position
        FROM timed t JOIN bench_rating b USING (ord)
        WINDOW w AS (PARTITION BY b.ord ORDER BY t.at ROWS UNBOUNDED PRECEDING)
    ), levelled AS (
        SELECT *,
               CASE WHEN not_applicable THEN CASE WHEN seq = 1 THEN 0 ELSE 5 END
                    ELSE greatest(0, least(4, position))::int END AS level
        FROM walked
    ), chained AS (
        SELECT *, lag(level) OVER w AS previous_level
        FROM levelled
        WINDOW w AS (PARTITION BY ord ORDER BY at ROWS UNBOUNDED PRECEDING)
    ), dated AS (
        SELECT *, max(CASE WHEN previous_level IS DISTINCT FROM level THEN at END) OVER w AS set_at
        FROM chained
        WINDOW w AS (PARTITION BY ord ORDER BY at ROWS UNBOUNDED PRECEDING)
    )
    SELECT d.ord, d.state_id, d.measure_id, d.kind, d.at, d.seq, d.n, d.level, d.previous_level, d.set_at,
           CASE WHEN d.kind = 'assessed' THEN (
               SELECT a.id FROM implementation_assessment a
               WHERE a.state_id = d.state_id AND a.conducted_on <= d.at::date
               ORDER BY a.conducted_on DESC LIMIT 1
           ) END AS assessment_id
    FROM dated d
    """,
    f"""
    INSERT INTO implementation_rating
        (state_id, measure_id, kind, status, explanation, justification, source_document, source_reference,
         source_url, source_date, assessment_id, set_by_id, set_at, last_confirmed_at)
    SELECT state_id, measure_id, kind, ({_LEVELS})[level::int + 1], ({_EXPLANATIONS})[level::int + 1],
           CASE WHEN level = 5 THEN %(mark)s || 'no activity of this kind in the State.' ELSE '' END,
           %(source)s, 's. ' || (1 + ord %% 40), '', set_at::date, assessment_id, %(author)s, set_at, at
    FROM bench_step
    WHERE seq = n
    ORDER BY state_id, measure_id, kind
    """,
    # Oldest first, so that history ids follow history dates as they do in use.
    f"""
    INSERT INTO implementation_historicalrating
        (id, previous_status, kind, status, explanation, justification, source_document, source_reference,
         source_url, source_date, set_at, last_confirmed_at, history_date, history_change_reason, history_type,
         assessment_id, history_user_id, measure_id, set_by_id, state_id)
    SELECT r.id, coalesce(({_LEVELS})[s.previous_level::int + 1], ''), s.kind, ({_LEVELS})[s.level::int + 1],
           ({_EXPLANATIONS})[s.level::int + 1],
           CASE WHEN s.level = 5 THEN %(mark)s || 'no activity of this kind in the State.' ELSE '' END,
           %(source)s, 's. ' || (1 + s.ord %% 40), '', s.set_at::date, s.set_at, s.at, s.at,
           CASE WHEN s.seq = 1 THEN 'Initial rating'
                WHEN s.level = s.previous_level THEN 'Reviewed: still holds'
                WHEN s.level = 5 THEN 'Found not applicable; justification recorded'
                WHEN s.level > s.previous_level THEN 'Progress confirmed: new evidence reviewed'
                ELSE 'Downgraded after follow-up' END,
           CASE WHEN s.seq = 1 THEN '+' ELSE '~' END,
           s.assessment_id, %(author)s, s.measure_id, %(author)s, s.state_id
    FROM bench_step s
    JOIN implementation_rating r ON r.state_id = s.state_id AND r.measure_id = s.measure_id AND r.kind = s.kind
    ORDER BY s.at
    """,
    # Up to five recommendations and four assistance needs per State, each about one or two measures.
    """
    WITH state AS MATERIALIZED (
        SELECT id, floor(random() * 6)::int AS n FROM unnest(%(states)s::bigint[]) AS s(id)
    ), made AS (
        INSERT INTO implementation_recommendation (state_id, text, priority, status, due_on, is_demo)
        SELECT state.id, %(mark)s || 'strengthen the controls this measure calls for.',
               (ARRAY['high', 'medium', 'low'])[1 + floor(random() * 3)::int],
               (ARRAY['open', 'in_progress', 'done'])[1 + floor(random() * 3)::int],
               date '2024-01-01' + floor(random() * 1200)::int, false
        FROM state CROSS JOIN LATERAL generate_series(1, state.n)
        RETURNING id
    )
    INSERT INTO implementation_recommendation_measures (recommendation_id, measure_id)
    SELECT DISTINCT made.id, (%(measures)s::bigint[])[1 + floor(random() * cardinality(%(measures)s::bigint[]))::int]
    FROM made CROSS JOIN generate_series(1, 2)
    """,
    """
    WITH state AS MATERIALIZED (
        SELECT id, floor(random() * 5)::int AS n FROM unnest(%(states)s::bigint[]) AS s(id)
    ), made AS (
        INSERT INTO implementation_assistanceneed (state_id, kind, description, priority, status, provider, is_demo)
        SELECT state.id,
               (ARRAY['legislative_drafting', 'training', 'equipment', 'institutional'])[1 + floor(random() * 4)::int],
               %(mark)s || 'support to implement this measure.',
               (ARRAY['high', 'medium', 'low'])[1 + floor(random() * 3)::int],
               (ARRAY['identified', 'requested', 'in_delivery', 'delivered', 'closed'])[1 + floor(random() * 5)::int],
               '', false
        FROM state CROSS JOIN LATERAL generate_series(1, state.n)
        RETURNING id
    )
    INSERT INTO implementation_assistanceneed_measures (assistanceneed_id, measure_id)
    SELECT DISTINCT made.id, (%(measures)s::bigint[])[1 + floor(random() * cardinality(%(measures)s::bigint[]))::int]
    FROM made CROSS JOIN generate_series(1, 2)
    """,
    "DROP TABLE bench_step",
    "DROP TABLE bench_rating",
]
_COUNTED = {
    "ratings": "implementation_rating",
    "history_rows": "implementation_historicalrating",
    "assessments": "implementation_assessment",
    "recommendations": "implementation_recommendation",
    "assistance_needs": "implementation_assistanceneed",
}
_ANALYZED = [
    "implementation_rating",
    "implementation_historicalrating",
    "implementation_assessment",
    "implementation_recommendation",
    "implementation_recommendation_measures",
    "implementation_assistanceneed",
    "implementation_assistanceneed_measures",
]


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
