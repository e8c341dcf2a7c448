"""
The dashboard benchmark (``manage.py bench_dashboards``): its data builder at a tiny scale,
checked for the invariants real data has, the command's refusals, its reference page, its
targets' pass and miss, and its check that a change shows. Nothing here is timed.

The builder writes PostgreSQL's SQL, so most tests need PostgreSQL; the refusal to run on
anything else is tested everywhere.
"""

import datetime as dt
import gc
import importlib.util
import io
import re
from itertools import groupby

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from devtools import benchmark, browser, dataset
from devtools import report as report_text
from devtools import urls as benchmark_urls
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
    for page in ("/regions/sahel-maghreb/?as_of=2025-06-30", "/regions/east-africa/", "/states/JAM/?as_of=2025-06-30"):
        assert f"\n{page} " in report
    # Twelve pages each, in each table; and the reference page's line.
    assert report.count("  analyst  ") == report.count("  focal point  ") == 24
    assert "Reference page (signed in, empty body), focal point: median" in report
    assert "  ok: /states/JAM/ as focal point shows JAM's self-report on" in report
    assert "STALE" not in report
    assert not Session.objects.exists()
    assert not Rating.objects.exclude(source_document=dataset.BENCH_SOURCE).exists()
    assert not Rating.objects.filter(explanation__contains="freshness check").exists()


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
    freeze, measure = benchmark.freeze_startup_heap, benchmark.measure_page

    def frozen():
        events.append(("freeze", freeze()))

    def measured(*args, **kwargs):
        events.append(("measure", gc.get_freeze_count()))
        return measure(*args, **kwargs)

    monkeypatch.setattr(benchmark, "freeze_startup_heap", frozen)
    monkeypatch.setattr(benchmark, "measure_page", measured)
    report = benchmark.measure_pages(runs=1, warmups=0)

    assert len(report.results) == len(events) - 1 == 24
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
    assert len(report.results) == 24
    assert all(result.size > 1_000 for result in report.results)


# The reference page


@pytest.fixture
def bench_urls(settings):
    settings.ROOT_URLCONF = benchmark.URLCONF
    return reverse("bench_reference")


@pytest.mark.parametrize("reader", ["analyst", "focal_jam"])
def test_reference_page_is_the_site_around_an_empty_body(request, client, bench_urls, reader):
    user = request.getfixturevalue(reader)
    client.force_login(user)
    response = client.get(bench_urls)
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<main id="content">\s*</main>', html), html
    assert 'class="site-header"' in html and 'class="site-footer"' in html
    assert user.username in html  # the menu, as every signed-in page has it


def test_reference_page_refuses_someone_with_no_role(client, bench_urls, nobody):
    client.force_login(nobody)
    assert client.get(bench_urls).status_code == 403


def test_reference_page_asks_a_visitor_to_sign_in(client, bench_urls, world):
    response = client.get(bench_urls)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_reference_page_is_not_an_address_of_the_site(client, analyst):
    client.force_login(analyst)
    assert client.get("/" + benchmark_urls.REFERENCE_PATH).status_code == 404


# Targets


def _result(path="/", query="", reader=dataset.ANALYST, first=(50,), repeat=(20,), revalidations=(15,), status=304):
    return benchmark.PageResult(
        page=benchmark.Page(path, query, reader, floor=[]),
        first=list(first),
        repeat=list(repeat),
        revalidations=list(revalidations),
        revalidation_status=status,
        sql=[1.0],
        queries=(12, 5, 3),
        size=100_000,
        sent=20_000,
    )


def test_targets_are_met_at_their_limit_and_missed_beyond_it():
    # The reader's reference page takes 10 ms: repeat views may take 20 ms, 304s 15 ms.
    assert _result(repeat=[20], revalidations=[15]).verdicts(10) == {
        "first": "PASS",
        "repeat": "PASS",
        "revalidation": "PASS",
    }
    assert _result(repeat=[20.1], revalidations=[15.1]).verdicts(10) == {
        "first": "PASS",
        "repeat": "MISS",
        "revalidation": "MISS",
    }


def test_first_views_are_held_to_the_27_november_medians_where_there_is_one():
    assert _result("/regions/europe/", first=[143]).verdicts(10)["first"] == "PASS"
    assert _result("/regions/europe/", first=[144]).verdicts(10)["first"] == "MISS"
    assert _result("/regions/europe/", "as_of=2025-05-28", first=[224]).verdicts(10)["first"] == "PASS"
    assert _result("/regions/europe/", reader=dataset.FOCAL_POINT, first=[75]).verdicts(10)["first"] == "MISS"
    # East Africa was not measured then: no target, neither met nor missed.
    assert _result("/regions/east-africa/", first=[1_000]).verdicts(10)["first"] == "-"


def test_a_page_that_does_not_revalidate_misses_that_target():
    assert _result(revalidations=[], status=None).verdicts(10)["revalidation"] == "MISS"  # no ETag
    assert _result(revalidations=[], status=200).verdicts(10)["revalidation"] == "MISS"  # an ETag, but no 304


def _report(results, reference=((10, 10, 12), (10, 11))):
    return benchmark.Report(
        taken_at=timezone.now(),
        as_of=dt.date(2025, 5, 28),
        runs=3,
        warmups=0,
        dataset={"ratings": 30, "history_rows": 200, "states": 3, "measures": 5},
        machine={
            "cpu": "CPU",
            "cores": 2,
            "postgresql": "15",
            "shared_buffers": "128MB",
            "work_mem": "4MB",
            "python": "3.12",
            "django": "6.1",
            "cache": "LocMemCache",
        },
        load=((0.5, 0.4, 0.3), (3.5, 1.0, 0.5)),
        reference={dataset.ANALYST: reference, dataset.FOCAL_POINT: ([8], [8])},
        results=results,
        freshness=["/states/JAM/ as analyst shows the change."],
        stale=[],
    )


def test_report_compares_each_page_with_its_readers_reference_page_before_and_after_the_pages():
    report = _report(
        [_result(repeat=[21]), _result("/states/JAM/", reader=dataset.FOCAL_POINT, repeat=[16], revalidations=[12])]
    )
    # The analyst's reference page: 10, 10 and 12 ms before the pages, 10 and 11 after.
    assert report.reference_median(dataset.ANALYST) == 10
    assert [verdicts["repeat"] for verdicts in report.verdicts()] == ["MISS", "PASS"]
    assert report.missed == (1, 5)  # Jamaica's page has no 27 November median as a focal point
    lines = report_text.format_report(report)
    text = "\n".join(lines)
    assert "median 10.0 ms (10.0 before the pages, 10.5 after)" in text
    assert "0.50/0.40/0.30 at the start, 3.50/1.00/0.50 at the end - a loaded machine" in text
    assert "Targets met: 4 of 5." in text
    row = next(line for line in lines if line.startswith("/states/JAM/"))
    assert row.split() == [
        "/states/JAM/", "focal", "point", "1", "50.0", "6.25", "-", "-", "16.0", "2.00", "PASS", "12.0", "1.50", "PASS"
    ]  # fmt: skip
    assert "floor" not in text


def test_report_says_which_pages_sent_no_etag_or_no_304():
    lines = report_text.format_report(
        _report([_result(revalidations=[], status=None), _result(revalidations=[], status=200)])
    )
    rows = [line for line in lines if line.startswith("/  ")][:2]
    assert ["no ETag" in rows[0], "got 200" in rows[1]] == [True, True]
    assert all(row.split()[-1] == "MISS" for row in rows)


def test_cache_misses_leave_the_cache_as_it_was(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bench"}}
    cache = caches["default"]
    cache.set("page", "built")
    misses = benchmark.CacheMisses()
    misses()
    assert cache.get("page") is None
    cache.set("page", "built again")
    misses()
    assert cache.get("page") is None
    misses.restore()
    assert cache.get("page") == "built"


# The check that a change shows


@pytest.fixture
def readers(analyst, focal_jam, ratings):
    clients = {}
    for name, user in ((dataset.ANALYST, analyst), (dataset.FOCAL_POINT, focal_jam)):
        clients[name] = Client()
        clients[name].force_login(user)
    return clients, {dataset.ANALYST: analyst, dataset.FOCAL_POINT: focal_jam}


def test_freshness_check_changes_a_self_report_through_the_workflow_and_sees_it(readers, world):
    checked, stale = benchmark.check_freshness(*readers)
    assert stale == []
    for reader in ("analyst", "focal point"):
        assert (
            f"/states/JAM/ as {reader} shows JAM's self-report on SALW-04, partially -> largely, accepted just before."
            in checked
        )
        # The dashboards send an ETag, and the one from before the change gets the page again.
        assert f"/states/JAM/ as {reader}: If-None-Match with the ETag from before the change got 200." in checked
    rating = Rating.objects.get(state=world["jam"], kind=Rating.Kind.SELF_REPORTED)
    assert rating.status == Rating.Status.LARGELY  # one step up from "partially"
    assert "freshness check" in rating.explanation
    assert rating.history.first().history_change_reason.startswith("Submission by")


def test_freshness_check_reports_a_page_that_does_not_show_the_change(readers, monkeypatch):
    # An accepted submission that never reaches the rating: the page, rightly, does not show it.
    monkeypatch.setattr(benchmark.workflow, "accept", lambda submission, by: None)
    checked, stale = benchmark.check_freshness(*readers)
    change = "JAM's self-report on SALW-04, partially -> largely, accepted just before."
    assert [line for line in stale if "does not show" in line] == [
        f"/states/JAM/ as {reader} does not show {change}" for reader in ("analyst", "focal point")
    ]
    assert not [line for line in checked if "shows" in line]


def test_freshness_check_reports_a_304_given_for_the_page_from_before_the_change(readers, monkeypatch):
    # A page that always answers 304 to its own ETag, whatever changed.
    real_get = benchmark.get_page

    def stale_get(client, url, **headers):
        response = real_get(client, url, **headers)
        response["ETag"] = '"always-the-same"'
        if headers.get("if_none_match") == '"always-the-same"':
            response.status_code = 304
        return response

    monkeypatch.setattr(benchmark, "get_page", stale_get)
    checked, stale = benchmark.check_freshness(*readers)
    assert len(checked) == 2  # the pages show the change...
    assert len(stale) == 2 and all("from before the change got 304" in line for line in stale)  # ...but not to a 304


# make load's comparison of two commits


def _load_compare():
    spec = importlib.util.spec_from_file_location("load_compare", settings.BASE_DIR / "scripts/load/compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _locust_stats(path, requests, failures, rps, p95):
    path.write_text(
        "Type,Name,Request Count,Failure Count,Requests/s,95%\n"
        f"GET,/,{requests},{failures},{rps},{p95}\n"
        f",Aggregated,{requests},{failures},{rps},{p95}\n"
    )
    return str(path).removesuffix("_stats.csv")


def test_load_comparison_needs_four_times_the_throughput_no_error_and_a_quarter_of_the_p95(tmp_path):
    compare = _load_compare()
    old = compare.totals(_locust_stats(tmp_path / "old_stats.csv", 650, 0, 21.0, 11000))
    assert old == {"requests": 650, "failures": 0, "rps": 21.0, "p95": 11000}
    met = compare.totals(_locust_stats(tmp_path / "met_stats.csv", 2600, 0, 84.0, 2750))
    assert [row[-1] for row in compare.compare(old, met)] == [True, True, True]  # each exactly at its limit
    short = {"requests": 2500, "failures": 1, "rps": 83.9, "p95": 2751}
    assert [row[-1] for row in compare.compare(old, short)] == [False, False, False]


def test_load_comparison_exits_with_an_error_when_a_target_is_missed(tmp_path, capsys, monkeypatch):
    compare = _load_compare()
    old = _locust_stats(tmp_path / "old_stats.csv", 650, 0, 21.0, 11000)
    new = _locust_stats(tmp_path / "new_stats.csv", 3000, 2, 100.0, 900)
    monkeypatch.setattr("sys.argv", ["compare.py", old, new, "--old-name", "b8a03d0", "--new-name", "1234567"])
    with pytest.raises(SystemExit) as exit:
        compare.main()
    assert exit.value.code == 1
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["b8a03d0", "1234567", "target", "result"]
    assert printed[2].split() == ["errors", "0", "2", "new", "=", "0", "MISS"]
    assert printed[-1].strip() == "Targets met: 2 of 3."


# make bench-browser's targets


def _visits(load, elements, runs=3):
    return [
        browser.Visit(load=load + run, paint=load / 2, elements=elements, transferred=100 * 1024)
        for run in range(runs)
    ]


def test_browser_targets_are_under_two_seconds_and_under_eight_thousand_elements():
    assert browser.BrowserResult("/", _visits(1998, 7999), []).passed == {"load": True, "elements": True}
    # Medians of the runs (1999, 2000, 2001 ms): the load event at 2 s is not under 2 s.
    assert browser.BrowserResult("/", _visits(1999, 8000), []).passed == {"load": False, "elements": False}


def test_browser_report_gives_each_page_its_figures_and_verdicts():
    results = [
        browser.BrowserResult("/", _visits(900, 3500), _visits(400, 3500)),
        browser.BrowserResult("/regions/europe/", _visits(3900, 51_000), _visits(2000, 51_000)),
    ]
    lines = browser.format_results(results, load=((1.0, 1.0, 1.0), (2.0, 1.5, 1.0)))
    assert "1.00/1.00/1.00 at the start, 2.00/1.50/1.00 at the end" in lines[1]
    rows = {line.split()[0]: line.split() for line in lines if line.startswith("/")}
    assert rows["/"] == ["/", "3,500", "100", "901", "450", "100", "401", "200", "PASS", "PASS"]
    assert rows["/regions/europe/"][-2:] == ["MISS", "MISS"]
    assert lines[-1] == "Targets met: 2 of 4."
