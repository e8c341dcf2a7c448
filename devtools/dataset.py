"""
The benchmark's dataset: a large made-up one, for the dashboard benchmark (``benchmark.py``).

``build_dataset`` fills a PostgreSQL database that has no ratings yet: both ratings of every
State × current measure, a long rating history (1.5 million rows by default, 2016 to today),
assessments, recommendations and assistance needs. It writes set-based SQL (``INSERT ...
SELECT`` over ``generate_series``, seeded with ``setseed``), since creating that many rows
through the ORM would take the best part of an hour. History rows are inserted final, as the
append-only triggers of migration 0002 require. This is the one writer of ratings outside
``implementation/ratings.py`` (``tests/test_rating_write_path.py``).

Every rating it makes cites ``BENCH_SOURCE``; every other row it makes starts with ``BENCH_MARK``.
"""

import dataclasses
import datetime as dt
import time

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from implementation.models import Rating
from measures.models import Measure
from states.models import MemberState, Role

DEFAULT_HISTORY_ROWS = 1_500_000
DEFAULT_SEED = 2370
# How many times, and how many seconds apart, ``settle`` vacuums a table until all its pages are visible to all.
SETTLE_ATTEMPTS = 30
SETTLE_PAUSE = 2.0
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
