"""A region's data table on its own page, /regions/<slug>/table/, and the light heat map that links to it."""

import csv
import datetime as dt
import io
import re
from html.parser import HTMLParser

import factories
import pytest

from implementation.dashboards.region import RegionTable
from implementation.models import Rating
from measures.models import Measure

Status = Rating.Status
ASSESSED, SELF_REPORTED = Rating.Kind.ASSESSED, Rating.Kind.SELF_REPORTED
AT_2024 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def get(client, user, path):
    client.force_login(user)
    return client.get(path)


def csv_rows(response):
    assert response.status_code == 200, response.content[:500]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def table_rows(html):
    """The body rows of the table page's table, each as its cells' texts."""
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


class ElementCounter(HTMLParser):
    """Counts the elements of a page, all of them and those inside the heat map's cells."""

    def __init__(self):
        super().__init__()
        self.elements, self.in_heatmap, self.in_cell, self.cells, self.cell_elements = 0, False, False, 0, 0

    def handle_starttag(self, tag, attrs):
        self.elements += 1
        if tag == "table" and ("class", "heatmap") in attrs:
            self.in_heatmap = True
        elif self.in_heatmap and tag == "td":
            self.in_cell, self.cells = True, self.cells + 1
        if self.in_cell:
            self.cell_elements += 1

    def handle_endtag(self, tag):
        if tag == "td":
            self.in_cell = False
        elif tag == "table":
            self.in_heatmap = False


def count_elements(html):
    counter = ElementCounter()
    counter.feed(html)
    return counter


@pytest.fixture
def wide_caribbean(world, analyst):
    """24 more Caribbean States and 10 more measures: 26 States × 12 measures, a few of them rated."""
    for i in range(24):
        world[f"Q{i:02}"] = factories.member_state(
            iso3=f"QA{chr(65 + i)}", iso2=f"Q{chr(65 + i)}", m49=f"{900 + i}", name=f"Test State {i:02}",
            region=world["caribbean"],
        )  # fmt: skip
    for i in range(10):
        Measure.objects.create(
            edition=world["edition"], section=world["section"], code=f"SALW-{20 + i}", title=f"Measure {i}",
            domain=Measure.Domain.SALW, phase=Measure.Phase.UPSTREAM, legislative=True, position=2 + i,
        )  # fmt: skip
    for i, status in enumerate([Status.IMPLEMENTED, Status.LARGELY, Status.NO_INFORMATION]):
        factories.rating(state=world[f"Q{i:02}"], measure=world["records"], status=status, by=analyst, at=AT_2024)
    factories.rating(
        state=world["Q00"], measure=world["records"], kind=SELF_REPORTED, status=Status.PARTIALLY, by=analyst,
        at=AT_2024,
    )  # fmt: skip
    return world


# Who may open it, and which rows each reader gets


def test_anonymous_reader_is_sent_to_log_in(client, world):
    response = client.get("/regions/caribbean/table/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_someone_without_a_role_is_refused(client, nobody):
    assert get(client, nobody, "/regions/caribbean/table/").status_code == 403


def test_an_unknown_region_is_not_found(client, analyst):
    assert get(client, analyst, "/regions/atlantis/table/").status_code == 404


@pytest.mark.parametrize("reader", ["analyst", "coordinator", "focal_jam", "focal_ken"])
@pytest.mark.parametrize("query", ["", "?status=partially", "?as_of=2024-01-01", "?domain=ied", "?state=JAM"])
def test_each_reader_gets_the_rows_the_region_page_gives_them(client, request, ratings, world, reader, query):
    user = request.getfixturevalue(reader)
    separator = "&" if query else "?"
    page = get(client, user, f"/regions/caribbean/table/{query}")
    old = get(client, user, f"/regions/caribbean/{query}{separator}export=heatmap&format=csv")
    if reader == "focal_ken" and "state=JAM" in query:
        # Kenya's focal point may not name Jamaica, here as on the region page.
        assert page.status_code == old.status_code == 400
        return
    header, *expected = csv_rows(old)
    assert page.status_code == 200
    assert table_rows(page.content.decode()) == (expected or [["No rows."]])
    assert csv_rows(get(client, user, f"/regions/caribbean/table/{query}{separator}export=heatmap&format=csv")) == [
        header,
        *expected,
    ]


def test_a_focal_point_sees_only_their_own_states_rows(client, focal_jam, ratings, world):
    html = get(client, focal_jam, "/regions/caribbean/table/").content.decode()
    assert {row[1] for row in table_rows(html)} == {"JAM"}
    assert "Trinidad" not in html


def test_a_reader_who_sees_no_state_of_the_region_gets_no_rows(client, focal_ken, ratings, world):
    html = get(client, focal_ken, "/regions/caribbean/table/").content.decode()
    assert table_rows(html) == [["No rows."]] and "Jamaica" not in html


# Order


def test_rows_are_sorted_by_the_column_asked_ties_by_state_then_measure(client, analyst, ratings, world):
    factories.rating(state=world["tto"], measure=world["records"], status=Status.IMPLEMENTED, by=analyst)
    pairs = lambda html: [(row[1], row[3]) for row in table_rows(html)]  # noqa: E731
    url = "/regions/caribbean/table/"
    default = [("JAM", "SALW-04"), ("JAM", "SALW-06"), ("TTO", "SALW-04"), ("TTO", "SALW-06")]
    assert pairs(get(client, analyst, url).content.decode()) == default
    assert pairs(get(client, analyst, url + "?sort=state").content.decode()) == default
    down = pairs(get(client, analyst, url + "?sort=-state").content.decode())
    assert down == [("TTO", "SALW-04"), ("TTO", "SALW-06"), ("JAM", "SALW-04"), ("JAM", "SALW-06")]
    # Statuses as the key lists them (implemented first), the unrated last; ties by State, then measure.
    by_status = pairs(get(client, analyst, url + "?sort=assessed").content.decode())
    assert by_status == [("TTO", "SALW-06"), ("JAM", "SALW-04"), ("JAM", "SALW-06"), ("TTO", "SALW-04")]
    by_status_down = pairs(get(client, analyst, url + "?sort=-assessed").content.decode())
    assert by_status_down == [("JAM", "SALW-06"), ("TTO", "SALW-04"), ("JAM", "SALW-04"), ("TTO", "SALW-06")]
    by_measure_down = pairs(get(client, analyst, url + "?sort=-measure").content.decode())
    assert by_measure_down == [("JAM", "SALW-06"), ("TTO", "SALW-06"), ("JAM", "SALW-04"), ("TTO", "SALW-04")]


def test_the_sorted_column_says_so_and_each_header_links_to_its_order(client, analyst, ratings, world):
    html = get(client, analyst, "/regions/caribbean/table/?status=partially&sort=assessed&page=1").content.decode()
    headers = re.findall(r"<th scope=\"col\"([^>]*)><a href=\"([^\"]*)\">([^<]*)</a></th>", html)
    assert [name for _, _, name in headers][:2] == ["Member State", "ISO3"]
    assert [attrs for attrs, _, _ in headers].count(' aria-sort="ascending"') == 1
    sorted_by = dict((name, (attrs, href)) for attrs, href, name in headers)["CTED assessment"]
    # The sorted column's link turns the order round; every link keeps the filters and starts at page 1.
    assert sorted_by == (' aria-sort="ascending"', "?status=partially&amp;sort=-assessed")
    assert dict((name, href) for _, href, name in headers)["Measure"] == "?status=partially&amp;sort=measure"
    down = get(client, analyst, "/regions/caribbean/table/?sort=-iso3").content.decode()
    assert '<th scope="col" aria-sort="descending"><a href="?sort=iso3">ISO3</a></th>' in down


def test_an_unknown_order_is_refused_like_a_bad_filter(client, analyst, ratings, world):
    response = get(client, analyst, "/regions/caribbean/table/?sort=password")
    assert response.status_code == 400
    assert "These filters could not be used" in response.content.decode()
    assert (
        get(client, analyst, "/regions/caribbean/table/?sort=-password&export=heatmap&format=csv").status_code == 400
    )


# Pages


def test_the_table_is_paged_the_links_keep_the_filters_and_the_downloads_give_every_row(
    client, analyst, wide_caribbean, monkeypatch
):
    monkeypatch.setattr(RegionTable, "page_size", 100)
    url = "/regions/caribbean/table/?domain=salw&sort=-iso3"
    first = get(client, analyst, url).content.decode()
    rows = table_rows(first)
    assert len(rows) == 100 and rows[0][1] == "TTO"
    assert "rows 1 to 100 of 312" in first
    assert '<a href="?domain=salw&amp;sort=-iso3&amp;page=2" rel="next">Next page</a>' in first
    assert '<a href="?domain=salw&amp;sort=-iso3&amp;page=1" aria-current="page">1</a>' in first
    assert 'href="?domain=salw&amp;sort=-iso3&amp;page=4">4</a>' in first
    last = get(client, analyst, url + "&page=4").content.decode()
    assert len(table_rows(last)) == 12 and "rows 301 to 312 of 312" in last and 'rel="next"' not in last
    # A page past the last shows the last; the downloads are the whole table, in the order asked.
    assert table_rows(get(client, analyst, url + "&page=99").content.decode()) == table_rows(last)
    assert 'href="?domain=salw&amp;sort=-iso3&amp;export=heatmap&amp;format=csv"' in last
    header, *every = csv_rows(get(client, analyst, url + "&page=2&export=heatmap&format=csv"))
    assert len(every) == 312 and every[:100] == rows
    assert every[-1][1] == "JAM"


# The table page as an analyst reads it:
#  1. the session, 2. the user, 3. the region, 4. the user's roles, 5. the region's States flagged
#  visible or not, 6. the measures with their sections, 7. assessed ratings, 8. self-reported ratings,
#  9. the menu's regions, 10. the section filter's choices, 11. the menu's count of submissions
#  waiting for review (analysts only), 12. the reader's scope and 13. the data's fingerprint (the cache's key).
REGION_TABLE_QUERIES = 13
# Served from the cache: the session, the user, the region, the roles, the scope, the fingerprint, then the
# menu's regions and review count around the kept content (the filters' form is in it, choices and all).
REGION_TABLE_HIT_QUERIES = 8


@pytest.mark.parametrize("query", ["", "?page=3&sort=-reported", "?status=largely&section=B&sort=title"])
def test_query_count_does_not_grow_with_rows_or_pages(
    client, analyst, ratings, wide_caribbean, django_assert_num_queries, query
):
    client.force_login(analyst)
    with django_assert_num_queries(REGION_TABLE_QUERIES):
        small = client.get(f"/regions/east-africa/table/{query}")
    with django_assert_num_queries(REGION_TABLE_QUERIES):
        large = client.get(f"/regions/caribbean/table/{query}")
    assert small.status_code == large.status_code == 200
    with django_assert_num_queries(REGION_TABLE_HIT_QUERIES):
        again = client.get(f"/regions/caribbean/table/{query}")
    # The same page: the header around it carries a token masked afresh in each response.
    assert again.content.split(b"<main")[1] == large.content.split(b"<main")[1]


def test_the_table_page_is_kept_per_page_and_revalidates_to_304(client, analyst, focal_jam, ratings, wide_caribbean):
    client.force_login(analyst)
    first = client.get("/regions/caribbean/table/?page=1")
    second = client.get("/regions/caribbean/table/?page=2")
    assert first["ETag"] != second["ETag"] and first.content != second.content
    assert first["Cache-Control"] == "private, no-cache"
    assert client.get("/regions/caribbean/table/?page=1", headers={"if-none-match": first["ETag"]}).status_code == 304
    # Another reader's scope never gets the analyst's copy.
    client.force_login(focal_jam)
    mine = client.get("/regions/caribbean/table/?page=1", headers={"if-none-match": first["ETag"]})
    assert mine.status_code == 200 and mine.content != first.content


# The region page stays light


def test_the_region_page_links_to_its_data_table_keeping_the_filters(client, analyst, ratings, world):
    html = get(client, analyst, "/regions/caribbean/?status=partially&domain=salw").content.decode()
    heat_map = html.split('id="heatmap-heading"')[1].split("</section>")[0]
    assert '<a href="/regions/caribbean/table/?status=partially&amp;domain=salw">Show the data table</a>' in heat_map
    assert "<caption>Ratings, Caribbean" not in html
    plain = get(client, analyst, "/regions/caribbean/").content.decode()
    assert '<a href="/regions/caribbean/table/">Show the data table</a>' in plain
    # Its old download still gives the whole table.
    assert len(csv_rows(get(client, analyst, "/regions/caribbean/?export=heatmap&format=csv"))) == 1 + 4


def test_heat_map_cells_are_two_elements_each_and_the_table_page_holds_one_page(
    client, analyst, ratings, wide_caribbean
):
    html = get(client, analyst, "/regions/caribbean/").content.decode()
    counted = count_elements(html)
    assert counted.cells == 26 * 12
    assert counted.cell_elements <= 2 * counted.cells
    # Beyond its cells, the page grows by its States' and measures' rows, headers and bars, not by their product.
    assert counted.elements - counted.cell_elements < 30 * 26 + 10 * 12 + 700, counted.elements
    table = get(client, analyst, "/regions/caribbean/table/").content.decode()
    assert len(table_rows(table)) == RegionTable.page_size
    assert count_elements(table).elements < 10 * RegionTable.page_size + 400
