"""The region page, /regions/<slug>/, as each member of the cast sees it."""

import csv
import datetime as dt
import io
import re

import factories
import pytest

from implementation.models import Rating
from states.models import Workshop

Status = Rating.Status
ASSESSED, SELF_REPORTED = Rating.Kind.ASSESSED, Rating.Kind.SELF_REPORTED
AT_2024 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
AT_2025 = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)


def page(client, user, slug, query=""):
    client.force_login(user)
    return client.get(f"/regions/{slug}/{query}")


def export(client, user, slug, table, query=""):
    client.force_login(user)
    response = client.get(f"/regions/{slug}/?export={table}&format=csv{query}")
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def cell(html, iso3, code):
    """The heat-map cell of ``iso3`` × measure ``code`` (its link), or None when the page has none."""
    match = re.search(rf'<td>(<a class="[^"]*" href="/states/{iso3}/#measure-{code}" .*?</a>)</td>', html, re.S)
    return match.group(1) if match else None


# Who may open the page


def test_anonymous_reader_is_sent_to_log_in(client, world):
    response = client.get("/regions/caribbean/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_someone_without_a_role_is_refused(client, nobody):
    assert page(client, nobody, "caribbean").status_code == 403


def test_an_unknown_region_is_not_found(client, analyst):
    assert page(client, analyst, "atlantis").status_code == 404


# Who sees which States


def test_analyst_sees_every_states_cells(client, analyst, ratings, world):
    html = page(client, analyst, "caribbean").content.decode()
    assert cell(html, "JAM", "SALW-04") is not None
    # Not rated at all: empty cells, still links, to the profile as a whole.
    assert html.count('href="/states/TTO/" title="Trinidad and Tobago, SALW-0') == 2
    assert "Per-State detail is shared only with" not in html
    html = page(client, analyst, "east-africa").content.decode()
    assert cell(html, "KEN", "SALW-04") is not None


def test_focal_point_sees_only_their_own_states_cells(client, focal_jam, ratings, world):
    response = page(client, focal_jam, "caribbean")
    html = response.content.decode()
    assert cell(html, "JAM", "SALW-04") is not None
    assert "/states/TTO/" not in html and "Trinidad and Tobago" not in html
    assert [row[1] for row in export(client, focal_jam, "caribbean", "heatmap")[1:]] == ["JAM", "JAM"]
    # Trinidad and Tobago still counts in the region's figures, unnamed.
    assert "the other 1 count in the totals without being named" in html


def test_coordinator_sees_their_region_in_full(client, coordinator, ratings, world):
    html = page(client, coordinator, "caribbean").content.decode()
    # Trinidad and Tobago has no rating: its two cells link to its profile as a whole.
    assert cell(html, "JAM", "SALW-04") is not None
    assert html.count('href="/states/TTO/" title="Trinidad and Tobago, SALW-0') == 2
    assert {row[1] for row in export(client, coordinator, "caribbean", "heatmap")[1:]} == {"JAM", "TTO"}


def test_coordinator_sees_only_aggregates_of_another_region(client, coordinator, ratings, world, add_rated_states):
    add_rated_states("east_africa", 2)
    html = page(client, coordinator, "east-africa").content.decode()
    assert "Per-State detail is shared only with" in html
    assert "Kenya" not in html and "/states/KEN/" not in html and ">KEN<" not in html
    assert cell(html, "KEN", "SALW-04") is None
    # Kenya's assessment counts with the two others: three ratings, partially implemented (a mean score of 1.0).
    assert "3 rated" in html and "<strong>1.0</strong> / 3" in html and "Withheld" not in html
    rows = export(client, coordinator, "east-africa", "heatmap")
    assert len(rows) == 1 and not any("KEN" in value or "Kenya" in value for value in rows[0])
    assert export(client, coordinator, "east-africa", "states")[1:] == []


def test_a_total_of_one_hidden_state_is_withheld_from_the_page_and_its_downloads(client, coordinator, ratings, world):
    # Kenya is the only State of East Africa with an assessment: its total would be Kenya's own ratings.
    html = page(client, coordinator, "east-africa").content.decode()
    assert "Withheld: it counts fewer than 3 States not shared with you" in html
    assert "Withheld: the trend counts fewer than 3 States not shared with you." in html
    assert "Figures that would count fewer than 3 Member States not shared with you are withheld" in html
    assert "rated" not in re.sub(r"<[^>]+>", " ", html.split('id="progress-heading"')[1].split("</section>")[0])
    assert "<strong>1.0</strong>" not in html and "Partially implemented: 1" not in html
    for table in ("domains", "sections"):
        header, *rows = export(client, coordinator, "east-africa", table)
        assert rows and all(value == "" for row in rows for value in row[1:]), (table, rows)
    assert export(client, coordinator, "east-africa", "least")[1:] == []
    assert export(client, coordinator, "east-africa", "trend")[1:] == []


def test_focal_point_of_another_region_sees_only_aggregates(client, focal_ken, ratings, world):
    html = page(client, focal_ken, "caribbean").content.decode()
    assert "Per-State detail is shared only with" in html
    assert "Jamaica" not in html and cell(html, "JAM", "SALW-04") is None


# What the heat map shows


def test_each_cell_links_to_a_place_its_states_profile_has(client, analyst, ratings, world):
    html = page(client, analyst, "caribbean").content.decode()
    links = set(re.findall(r'<td><a class="[^"]*" href="(/states/[A-Z]{3}/[^"]*)"', html))
    # Jamaica is rated: its cells open its profile at each measure. Trinidad and Tobago is not: its
    # profile says so and lists no measure, so its cells open the profile itself.
    assert links == {"/states/JAM/#measure-SALW-04", "/states/JAM/#measure-SALW-06", "/states/TTO/"}
    for link in links:
        path, _, anchor = link.partition("#")
        profile = client.get(path).content.decode()
        assert (
            (f'id="{anchor}"' in profile)
            if anchor
            else ('id="measure-' not in profile and "has no ratings" in profile)
        )


def test_the_marker_shows_where_the_self_report_differs(client, analyst, ratings, world):
    factories.rating(
        state=world["jam"], measure=world["records"], status=Status.LARGELY, by=analyst, at=AT_2024, reason="test"
    )
    factories.rating(
        state=world["jam"], measure=world["records"], kind=SELF_REPORTED, status=Status.PARTIALLY, by=analyst,
        at=AT_2024, reason="test",
    )  # fmt: skip
    html = page(client, analyst, "caribbean").content.decode()
    differs = cell(html, "JAM", "SALW-06")
    assert differs.startswith('<a class="hm-largely hm-differs" ')
    assert "CTED assessment: Largely implemented. Self-report: Partially implemented (differs)." in differs
    assert differs.endswith('">L</a>')
    # Both ratings of SALW-04 say "partially": no marker.
    same = cell(html, "JAM", "SALW-04")
    assert "hm-differs" not in same and "Self-report: Partially implemented." in same
    assert "1 self-report differs" in html


def test_the_heat_map_groups_measures_by_section_and_has_its_data_table(client, analyst, ratings, world):
    html = page(client, analyst, "caribbean").content.decode()
    assert '<th scope="rowgroup" colspan="3"><span>B. SALW controls</span></th>' in html
    assert 'aria-labelledby="heatmap-heading"' in html
    # Its data table is on a page of its own (tests/test_region_table.py), which the heat map links to.
    assert '<a href="/regions/caribbean/table/">Show the data table</a>' in html
    assert "<caption>Ratings, Caribbean" not in html


def test_the_heat_maps_data_table_gives_both_ratings_of_every_state_and_measure(client, analyst, ratings, world):
    factories.rating(
        state=world["jam"], measure=world["records"], status=Status.LARGELY, by=analyst, at=AT_2024, reason="test"
    )
    factories.rating(
        state=world["jam"], measure=world["records"], kind=SELF_REPORTED, status=Status.PARTIALLY, by=analyst,
        at=AT_2024, reason="test",
    )  # fmt: skip
    client.force_login(analyst)
    html = client.get("/regions/caribbean/table/").content.decode()
    table = re.search(r"<caption>Ratings, Caribbean.*?</table>", html, re.S).group(0)
    records = world["records"]
    jamaica = ["Jamaica", "JAM", str(records.section), "SALW-06", records.title]
    assert (
        "<tr>"
        + "".join(f"<td>{value}</td>" for value in jamaica)
        + ("<td>Largely implemented</td><td>Partially implemented</td><td>yes</td></tr>")
        in table
    )
    # Trinidad and Tobago has no rating of SALW-06: its row is there, empty.
    assert "<td>TTO</td><td>" in table and table.count("<tr><td>") == 4
    rows = export(client, analyst, "caribbean", "heatmap")
    assert rows[0][-3:] == ["CTED assessment", "Self-report", "Self-report differs"]
    assert [*jamaica, "Largely implemented", "Partially implemented", "yes"] in rows
    assert ["Trinidad and Tobago", "TTO", *jamaica[2:], "", "", ""] in rows


# History: trend and "as of"


def test_the_trend_follows_history(client, analyst, ratings, world):
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst, at=AT_2025, reason="test"
    )
    rows = export(client, analyst, "caribbean", "trend")
    # Jamaica alone is rated in the Caribbean: partially (1) from 2024 Q2, implemented (3) from 2025 Q3.
    assert rows[1:] == [["2024-04-01", "1.0", "1"], ["2025-07-01", "3.0", "1"]]
    html = page(client, analyst, "caribbean").content.decode()
    assert "Q3 2025: mean score 3.00 over 1 rated measure</title>" in html
    assert 'class="trend-line" d="M' in html


def test_the_trend_marks_the_workshops_planned_ones_dashed(client, analyst, ratings, world):
    Workshop.objects.create(region=world["caribbean"], title="Kingston workshop", starts_on=dt.date(2024, 9, 10))
    Workshop.objects.create(
        region=world["caribbean"], title="Follow-up", starts_on=dt.date(2023, 3, 1), status=Workshop.Status.HELD
    )
    html = page(client, analyst, "caribbean").content.decode()
    assert '<g class="workshop-mark planned">' in html and "Workshop Sep 2024 (planned)" in html
    assert '<g class="workshop-mark">' in html and "Workshop Mar 2023<" in html


def test_as_of_shows_the_status_of_that_day(client, analyst, ratings, world):
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst, at=AT_2025, reason="test"
    )
    html = page(client, analyst, "caribbean", "?as_of=2024-12-31").content.decode()
    assert "CTED assessment: Partially implemented." in cell(html, "JAM", "SALW-04")
    assert "as of 31 December 2024" in html
    html = page(client, analyst, "caribbean").content.decode()
    assert "CTED assessment: Implemented." in cell(html, "JAM", "SALW-04")


def test_the_status_filter_keeps_matching_assessments_only(client, analyst, ratings, world):
    factories.rating(
        state=world["tto"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst, at=AT_2024, reason="test"
    )
    html = page(client, analyst, "caribbean", "?status=implemented").content.decode()
    assert "CTED assessment: Implemented." in cell(html, "TTO", "SALW-04")
    # Jamaica's "partially" is filtered out of the map; its self-report still shows.
    jam = cell(html, "JAM", "SALW-04")
    assert "CTED assessment: none. Self-report: Partially implemented." in jam and 'class="hm-none"' in jam
    rows = export(client, analyst, "caribbean", "states", "&status=implemented")
    assert [(row[0], row[5]) for row in rows[1:]] == [("Jamaica", "0"), ("Trinidad and Tobago", "1")]


def test_the_section_filter_offers_the_current_editions_sections(client, analyst, ratings, world):
    html = page(client, analyst, "caribbean", "?section=B").content.decode()
    assert '<option value="B" selected>B. SALW controls</option>' in html


# A region without assessments


def test_an_empty_region_tells_an_analyst_to_record_an_assessment(client, analyst, world):
    html = page(client, analyst, "caribbean").content.decode()
    assert "No CTED assessment of this region's States yet" in html
    assert 'href="/admin/implementation/assessment/add/"' in html


def test_an_empty_region_tells_others_the_figures_come_with_assessments(client, coordinator, world):
    html = page(client, coordinator, "caribbean").content.decode()
    assert "appear here once CTED records assessments" in html
    assert "/admin/implementation/assessment/add/" not in html


def test_an_empty_region_does_not_say_so_to_a_reader_it_hides_states_from(client, focal_jam, world):
    # Trinidad and Tobago is hidden from Jamaica's focal point: "no assessment yet" would be news about it.
    html = page(client, focal_jam, "caribbean").content.decode()
    assert "No CTED assessment of this region's States yet" not in html
    assert "Withheld: it counts fewer than 3 States not shared with you" in html


def test_filters_that_match_nothing_say_so(client, analyst, ratings, world):
    html = page(client, analyst, "caribbean", "?status=not_applicable").content.decode()
    assert "No CTED assessment matches these filters" in html


def test_open_needs_are_counted_for_all_and_listed_for_the_states_shown(
    client, focal_jam, ratings, world, add_rated_states
):
    for key in ("jam", "tto"):
        factories.assistance_need(state=world[key], description=f"Train {key} customs")
    # Trinidad and Tobago is the only other State with a need: the count would give its own away.
    html = page(client, focal_jam, "caribbean").content.decode()
    assert "The count of the region's open needs is withheld" in html and "open needs across" not in html
    assert "Train jam customs" in html and "Train tto customs" not in html
    add_rated_states("caribbean", 2, needs=2)
    html = page(client, focal_jam, "caribbean").content.decode()
    assert "<strong>6</strong> open needs across the region's Member States." in html
    assert "open needs is withheld" not in html
    assert "Train jam customs" in html and "Train tto customs" not in html


# A fixed number of queries, whatever the size of the region


@pytest.fixture
def crowded_caribbean(world, analyst):
    """Thirty more Caribbean States, each rated on both measures (both kinds) and revised once since."""
    for i in range(30):
        state = factories.member_state(
            iso3=f"Q{chr(65 + i // 26)}{chr(65 + i % 26)}",
            iso2=f"{'QX'[i // 26]}{chr(65 + i % 26)}",
            m49=f"{900 + i}",
            name=f"Test State {i:02}",
            region=world["caribbean"],
            m49_region="Americas",
            m49_subregion="Caribbean",
        )
        world[state.iso3] = state
        for measure in ("marking", "records"):
            for kind in (ASSESSED, SELF_REPORTED):
                factories.rating(
                    state=world[state.iso3], measure=world[measure], kind=kind, status=Status.PARTIALLY, by=analyst,
                    at=AT_2024, reason="test",
                )  # fmt: skip
            factories.rating(
                state=world[state.iso3], measure=world[measure], status=Status.LARGELY, by=analyst, at=AT_2025,
                reason="test",
            )  # fmt: skip
        factories.assistance_need(state=state, measures=[world["marking"]])
    return world


def _needs(world):
    factories.assistance_need(state=world["jam"], measures=[world["marking"]])


# The region page as an analyst reads it:
#  1. the session, 2. the user, 3. the region, 4. the user's roles (can_read_aggregates; cached
#  for is_analyst), 5. the States the reader may read, for the cache's key (implementation/caching.py,
#  scope), 6. the data's fingerprint, the latest history row of every table a dashboard reads,
#  7. the region's States flagged visible or not, 8. the measures with their
#  sections, 9. assessed ratings, 10. self-reported ratings, 11. the history summed by quarter,
# 12. workshops, 13. open needs of the States shown (with their State), 14. those needs' measures,
# 15. all the region's open needs counted, 16. the menu's regions, 17. the section filter's choices,
# 18. the menu's count of submissions waiting for review (analysts only).
REGION_PAGE_QUERIES = 18


@pytest.mark.parametrize("query", ["", "?as_of=2025-12-31", "?status=largely&section=B"])
def test_query_count_does_not_grow_with_the_region(
    client, analyst, ratings, world, crowded_caribbean, django_assert_num_queries, query
):
    _needs(world)
    client.force_login(analyst)
    factories.assistance_need(state=world["ken"])
    with django_assert_num_queries(REGION_PAGE_QUERIES):
        small = client.get(f"/regions/east-africa/{query}")
    with django_assert_num_queries(REGION_PAGE_QUERIES):
        large = client.get(f"/regions/caribbean/{query}")
    assert small.status_code == large.status_code == 200
    assert large.content.decode().count('" href="/states/Q') == 60  # 30 States × 2 measures


def test_query_count_for_a_focal_point_adds_only_their_own_state_for_the_menu(
    client, focal_jam, ratings, world, crowded_caribbean, django_assert_num_queries
):
    _needs(world)
    client.force_login(focal_jam)
    # As for an analyst, less the review count, plus 18. the focal point's own State for the menu, and
    # 19. when each State hidden from them first counts in the trend (dashboards.build_region_board, 5a).
    with django_assert_num_queries(REGION_PAGE_QUERIES + 1):
        client.get("/regions/caribbean/?as_of=2025-12-31")
