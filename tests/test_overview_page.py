"""
The overview page: the world map, the workshop-region cards and the tables behind them,
for each member of the cast. Ratings in the ``ratings`` fixture: SALW-04 for Jamaica and
for Kenya, assessed "partially implemented" on 1 May 2024.
"""

import csv
import datetime as dt
import io
import re
from pathlib import Path

import factories
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from implementation.models import Rating
from measures.models import Measure
from states.models import Workshop

Status = Rating.Status
ASSESSED = Rating.Kind.ASSESSED
AT = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
MEMBER_STATES_CSV = Path(__file__).resolve().parent.parent / "states" / "data" / "member_states.csv"
# The versioned address of the static outlines file, as a pattern.
OUTLINES = r"/static/map/world-outlines\.svg\?v=[0-9a-f]{12}"


def _page(client, user, **params):
    client.force_login(user)
    response = client.get("/", params)
    assert response.status_code == 200
    return response.content.decode()


def _linked(html):
    """ISO3 codes of the States the map links to a profile."""
    return set(re.findall(r'<a href="/states/([A-Z]{3})/"><title>', html))


def _title(html, iso3):
    """The map's ``<title>`` for the State drawn with ``data-iso3=iso3``."""
    match = re.search(rf'<title>([^<]*)</title><use class="state" data-iso3="{iso3}"', html)
    assert match, f"no map shape for {iso3}"
    return match.group(1)


def _csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


# Who may open the page


def test_anonymous_reader_is_sent_to_log_in(client, world):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_reader_with_no_role_is_refused(client, nobody):
    client.force_login(nobody)
    response = client.get("/")
    assert response.status_code == 403


@pytest.mark.parametrize("who", ["analyst", "focal_jam", "focal_ken", "coordinator"])
def test_page_renders_for_every_role(client, ratings, who, request):
    html = _page(client, request.getfixturevalue(who))
    assert "Member States by level of implementation" in html
    assert 'role="group" aria-labelledby="map-heading"' in html
    assert 'href="/regions/caribbean/"' in html
    assert 'href="/regions/east-africa/"' in html


# The map


@pytest.mark.parametrize("who", ["analyst", "focal_jam", "coordinator"])
def test_map_draws_every_state_whoever_reads_it(client, ratings, who, request):
    html = _page(client, request.getfixturevalue(who))
    # Each State is drawn from its own outline in the static outlines file.
    drawn = re.findall(rf'<use class="state" data-iso3="([A-Z]{{3}})" href="{OUTLINES}#\1"', html)
    assert sorted(drawn) == ["FRA", "JAM", "KEN", "TTO"]
    assert re.search(rf'<use class="land" href="{OUTLINES}#land"/>', html)


def test_the_page_carries_no_outlines(client, analyst, more_states):
    html = _page(client, analyst)
    assert len(re.findall(r'<use class="state"', html)) == 34
    # The legend's patterns draw short strokes; no State's outline is written into the page.
    assert not re.search(r' d="M[^"]{100,}"', html)
    assert len(html) < 60_000


def test_analyst_sees_every_state_linked_with_its_level(client, analyst, ratings):
    html = _page(client, analyst)
    assert _linked(html) == {"FRA", "JAM", "KEN", "TTO"}
    assert _title(html, "JAM") == (
        "Jamaica: Partially implemented (P), 0% implemented or largely, mean score 1.0 of 3 over 1 rating"
    )
    assert _title(html, "FRA") == "France: no ratings yet"
    assert "Not shared with you" not in html


def test_small_states_get_a_marker_so_they_can_be_clicked(client, analyst, ratings):
    html = _page(client, analyst)
    # Jamaica and Trinidad and Tobago are flagged small in world_map.json; Kenya and France are not.
    assert len(re.findall(r'<circle class="marker"', html)) == 2
    assert re.search(r'data-iso3="JAM" href="[^"]*#JAM" fill="url\(#map-partially\)"/><circle class="marker"', html)


def test_focal_point_sees_own_state_linked_and_other_states_not_shared(client, focal_jam, ratings):
    html = _page(client, focal_jam)
    assert _linked(html) == {"JAM"}
    assert 'href="/states/KEN/"' not in html
    # Kenya is drawn hatched, titled with its name only, and has no row in the table.
    assert _title(html, "KEN") == "Kenya"
    assert re.search(r'<g class="not-shared"><title>Kenya</title><use class="state" data-iso3="KEN"', html)
    assert 'fill="url(#map-hidden)"' in html
    assert "Not shared with you" in html
    assert "<td>KEN</td>" not in html
    assert "<td>Jamaica</td>" in html


def test_focal_point_export_of_states_holds_only_their_state(client, focal_jam, ratings):
    client.force_login(focal_jam)
    response = client.get("/", {"export": "states", "format": "csv"})
    assert response.status_code == 200
    rows = _csv_rows(response)
    assert [row["ISO3"] for row in rows] == ["JAM"]
    assert "Kenya" not in response.content.decode("utf-8-sig")


def test_coordinator_sees_their_regions_states_linked_and_not_others(client, coordinator, ratings):
    html = _page(client, coordinator)
    assert _linked(html) == {"JAM", "TTO"}
    assert _title(html, "TTO") == "Trinidad and Tobago: no ratings yet"
    assert _title(html, "KEN") == "Kenya"
    assert _title(html, "FRA") == "France"


def test_map_legend_counts_states_by_level(client, coordinator, ratings):
    html = _page(client, coordinator)
    legend = re.search(r'<ul class="legend map-legend".*?</ul>', html, re.S).group(0)
    assert re.search(r"Partially implemented <span class=\"muted\">\(1 State\)", legend)
    assert re.search(r"No ratings yet <span class=\"muted\">\(1 State\)", legend)
    assert re.search(r"Not shared with you <span class=\"muted\">\(2 States\)", legend)


# The region cards


def test_region_cards_give_states_figures_and_workshop(client, analyst, ratings, world):
    Workshop.objects.create(
        region=world["caribbean"], title="Caribbean workshop", starts_on=dt.date(2023, 6, 1),
        dates_approximate=True, status=Workshop.Status.PLANNED,
    )  # fmt: skip
    Workshop.objects.create(
        region=world["east_africa"], title="East Africa workshop", starts_on=dt.date(2023, 3, 7),
        status=Workshop.Status.HELD,
    )  # fmt: skip
    html = _page(client, analyst)
    cards = re.findall(r'<h3><a href="/regions/([a-z-]+)/">', html)
    caribbean = re.search(r'<h3><a href="/regions/caribbean/">.*?</li>', html, re.S).group(0)
    east_africa = re.search(r'<h3><a href="/regions/east-africa/">.*?</li>', html, re.S).group(0)
    assert cards == ["caribbean", "east-africa"]
    assert "2 Member States · 1 rating" in caribbean
    assert 'June 2023 <span class="muted">(approximate)</span>' in caribbean
    assert ">Planned<" in caribbean
    assert "1 Member State · 1 rating" in east_africa
    assert "7 March 2023" in east_africa and ">Held<" in east_africa
    assert 'class="stacked-bar"' in caribbean


# Filters


@pytest.fixture
def ied_rating(world, analyst, ratings):
    """An IED measure, assessed "implemented" for Jamaica."""
    measure = Measure.objects.create(
        edition=world["edition"], section=world["section"], code="IED-01", title="Control of explosive precursors",
        domain=Measure.Domain.IED, phase=Measure.Phase.UPSTREAM, legislative=True, position=2,
    )  # fmt: skip
    return factories.rating(
        state=world["jam"], measure=measure, status=Status.IMPLEMENTED, by=analyst, at=AT, explanation="Test rating.",
        source_document="Test source",
    )  # fmt: skip


def test_domain_filter_changes_the_figures(client, analyst, ied_rating):
    everything = _page(client, analyst)
    ied = _page(client, analyst, domain="ied")
    salw = _page(client, analyst, domain="salw")
    # Mean of partially (1) and implemented (3) is 2: largely implemented.
    assert _title(everything, "JAM").startswith("Jamaica: Largely implemented (L), 50% implemented or largely")
    assert _title(ied, "JAM").startswith("Jamaica: Implemented (I), 100% implemented or largely")
    assert _title(salw, "JAM").startswith("Jamaica: Partially implemented (P), 0% implemented or largely")
    assert _title(ied, "KEN") == "Kenya: no ratings yet"
    assert "<strong>IED components</strong> measures only" in ied
    east_africa = re.search(r'<h3><a href="/regions/east-africa/">.*?</li>', ied, re.S).group(0)
    assert "0 ratings" in east_africa


def test_domain_with_no_ratings_shows_the_empty_state(client, analyst, ratings):
    html = _page(client, analyst, domain="uas")
    assert "No ratings match these filters" in html
    assert "Choose another weapon domain" in html


def test_as_of_puts_the_date_in_the_heading(client, analyst, ratings):
    html = _page(client, analyst, as_of="2024-06-01")
    assert '<span class="as-of">as of 1 June 2024</span></h1>' in html
    assert _title(html, "JAM").startswith("Jamaica: Partially implemented (P)")


def test_as_of_before_any_rating_shows_the_empty_state_with_map_and_cards(client, analyst, ratings):
    html = _page(client, analyst, as_of="2024-01-01")
    assert 'class="empty-state"' in html
    assert "No assessed rating had been recorded by the end of 1 January 2024" in html
    assert _title(html, "JAM") == "Jamaica: no ratings yet"
    assert len(re.findall(r'<use class="state"', html)) == 4
    assert 'href="/regions/caribbean/"' in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"as_of": "2999-01-01"}, "history does not know the future"),
        ({"as_of": "yesterday"}, "Enter a valid date."),
        ({"domain": "nuclear"}, "Select a valid choice."),
    ],
)
def test_bad_filter_is_refused_with_the_reason(client, analyst, params, message):
    client.force_login(analyst)
    response = client.get("/", params)
    assert response.status_code == 400
    assert message in response.content.decode()


# Empty tracker


def test_empty_tracker_tells_analysts_to_record_an_assessment(client, analyst):
    html = _page(client, analyst)
    assert "No ratings yet</h2>" in html
    assert 'href="/admin/implementation/assessment/add/"' in html
    assert len(re.findall(r'<use class="state"[^>]*fill="url\(#map-none\)"', html)) == 4
    assert 'href="/regions/caribbean/"' in html


def test_empty_tracker_tells_others_that_ratings_come_from_cted(client, focal_jam):
    html = _page(client, focal_jam)
    assert "Ratings appear here once CTED records an assessment" in html
    assert "/admin/implementation/assessment/add/" not in html


# Exports


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("analyst", ["FRA", "JAM", "KEN", "TTO"]),
        ("focal_jam", ["JAM"]),
        ("focal_ken", ["KEN"]),
        ("coordinator", ["JAM", "TTO"]),
    ],
)
def test_states_export_lists_the_states_each_reader_may_see(client, ratings, who, expected, request):
    client.force_login(request.getfixturevalue(who))
    response = client.get("/", {"export": "states", "format": "csv"})
    assert response.status_code == 200
    rows = _csv_rows(response)
    assert [row["ISO3"] for row in rows] == expected
    by_iso3 = {row["ISO3"]: row for row in rows}
    if "JAM" in by_iso3:
        assert by_iso3["JAM"]["Level"] == "Partially implemented"
        assert by_iso3["JAM"]["Partially implemented"] == "1"


def test_states_export_is_refused_to_a_reader_with_no_role(client, nobody):
    client.force_login(nobody)
    assert client.get("/", {"export": "states", "format": "csv"}).status_code == 403


def test_states_export_keeps_the_filters(client, analyst, ied_rating):
    client.force_login(analyst)
    rows = _csv_rows(client.get("/", {"export": "states", "format": "csv", "domain": "ied"}))
    by_iso3 = {row["ISO3"]: row for row in rows}
    assert by_iso3["JAM"]["Level"] == "Implemented"
    assert by_iso3["KEN"]["Level"] == ""


def test_regions_export_gives_every_region(client, focal_jam, ratings):
    client.force_login(focal_jam)
    rows = _csv_rows(client.get("/", {"export": "regions", "format": "csv"}))
    assert [row["Region"] for row in rows] == ["Caribbean", "East Africa"]


# Query counts


def _member_state_rows(count, skip):
    with MEMBER_STATES_CSV.open(encoding="utf-8", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["iso3"] not in skip]
    return rows[:count]


@pytest.fixture
def more_states(world, analyst, ratings):
    """30 more real Member States in both regions, each with both measures assessed, and a workshop per region."""
    statuses = [Status.IMPLEMENTED, Status.LARGELY, Status.PARTIALLY, Status.NOT_IMPLEMENTED, Status.NO_INFORMATION]
    for i, row in enumerate(_member_state_rows(30, skip={"JAM", "TTO", "KEN", "FRA"})):
        state = factories.member_state(
            iso3=row["iso3"], iso2=row["iso2"], m49=row["m49"], name=row["name"], m49_region=row["m49_region"],
            m49_subregion=row["m49_subregion"], region=world["caribbean" if i % 2 else "east_africa"],
        )  # fmt: skip
        for j, measure in enumerate([world["marking"], world["records"]]):
            factories.rating(
                state=state, measure=measure, status=statuses[(i + j) % len(statuses)], by=analyst, at=AT,
                explanation="Test rating.", source_document="Test source",
            )  # fmt: skip
    for region in (world["caribbean"], world["east_africa"]):
        for year in (2022, 2023):
            Workshop.objects.create(region=region, title=f"{region} {year}", starts_on=dt.date(year, 3, 1))


# The page's queries, whatever the number of States, ratings and workshops:
#  1. the session, 2. the user,
#  3. the reader's role kinds (can_read_aggregates, cached on the user for what follows),
#  4. the States the reader may read, for the cache's key (implementation/caching.py, scope),
#  5. the data's fingerprint, the latest history row of every table a dashboard reads,
#  6. every State, flagged with whether the reader may see its detail,
#  7. the assessed ratings of the current edition, through the filters, counted by State,
#  8. the workshop regions, 9. their workshops (prefetched),
# 10. the region memberships in force,
# 11. the workshop regions' ratings by measure, for the cards (dashboards.tallies.MeasureCounts),
# 12. the workshop regions again, for the site menu.
# A focal point's menu also names their own State: 13; an analyst's counts the submissions
# waiting for review: 13.
ANALYST_QUERIES = 13
FOCAL_POINT_QUERIES = 13


def test_query_count_is_fixed_for_an_analyst(client, analyst, ratings, django_assert_num_queries):
    client.force_login(analyst)
    with django_assert_num_queries(ANALYST_QUERIES):
        assert client.get("/").status_code == 200


def test_query_count_stays_fixed_with_many_more_states(client, analyst, more_states, django_assert_num_queries):
    client.force_login(analyst)
    with django_assert_num_queries(ANALYST_QUERIES):
        html = client.get("/").content.decode()
    assert len(re.findall(r'<use class="state"', html)) == 34


def test_query_count_is_fixed_for_a_focal_point(client, focal_jam, more_states, django_assert_num_queries):
    client.force_login(focal_jam)
    with django_assert_num_queries(FOCAL_POINT_QUERIES):
        assert client.get("/").status_code == 200


def test_query_count_is_fixed_with_filters(client, analyst, more_states, django_assert_num_queries):
    client.force_login(analyst)
    with django_assert_num_queries(ANALYST_QUERIES):
        assert client.get("/", {"domain": "salw", "as_of": "2024-06-01"}).status_code == 200


def test_export_issues_no_query_for_the_page_around_it(client, analyst, more_states):
    client.force_login(analyst)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/", {"export": "states", "format": "csv"})
    assert len(_csv_rows(response)) == 34
    # The page's queries less the site menu (its regions and the review count), which an export does not render.
    assert len(queries) == ANALYST_QUERIES - 2
