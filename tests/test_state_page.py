"""
A Member State's profile, /states/<ISO3>/: both ratings of each measure side by side,
the flags, the timeline, the open follow-up and the downloads, for each member of the
cast. Ratings in the ``ratings`` fixture: SALW-04 for Jamaica and for Kenya, both kinds
"partially implemented", set on 1 May 2024 (so unconfirmed for over a year by now).
"""

import csv
import datetime as dt
import io
import re

import factories
import pytest
from django.conf import settings
from django.utils import timezone
from openpyxl import load_workbook

from implementation.dashboards import state as state_dashboard
from implementation.models import (
    Assessment,
    AssistanceNeed,
    Confidentiality,
    Priority,
    Rating,
    Recommendation,
)
from measures.models import Measure, Section
from states.models import Role

Status = Rating.Status
ASSESSED = Rating.Kind.ASSESSED
SELF_REPORTED = Rating.Kind.SELF_REPORTED
AT = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
# A rating explained and sourced, unless a test is about what the profile shows without them.
SOURCED = {"explanation": "Test rating.", "source_document": "Test source"}


def _get(client, user, path="/states/JAM/", **params):
    client.force_login(user)
    return client.get(path, params)


def _page(client, user, path="/states/JAM/", **params):
    response = _get(client, user, path, **params)
    assert response.status_code == 200
    return response.content.decode()


def _row(html, code):
    """The HTML of the measure row ``id="measure-<code>"``, up to the next row or section."""
    match = re.search(rf'<article [^>]*id="measure-{code}">(.*?)</article>', html, re.S)
    assert match, f"no row for {code}"
    return match.group(1)


def _timeline(html):
    match = re.search(r'<table class="profile-table timeline-table">(.*?)</table>', html, re.S)
    assert match, "no timeline table"
    return match.group(1)


def _csv_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def follow_up(world, ratings):
    """One open recommendation and one open need for Jamaica, each tied to SALW-04; one of each closed."""
    open_item = factories.recommendation(
        state=world["jam"], text="Mark firearms on import.", measures=[world["marking"]], priority=Priority.HIGH,
        due_on=dt.date(2024, 12, 31),
    )  # fmt: skip
    factories.recommendation(state=world["jam"], text="Closed recommendation.", status=Recommendation.Status.DONE)
    need = factories.assistance_need(
        state=world["jam"], description="Train customs on marking.", measures=[world["marking"]]
    )
    factories.assistance_need(
        state=world["jam"], kind=AssistanceNeed.Kind.EQUIPMENT, description="Delivered marking machines.",
        status=AssistanceNeed.Status.DELIVERED,
    )  # fmt: skip
    return {"recommendation": open_item, "need": need}


# Who may open the page


def test_anonymous_reader_is_sent_to_log_in(client, world):
    response = client.get("/states/JAM/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/states/JAM/"


def test_reader_with_no_role_is_refused(client, nobody):
    assert _get(client, nobody).status_code == 403


@pytest.mark.parametrize("who", ["analyst", "focal_jam", "coordinator"])
def test_readers_of_jamaica_open_its_profile(client, ratings, who, request):
    html = _page(client, request.getfixturevalue(who))
    assert "<h1>Jamaica" in html
    assert 'id="measure-SALW-04"' in html


@pytest.mark.parametrize("who", ["focal_jam", "coordinator"])
def test_a_state_the_reader_may_not_see_is_not_found(client, ratings, who, request):
    # The focal point for Jamaica and the Caribbean coordinator are refused Kenya,
    # exactly as if it did not exist.
    assert _get(client, request.getfixturevalue(who), "/states/KEN/").status_code == 404


def test_an_unknown_state_is_not_found(client, analyst):
    assert _get(client, analyst, "/states/XYZ/").status_code == 404


def test_lowercase_iso3_opens_the_profile(client, focal_jam, ratings):
    assert "<h1>Jamaica" in _page(client, focal_jam, "/states/jam/")


# What the page never shows


@pytest.mark.parametrize("who", ["analyst", "focal_jam", "coordinator"])
def test_confidential_notes_are_not_part_of_the_profile(client, ratings, world, analyst, who, request):
    factories.note(
        state=world["jam"], measure=world["marking"], body="Source inside customs; do not share.", author=analyst
    )
    html = _page(client, request.getfixturevalue(who))
    assert "Source inside customs" not in html


@pytest.mark.parametrize("who", ["analyst", "focal_jam", "coordinator"])
def test_a_cted_only_assessment_is_never_named(client, world, analyst, who, request):
    visit = factories.assessment(
        state=world["jam"], kind=Assessment.Kind.COUNTRY_VISIT, conducted_on=dt.date(2024, 3, 14),
        confidentiality=Confidentiality.CTED_ONLY,
    )  # fmt: skip
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.PARTIALLY, by=analyst, at=AT, **SOURCED,
        assessment=visit,
    )  # fmt: skip
    html = _page(client, request.getfixturevalue(who))
    # Neither the kind of assessment nor its date: the profile is what the State may be handed.
    assert "country visit" not in html.lower()
    assert "14 Mar 2024" not in html
    assert "Partially implemented" in _row(html, "SALW-04")


def test_a_shared_assessment_is_named_beside_the_rating_it_set(client, world, analyst, focal_jam):
    review = factories.assessment(
        state=world["jam"], conducted_on=dt.date(2024, 3, 14), confidentiality=Confidentiality.SHARED
    )
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.PARTIALLY, by=analyst, at=AT, **SOURCED,
        assessment=review,
    )  # fmt: skip
    assert "From the desk review of 14 Mar 2024" in _row(_page(client, focal_jam), "SALW-04")


# The ratings, side by side


def test_each_rating_shows_status_explanation_and_source(client, world, analyst, focal_jam):
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.LARGELY, by=analyst, at=AT,
        explanation="Marking at manufacture in force.", source_document="Firearms Act 2022",
        source_reference="s. 12(3)", source_url="https://laws.example.org/firearms-act",
        source_date=dt.date(2022, 6, 1),
    )  # fmt: skip
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF_REPORTED, status=Status.NOT_APPLICABLE, by=analyst,
        at=AT, explanation="", source_document="Test source", justification="No firearms manufacturer in the country.",
    )  # fmt: skip
    row = _row(_page(client, focal_jam), "SALW-04")
    assert "Unique marking at manufacture and on import" in row
    assert "Largely implemented" in row
    assert "Marking at manufacture in force." in row
    assert "<cite>Firearms Act 2022</cite>, <bdi>s. 12(3)</bdi>, 1 Jun 2022" in row
    # The address is the link's text, so that a printed copy carries it.
    assert (
        '<a class="source-url" href="https://laws.example.org/firearms-act" rel="noopener noreferrer">'
        "https://laws.example.org/firearms-act</a>"
    ) in row
    assert "Not applicable" in row
    assert "Why not applicable:</strong> <bdi>No firearms manufacturer in the country.</bdi>" in row
    assert "Last confirmed" in row


def test_text_typed_into_a_rating_is_escaped_and_dates_are_in_the_sites_time_zone(
    client, world, analyst, focal_jam, settings
):
    settings.TIME_ZONE = "America/Jamaica"  # UTC-5: 1 May 2024 at 02:00 UTC is still 30 April there
    # The role began on the day it was made in UTC, which before 05:00 UTC is tomorrow in Jamaica.
    Role.objects.filter(user=focal_jam).update(starts_on=dt.date(2024, 1, 1))
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.PARTIALLY, by=analyst,
        at=dt.datetime(2024, 5, 1, 2, tzinfo=dt.UTC), explanation="<script>alert(1)</script> & more",
        source_document='Act "No. 5" <2020>', source_url='https://example.org/?a=1&b="2"',
    )  # fmt: skip
    row = _row(_page(client, focal_jam), "SALW-04")
    assert "<script>" not in row
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in row
    assert "<cite>Act &quot;No. 5&quot; &lt;2020&gt;</cite>" in row
    assert 'href="https://example.org/?a=1&amp;b=&quot;2&quot;"' in row
    assert '<time datetime="2024-04-30T21:00:00-05:00">30 Apr 2024</time>' in row


def test_a_measure_without_ratings_says_so(client, ratings, focal_jam):
    assert "Not rated yet." in _row(_page(client, focal_jam), "SALW-06")


def test_measures_are_grouped_by_section(client, ratings, focal_jam):
    html = _page(client, focal_jam)
    section = html.index("B. SALW controls")
    assert section < html.index('id="measure-SALW-04"') < html.index('id="measure-SALW-06"')


def test_a_differing_self_report_is_flagged(client, ratings, world, analyst, focal_jam):
    html = _page(client, focal_jam)
    assert "Self-report differs" not in html
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF_REPORTED, status=Status.LARGELY, by=analyst, at=AT,
        **SOURCED,
    )  # fmt: skip
    html = _page(client, focal_jam)
    assert "Self-report differs" in _row(html, "SALW-04")
    assert re.search(r"<dt>Self-reports that differ</dt><dd>1</dd>", html)


def test_a_rating_unconfirmed_for_a_year_is_flagged(client, world, analyst, focal_jam):
    now = timezone.now()
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.PARTIALLY, by=analyst,
        at=now - dt.timedelta(days=30), **SOURCED,
    )  # fmt: skip
    factories.rating(
        state=world["jam"], measure=world["records"], status=Status.PARTIALLY, by=analyst,
        at=now - dt.timedelta(days=400), **SOURCED,
    )  # fmt: skip
    html = _page(client, focal_jam)
    assert "Not confirmed in 12 months" not in _row(html, "SALW-04")
    assert "Not confirmed in 12 months" in _row(html, "SALW-06")
    assert "over 12 months ago" in _row(html, "SALW-06")
    assert re.search(r"<dt>Not confirmed in 12 months</dt><dd>1</dd>", html)


def test_summary_shows_the_assessed_tally(client, ratings, world, analyst, focal_jam):
    factories.rating(
        state=world["jam"], measure=world["records"], status=Status.IMPLEMENTED, by=analyst, at=AT, **SOURCED
    )
    html = _page(client, focal_jam)
    assert 'aria-label="CTED assessment by status: Implemented 1, Partially implemented 1"' in html
    assert "<dd>2.0 <span" in html  # mean score of 3 and 1
    assert "<dd>50%</dd>" in html
    assert "<dt>Last confirmed</dt><dd>1 May 2024</dd>" in html


def test_page_links_to_the_regions_the_state_belongs_to(client, ratings, focal_jam):
    assert 'href="/regions/caribbean/">Caribbean</a>' in _page(client, focal_jam)


# The timeline


def test_timeline_shows_each_change_from_and_to_with_its_reason(client, ratings, world, analyst, focal_jam):
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.LARGELY, by=analyst, at=AT + dt.timedelta(days=30),
        reason="Marking regulation adopted", **SOURCED,
    )  # fmt: skip
    timeline = _timeline(_page(client, focal_jam))
    first = timeline.split("<tr>")[2]  # after the header row: the newest change
    assert "Marking regulation adopted" in first
    assert re.search(
        r"Partially implemented</span>\s*<span aria-label=\"to\">→</span>.*Largely implemented", first, re.S
    )
    assert "SALW-04" in first
    assert 'data-label="By">ana</td>' in first
    assert "Initial rating" in timeline


def test_timeline_is_capped_and_says_so(client, ratings, world, analyst, focal_jam, monkeypatch):
    monkeypatch.setattr(state_dashboard, "TIMELINE_LENGTH", 3)
    for day, status in enumerate([Status.LARGELY, Status.PARTIALLY, Status.LARGELY], start=1):
        factories.rating(
            state=world["jam"], measure=world["marking"], status=status, by=analyst, at=AT + dt.timedelta(days=day),
            **SOURCED,
        )  # fmt: skip
    html = _page(client, focal_jam)
    assert "The latest 3 changes" in html
    assert _timeline(html).count("<tr>") == 1 + 3
    # The full timeline is the download: every change of the State, not just those shown.
    rows = _csv_rows(_get(client, focal_jam, export="timeline", format="csv"))
    assert len(rows) == 5  # two initial ratings and three changes
    assert [row["To"] for row in rows[:2]] == ["Largely implemented", "Partially implemented"]


def test_full_timeline_export_has_more_rows_than_the_page(client, ratings, world, analyst, focal_jam):
    for day in range(1, state_dashboard.TIMELINE_LENGTH + 5):
        status = Status.LARGELY if day % 2 else Status.PARTIALLY
        factories.rating(
            state=world["jam"], measure=world["marking"], status=status, by=analyst, at=AT + dt.timedelta(days=day),
            **SOURCED,
        )  # fmt: skip
    html = _page(client, focal_jam)
    shown = _timeline(html).count("<tr>") - 1
    assert shown == state_dashboard.TIMELINE_LENGTH
    rows = _csv_rows(_get(client, focal_jam, export="timeline", format="csv"))
    assert len(rows) == state_dashboard.TIMELINE_LENGTH + 4 + 2
    assert len(rows) > shown


def test_full_timeline_downloads_as_xlsx(client, ratings, focal_jam):
    response = _get(client, focal_jam, export="timeline", format="xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [cell.value for cell in sheet[1]][:5] == ["When", "Measure", "Rating", "From", "To"]
    assert sheet.max_row == 1 + 2


def test_a_short_timeline_says_it_is_complete(client, ratings, focal_jam):
    assert "All 2 changes, newest first." in _page(client, focal_jam)


# As of a past date


def test_as_of_shows_the_ratings_as_they_stood_then(client, ratings, world, analyst, focal_jam):
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst,
        at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC), reason="Registry in use", **SOURCED,
    )  # fmt: skip
    now = _page(client, focal_jam)
    assert "Implemented" in _row(now, "SALW-04")
    then = _page(client, focal_jam, as_of="2024-12-31")
    assert "<strong>As of 31 December 2024</strong>" in then
    row = _row(then, "SALW-04")
    assert "Partially implemented" in row
    assert ">Implemented<" not in row.replace(" ", "").replace("</svg>", ">")
    # The timeline stops at that date.
    assert "Registry in use" in now
    assert "Registry in use" not in then
    assert "up to 31 December 2024" in then


def test_as_of_before_any_rating_shows_the_empty_profile(client, ratings, focal_jam):
    html = _page(client, focal_jam, as_of="2020-01-01")
    assert "No ratings yet" in html
    assert "as of 1 January 2020" in html


def test_as_of_in_the_future_is_refused(client, ratings, focal_jam):
    assert _get(client, focal_jam, as_of="2999-01-01").status_code == 400


def test_staleness_is_measured_from_the_as_of_day(client, ratings, focal_jam):
    # Set on 1 May 2024: stale today, not yet stale at the end of 2024.
    assert "Not confirmed in 12 months</span>" in _row(_page(client, focal_jam), "SALW-04")
    assert "Not confirmed in 12 months</span>" not in _row(_page(client, focal_jam, as_of="2024-12-31"), "SALW-04")


# Filters


def test_filters_narrow_the_measures_and_the_timeline(client, ratings, world, analyst, focal_jam):
    other = Section.objects.create(edition=world["edition"], code="D", title="UAS", position=3)
    drones = Measure.objects.create(
        edition=world["edition"], section=other, code="UAS-01", title="Drone registration",
        domain=Measure.Domain.UAS, phase=Measure.Phase.UPSTREAM, legislative=True,
    )  # fmt: skip
    factories.rating(
        state=world["jam"], measure=drones, status=Status.NOT_IMPLEMENTED, by=analyst, at=AT, reason="Drone law"
    )
    html = _page(client, focal_jam, domain=Measure.Domain.UAS)
    assert 'id="measure-UAS-01"' in html
    assert 'id="measure-SALW-04"' not in html
    assert "Drone law" in html
    assert "Initial rating" not in html


# Recommendations and needs


def test_open_recommendations_and_needs_are_listed(client, follow_up, focal_jam):
    html = _page(client, focal_jam)
    assert "Mark firearms on import." in html
    assert "Closed recommendation." not in html
    assert "overdue" in html  # due on 31 December 2024
    assert "Train customs on marking." in html
    assert "Delivered marking machines." not in html
    assert '<a href="#measure-SALW-04">SALW-04</a>' in html


# Empty State


def test_empty_profile_tells_an_analyst_to_record_an_assessment(client, world, analyst):
    html = _page(client, analyst)
    assert "No ratings yet" in html
    assert f'href="/admin/implementation/assessment/add/?state={world["jam"].pk}"' in html
    assert 'id="ratings-heading"' not in html


def test_empty_profile_tells_a_focal_point_to_report(client, world, focal_jam):
    html = _page(client, focal_jam)
    assert "No ratings yet" in html
    # Through their own page, as a submission: a focal point adds no rating in the admin.
    assert 'href="/my-state/JAM/"' in html
    assert "/admin/" not in html.split('id="empty-heading"')[1].split("</section>")[0]


def test_empty_profile_asks_nothing_of_a_coordinator(client, world, coordinator):
    html = _page(client, coordinator)
    assert "There is nothing to do yet" in html
    assert "/admin/" not in html.split('id="empty-heading"')[1].split("</section>")[0]


# Printing


def test_printed_copy_names_its_audience_and_date(client, ratings, focal_jam):
    html = _page(client, focal_jam)
    assert "Shared with the State concerned — not for publication" in html
    assert f"As of {timezone.localdate():%-d %B %Y}" in html
    assert "use your browser's Print" in html


@pytest.mark.parametrize(
    ("language", "notice", "pages"),
    [
        ("en", '@bottom-left { content: "Shared with the State concerned — not for publication";',
         '@bottom-right { content: "Page " counter(page) " of " counter(pages);'),
        ("fr", "@bottom-left { content: \"Partagé avec l’État concerné — ne pas publier\";",
         '@bottom-right { content: "Page " counter(page) " sur " counter(pages);'),
        # Right to left: the notice where the lines begin, on the right.
        ("ar", '@bottom-right { content: "',
         '@bottom-left { content: "الصفحة " counter(page) " من " counter(pages);'),
    ],
)  # fmt: skip
def test_each_printed_page_says_whom_it_is_for_and_its_number_in_the_readers_language(
    client, ratings, focal_jam, language, notice, pages
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = _page(client, focal_jam)
    assert f'<link rel="stylesheet" href="/print/{language}.css" media="print">' in html
    response = client.get(f"/print/{language}.css")
    assert response.status_code == 200 and response["Content-Type"] == "text/css; charset=utf-8"
    assert "max-age=86400" in response["Cache-Control"]
    css = response.content.decode()
    assert notice in css and pages in css, css


def test_the_print_stylesheet_of_an_unknown_language_is_not_found(client, db):
    assert client.get("/print/xx.css").status_code == 404
    assert client.post("/print/fr.css").status_code == 405


def test_the_printed_margins_quote_translations_safely():
    from implementation.views.dashboards import css_content, css_string

    assert css_string('Say "hi" \\ bye\nnow') == '"Say \\"hi\\" \\\\ bye\\A now"'
    assert css_content("%(page)s/%(pages)s") == 'counter(page) "/" counter(pages)'
    assert css_content("Page %(page)s of %(pages)s") == '"Page " counter(page) " of " counter(pages)'


# Downloads


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("ratings", "CTED assessment status"),
        ("timeline", "From"),
        ("recommendations", "Recommendation"),
        ("needs", "Description"),
        ("summary", "Status"),
    ],
)
def test_each_table_downloads_as_csv(client, follow_up, focal_jam, name, header):
    rows = _csv_rows(_get(client, focal_jam, export=name, format="csv"))
    assert rows
    assert header in rows[0]


def test_ratings_download_pairs_both_ratings(client, ratings, world, analyst, focal_jam):
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF_REPORTED, status=Status.LARGELY, by=analyst, at=AT,
        **SOURCED,
    )  # fmt: skip
    rows = {row["Measure"]: row for row in _csv_rows(_get(client, focal_jam, export="ratings", format="csv"))}
    assert rows["SALW-04"]["CTED assessment status"] == "Partially implemented"
    assert rows["SALW-04"]["Self-report status"] == "Largely implemented"
    assert rows["SALW-04"]["Differs"] == "yes"
    assert rows["SALW-06"]["CTED assessment status"] == ""


@pytest.mark.parametrize("name", ["ratings", "timeline", "recommendations", "needs"])
@pytest.mark.parametrize("who", ["focal_jam", "coordinator"])
def test_downloads_of_a_state_the_reader_may_not_see_are_not_found(client, ratings, name, who, request):
    response = _get(client, request.getfixturevalue(who), "/states/KEN/", export=name, format="csv")
    assert response.status_code == 404


def test_an_unknown_table_is_not_found(client, ratings, focal_jam):
    assert _get(client, focal_jam, export="notes", format="csv").status_code == 404


# Query counts


@pytest.fixture
def busy(world, ratings, follow_up, analyst):
    """Jamaica with eight more measures rated both ways, four times each, and more follow-up."""
    section = Section.objects.create(edition=world["edition"], code="C", title="Transfers", position=2)
    review = factories.assessment(
        state=world["jam"], conducted_on=dt.date(2024, 1, 10), confidentiality=Confidentiality.SHARED
    )
    for n in range(8):
        measure = Measure.objects.create(
            edition=world["edition"], section=section, code=f"XFER-{n:02}", title=f"Transfer control {n}",
            domain=Measure.Domain.SALW, phase=Measure.Phase.DOWNSTREAM, operational=True, position=n,
        )  # fmt: skip
        for step, status in enumerate([Status.NOT_IMPLEMENTED, Status.PARTIALLY, Status.LARGELY, Status.PARTIALLY]):
            for kind in Rating.Kind:
                factories.rating(
                    state=world["jam"], measure=measure, kind=kind, status=status, by=analyst,
                    at=AT + dt.timedelta(days=30 * step + n), reason=f"Step {step}",
                    assessment=review if kind == ASSESSED else None,
                )  # fmt: skip
        factories.recommendation(state=world["jam"], text=f"Recommendation {n}", measures=[measure, world["marking"]])
        factories.assistance_need(
            state=world["jam"], kind=AssistanceNeed.Kind.OTHER, description=f"Need {n}", measures=[measure]
        )
    assert Rating.history.filter(state=world["jam"]).count() > state_dashboard.TIMELINE_LENGTH


# The profile, for an analyst or a coordinator:
#  1. the session, 2. the user, 3. the State, through visible_to (the view),
#  4. the reader's roles (can_read_aggregates),
#  5. the States the reader may read, for the cache's key (implementation/caching.py, scope),
#  6. the data's fingerprint, the latest history row of every table a dashboard reads,
#  7. the measures the filters keep, with their sections,
#  8. the State's ratings of both kinds (or, as of a date, their history rows then),
#  9. the State's assessments shared with it,
# 10. the latest changes of the timeline, with their measure and user,
# 11. open recommendations, 12. their measures (prefetched),
# 13. the regions the State belongs to on the day,
# 14. open needs, 15. their measures (prefetched),
# 16. the workshop regions for the site menu,
# 17. the sections offered by the section filter,
# 18. an analyst's menu counts the submissions waiting for review.
# A focal point's menu names their own State instead: 18.
# Recommendations and needs are present in both sets of data: with none, Django skips
# the prefetch of their measures.
PAGE_QUERIES = 18
FOCAL_POINT_PAGE_QUERIES = 18
# A download: 1.-15. as above (no menu, no form), then 16. the table's own rows when they
# are not the page's: the State's full timeline, read in one query.
TIMELINE_EXPORT_QUERIES = 16


@pytest.mark.parametrize("params", [{}, {"as_of": "2025-01-01"}, {"domain": Measure.Domain.SALW}])
def test_query_count_is_fixed_on_small_data(client, follow_up, analyst, params, django_assert_num_queries):
    client.force_login(analyst)
    with django_assert_num_queries(PAGE_QUERIES):
        assert client.get("/states/JAM/", params).status_code == 200


@pytest.mark.parametrize("params", [{}, {"as_of": "2025-01-01"}, {"domain": Measure.Domain.SALW}])
def test_query_count_stays_fixed_with_many_ratings_and_changes(
    client, busy, analyst, params, django_assert_num_queries
):
    client.force_login(analyst)
    with django_assert_num_queries(PAGE_QUERIES):
        html = client.get("/states/JAM/", params).content.decode()
    assert 'id="measure-XFER-07"' in html


def test_query_count_is_fixed_for_a_focal_point(client, busy, focal_jam, django_assert_num_queries):
    client.force_login(focal_jam)
    with django_assert_num_queries(FOCAL_POINT_PAGE_QUERIES):
        assert client.get("/states/JAM/").status_code == 200


def test_query_count_is_fixed_for_a_coordinator(client, busy, coordinator, django_assert_num_queries):
    client.force_login(coordinator)
    # A coordinator's menu has no review count.
    with django_assert_num_queries(PAGE_QUERIES - 1):
        assert client.get("/states/JAM/").status_code == 200


@pytest.mark.parametrize("params", [{}, {"as_of": "2025-01-01"}])
def test_timeline_export_query_count_is_fixed(client, follow_up, analyst, params, django_assert_num_queries):
    client.force_login(analyst)
    with django_assert_num_queries(TIMELINE_EXPORT_QUERIES):
        response = client.get("/states/JAM/", {"export": "timeline", "format": "csv", **params})
        assert len(_csv_rows(response)) == 2


@pytest.mark.parametrize("params", [{}, {"as_of": "2025-01-01"}])
def test_timeline_export_query_count_stays_fixed_with_long_history(
    client, busy, analyst, params, django_assert_num_queries
):
    client.force_login(analyst)
    with django_assert_num_queries(TIMELINE_EXPORT_QUERIES):
        response = client.get("/states/JAM/", {"export": "timeline", "format": "csv", **params})
        rows = _csv_rows(response)
    assert len(rows) > state_dashboard.TIMELINE_LENGTH
