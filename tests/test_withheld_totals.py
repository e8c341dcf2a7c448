"""
Totals over States a reader may not see are withheld when they count too few of them
(states.models.withholds_total): on the overview, the region pages and their downloads,
whatever the filters, so that no reader can take the States they know away from a total
and read what is left.
"""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.http import QueryDict

from implementation.dashboards import build_overview, build_region_board
from implementation.filters import RatingFilterSet
from implementation.models import AssistanceNeed, Rating
from implementation.services import set_rating
from states.models import MIN_HIDDEN_STATES_IN_TOTAL, withholds_total

Status = Rating.Status
AT_2024 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
# As tests/test_region_page.py pins it for a focal point: 16 queries, less the trend's history, which a
# withheld trend does not read.
WITHHELD_REGION_PAGE_QUERIES = 15


def filters(query=""):
    filterset = RatingFilterSet(QueryDict(query))
    assert filterset.is_valid(), filterset.errors
    return filterset


def board(world, user, region="east_africa", query=""):
    return build_region_board(region=world[region], user=user, filters=filters(query))


def export(client, path, table):
    response = client.get(f"{path}{'&' if '?' in path else '?'}export={table}&format=csv")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize(("hidden", "withheld"), [(0, False), (1, True), (2, True), (3, False), (40, False)])
def test_a_total_is_withheld_when_it_counts_one_or_two_hidden_states(hidden, withheld):
    assert MIN_HIDDEN_STATES_IN_TOTAL == 3
    assert withholds_total(hidden) is withheld


def test_analysts_and_the_regions_coordinator_always_get_the_totals(world, ratings, analyst, coordinator):
    # East Africa has one rated State (Kenya), the Caribbean one (Jamaica): both whole for an analyst.
    for region in ("east_africa", "caribbean"):
        total = board(world, analyst, region).total
        assert total.total == 1 and not total.withheld
    # The coordinator sees every Caribbean State: nothing is hidden, nothing withheld.
    caribbean = board(world, coordinator, "caribbean")
    assert caribbean.total.total == 1 and not caribbean.withheld


def test_every_figure_of_a_region_with_too_few_hidden_states_is_withheld(world, ratings, focal_jam, add_rated_states):
    add_rated_states("east_africa", 1)  # Kenya and one other: two hidden States
    result = board(world, focal_jam)
    assert result.withheld and not result.empty
    assert result.total.withheld and result.total.counts == {}
    assert all(t.withheld and not t.total for _, t in [*result.by_domain, *result.by_section])
    assert result.least_implemented == [] and result.trend == [] and result.trend_withheld
    add_rated_states("east_africa", 1)
    result = board(world, focal_jam)
    assert not result.withheld and result.total.counts == {Status.PARTIALLY: 3}
    assert [item.measure.code for item in result.least_implemented] == ["SALW-04"] and result.trend


def test_narrowing_to_one_state_by_a_filter_withholds_its_figures(client, world, ratings, focal_jam, add_rated_states):
    add_rated_states("east_africa", 3)
    client.force_login(focal_jam)
    # Enough States for the region's totals, but ?state=KEN would make them Kenya's own.
    assert "Withheld" not in client.get("/regions/east-africa/").content.decode()
    html = client.get("/regions/east-africa/?state=KEN").content.decode()
    assert "Withheld: it counts fewer than 3 States not shared with you" in html
    assert "Partially implemented: 1" not in html and "<strong>1.0</strong>" not in html
    assert export(client, "/regions/east-africa/?state=KEN", "least")[1:] == []
    header, *rows = export(client, "/regions/east-africa/?state=KEN", "domains")
    assert rows and all(value == "" for row in rows for value in row[1:])
    # The same on the overview: East Africa's card for Kenya alone is withheld.
    overview = build_overview(user=focal_jam, filters=filters("state=KEN"))
    cards = {card.region.slug: card.tally for card in overview.regions}
    assert cards["east-africa"].withheld and cards["east-africa"].total == 0 and overview.withheld
    html = client.get("/?state=KEN").content.decode()
    assert "Withheld: it counts fewer than 3 States not shared with you" in html
    header, *rows = export(client, "/?state=KEN", "regions")
    east_africa = next(row for row in rows if row[0] == "East Africa")
    assert east_africa[5:] == [""] * (len(header) - 5)


def test_a_measure_rated_in_too_few_hidden_states_is_left_out_of_the_ranking(
    world, ratings, focal_jam, add_rated_states
):
    # Three other States rated on SALW-04; only Kenya on SALW-06.
    add_rated_states("east_africa", 3, status=Status.IMPLEMENTED)
    set_rating(
        state=world["ken"], measure=world["records"], kind=Rating.Kind.ASSESSED, by=None, reason="test", at=AT_2024,
        status=Status.NOT_IMPLEMENTED,
    )  # fmt: skip
    result = board(world, focal_jam)
    # SALW-06 would rank first, as Kenya's own "not implemented": it is withheld instead.
    assert [item.measure.code for item in result.least_implemented] == ["SALW-04"]
    # Its section counts four hidden States, so the section total stands, SALW-06 in it.
    ((section, tally),) = result.by_section
    assert not tally.withheld and tally.total == 5


def test_the_trend_counts_the_states_the_status_filter_leaves_out(world, ratings, focal_jam, add_rated_states):
    add_rated_states("east_africa", 3, status=Status.IMPLEMENTED)
    # Only Kenya is "partially implemented": the status filter keeps one hidden State in the totals...
    result = board(world, focal_jam, query="status=partially")
    assert result.total.withheld
    # ...while the trend, drawn from every status, counts all four and stands.
    assert not result.trend_withheld and result.trend


def test_the_overview_cards_follow_the_same_rule(world, ratings, focal_jam, focal_ken, add_rated_states):
    cards = {card.region.slug: card.tally for card in build_overview(user=focal_jam, filters=filters()).regions}
    # Jamaica's own Caribbean card hides nothing; East Africa's is Kenya alone.
    assert not cards["caribbean"].withheld and cards["caribbean"].total == 1
    assert cards["east-africa"].withheld
    add_rated_states("east_africa", 2)
    cards = {card.region.slug: card.tally for card in build_overview(user=focal_jam, filters=filters()).regions}
    assert not cards["east-africa"].withheld and cards["east-africa"].total == 3
    # Kenya's focal point sees Kenya: East Africa's other two are too few for its total.
    cards = {card.region.slug: card.tally for card in build_overview(user=focal_ken, filters=filters()).regions}
    assert cards["east-africa"].withheld and cards["caribbean"].withheld


def test_open_needs_are_counted_only_over_enough_hidden_states(world, ratings, focal_jam, add_rated_states):
    AssistanceNeed.objects.create(state=world["ken"], kind="training", description="Train customs")
    assert board(world, focal_jam).open_needs is None
    add_rated_states("east_africa", 2, needs=1)
    assert board(world, focal_jam).open_needs == 3


def test_a_withheld_region_page_reads_no_history_and_issues_a_fixed_number_of_queries(
    client, world, ratings, focal_jam, django_assert_num_queries
):
    # Trinidad and Tobago is the one other rated Caribbean State; Jamaica's need is listed with its measures,
    # as in the region page's pinned count.
    set_rating(
        state=world["tto"], measure=world["marking"], kind=Rating.Kind.ASSESSED, by=None, reason="test", at=AT_2024,
        status=Status.LARGELY,
    )  # fmt: skip
    AssistanceNeed.objects.create(state=world["jam"], kind="training", description="Training").measures.add(
        world["marking"]
    )
    client.force_login(focal_jam)
    with django_assert_num_queries(WITHHELD_REGION_PAGE_QUERIES):
        response = client.get("/regions/caribbean/")
    assert "Withheld: the trend counts fewer than 3 States not shared with you." in response.content.decode()


def test_a_download_with_withheld_figures_says_why_its_cells_are_blank(client, world, ratings, coordinator):
    client.force_login(coordinator)
    response = client.get("/regions/east-africa/?export=domains&format=xlsx")
    about = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)["About"]
    lines = [row[0] for row in about.iter_rows(values_only=True)]
    assert any(line and line.startswith("Figures that would count fewer than 3 Member States") for line in lines)
    # The coordinator's own region withholds nothing, and its download does not say it does.
    response = client.get("/regions/caribbean/?export=domains&format=xlsx")
    about = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)["About"]
    assert not any("withheld" in str(row[0]) for row in about.iter_rows(values_only=True))
