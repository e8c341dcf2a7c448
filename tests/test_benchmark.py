"""
The dashboard benchmark (``manage.py bench_dashboards``): its data builder at a tiny scale,
checked for the invariants real data has, and the command's refusals.

The builder writes PostgreSQL's SQL, so most tests need PostgreSQL; the refusal to run on
anything else is tested everywhere.
"""

import datetime as dt
import gc
import io
from itertools import groupby

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devtools import benchmark, dataset
from implementation.dashboards import build_state_profile
from implementation.filters import RatingFilterSet
from implementation.models import Rating
from measures.models import Measure
from states.models import MemberState

# The columns a history row copies from its rating, read from the history model so that
# a field added to ratings is checked too.
COPIED = [field.attname for field in Rating.history.model.tracked_fields]


@pytest.fixture
def tiny(db):
    """Jamaica, France and Kenya, five measures: 30 ratings with 200 history rows."""
    call_command("load_reference_data", stdout=io.StringIO())
    states = MemberState.objects.filter(iso3__in=["JAM", "FRA", "KEN"])
    measures = Measure.objects.current().order_by("code")[:5]
    return dataset.build_dataset(history_rows=200, states=states, measures=measures, seed=7)


def _histories():
    rows = Rating.history.order_by("id", "history_date", "history_id")
    return {rating_id: list(group) for rating_id, group in groupby(rows, key=lambda row: row.id)}


@pytest.mark.postgres
def test_builder_makes_both_ratings_of_every_state_and_measure_and_the_history_rows_asked_for(tiny):
    assert (tiny.states, tiny.measures, tiny.ratings, tiny.history_rows) == (3, 5, 30, 200)
    assert Rating.objects.count() == 30
    assert Rating.history.count() == 200
    assert {kind for kind in Rating.objects.values_list("kind", flat=True)} == set(Rating.Kind)
    assert set(_histories()) == set(Rating.objects.values_list("pk", flat=True))
    assert tiny.assessments == 9  # three per State
    assert not Rating.objects.exclude(source_document=dataset.BENCH_SOURCE).exists()


@pytest.mark.postgres
def test_each_history_row_says_the_status_it_changed_from(tiny):
    for rows in _histories().values():
        assert [row.previous_status for row in rows] == ["", *[row.status for row in rows[:-1]]]
        assert [row.history_type for row in rows] == ["+", *["~"] * (len(rows) - 1)]


@pytest.mark.postgres
def test_the_last_history_row_of_each_rating_is_the_rating_as_it_stands(tiny):
    histories = _histories()
    for rating in Rating.objects.all():
        last = histories[rating.pk][-1]
        assert {name: getattr(last, name) for name in COPIED} == {name: getattr(rating, name) for name in COPIED}


@pytest.mark.postgres
def test_history_runs_from_2016_to_now_and_set_at_is_the_last_change_of_status(tiny):
    now = timezone.now()
    for rows in _histories().values():
        assert dataset.HISTORY_STARTS <= rows[0].history_date <= rows[-1].history_date <= now
        for row in rows:
            changes = [r.history_date for r in rows[: rows.index(row) + 1] if r.status != r.previous_status]
            assert row.set_at == max(changes)
            assert row.last_confirmed_at == row.history_date


@pytest.mark.postgres
def test_builder_refuses_a_database_that_has_ratings(ratings):
    with pytest.raises(benchmark.BenchmarkError, match="already has ratings"):
        dataset.build_dataset(history_rows=10)


def test_command_refuses_a_database_other_than_postgresql(db, monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="needs PostgreSQL, and this database is sqlite"):
        call_command("bench_dashboards")


@pytest.mark.postgres
def test_command_refuses_a_database_with_ratings_it_did_not_make(ratings):
    with pytest.raises(CommandError, match="holds 4 ratings the benchmark did not make.*--reuse"):
        call_command("bench_dashboards", stdout=io.StringIO())
    assert Rating.objects.count() == 4


@pytest.mark.postgres
def test_command_measures_every_page_and_leaves_no_session_behind(tiny):
    from django.contrib.sessions.models import Session

    out = io.StringIO()
    call_command("bench_dashboards", "--runs=1", "--warmups=0", "--as-of=2025-06-30", stdout=out)
    report = out.getvalue()
    assert "Using the benchmark dataset already here (30 ratings)." in report
    assert "Dataset: 30 ratings and 200 history rows (3 States x 5 measures x 2 kinds); as of = 2025-06-30" in report
    for page in ("/regions/europe/?as_of=2025-06-30", "/regions/caribbean/", "/states/JAM/?as_of=2025-06-30"):
        assert f"\n{page} " in report
    assert report.count("focal point") == 2  # one line in each table
    assert not Session.objects.exists()


def test_as_of_pages_look_about_eighteen_months_back():
    assert dt.timedelta(days=benchmark.AS_OF_DAYS_BACK) // dt.timedelta(days=30) == 18


@pytest.mark.postgres
def test_settle_marks_every_page_of_the_filled_tables_visible_to_all(transactional_db):
    # VACUUM runs outside a transaction: this test commits, and the database is flushed after it.
    call_command("load_reference_data", stdout=io.StringIO())
    states = MemberState.objects.filter(iso3__in=["JAM", "FRA"])
    dataset.build_dataset(history_rows=500, states=states, measures=Measure.objects.current()[:20], seed=7)

    assert dataset.settle(pause=0.2) == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE oid = 'implementation_historicalrating'::regclass"
        )
        pages, visible = cursor.fetchone()
    assert pages > 0 and visible == pages


def _timeline_sql(state, user, query):
    """The SQL of the State page's timeline, as ``build_state_profile`` issues it."""
    filters = RatingFilterSet(QueryDict(query))
    assert filters.is_valid(), filters.errors
    with CaptureQueriesContext(connection) as captured:
        build_state_profile(state=state, user=user, filters=filters)
    found = [
        query["sql"]
        for query in captured.captured_queries
        if "historicalrating" in query["sql"]
        and 'ORDER BY "implementation_historicalrating"."history_date" DESC' in query["sql"]
    ]
    assert len(found) == 1, [query["sql"] for query in captured.captured_queries]
    return found[0]


@pytest.mark.parametrize("query", ["", "as_of=2024-06-30"], ids=["today", "as of"])
def test_state_timeline_reads_its_rows_in_order_from_the_state_timeline_index(ratings, world, analyst, query):
    # Migration 0009: the timeline's latest rows are the first entries of one index range,
    # in the order the query sorts by, rather than a walk of the date index through every State.
    sql = _timeline_sql(world["jam"], analyst, query)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A handful of rows: make the planner show whether the index can serve this query at all.
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                cursor.execute(f"SET LOCAL {setting} = off")
            cursor.execute("EXPLAIN " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert "historicalrating_state_timeline" in plan, plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan and "Sort" not in plan, plan


@pytest.mark.postgres
def test_pages_are_timed_with_the_start_up_heap_frozen_as_in_production(tiny, monkeypatch):
    events = []
    freeze, measure = benchmark.freeze_startup_heap, benchmark._measure

    def frozen():
        events.append(("freeze", freeze()))

    def measured(*args, **kwargs):
        events.append(("measure", gc.get_freeze_count()))
        return measure(*args, **kwargs)

    monkeypatch.setattr(benchmark, "freeze_startup_heap", frozen)
    monkeypatch.setattr(benchmark, "_measure", measured)
    report = benchmark.measure_pages(runs=1, warmups=0)

    assert len(report.results) == len(events) - 1 == 9
    (first, frozen_count), *pages = events
    assert first == "freeze" and frozen_count > 10_000
    # Every page is timed frozen. The count may fall a little as frozen objects are freed, but
    # without the freeze it would be the few hundred objects Python starts with.
    assert all(kind == "measure" and count > 10_000 for kind, count in pages)
    # And the caller's process is unfrozen afterwards (Python starts with a few hundred frozen objects).
    assert gc.get_freeze_count() < 1_000


@pytest.mark.postgres
def test_pages_are_requested_over_https_as_production_serves_them(tiny, settings):
    # Without DEBUG the site redirects plain HTTP to HTTPS (config/settings.py): a benchmark
    # asking over HTTP would time nothing but redirects, and stops on the first.
    settings.SECURE_SSL_REDIRECT = True
    report = benchmark.measure_pages(runs=1, warmups=0)
    assert len(report.results) == 9
    assert all(result.size > 1_000 for result in report.results)
