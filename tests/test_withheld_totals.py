"""
Totals over States a reader may not see are withheld when they count too few of them
(states.models.withholds_total): on the overview, the region pages and their downloads,
whatever the filters, so that no reader can take the States they know away from a total
and read what is left. No filter can name such a State, and no filter on the ratings'
values decides what is withheld: the notice reads the same whatever the true count.
"""

import csv
import datetime as dt
import io

import factories
import openpyxl
import pytest
from django.http import QueryDict
from pages import comparable

from implementation.dashboards import build_overview, build_region_board
from implementation.filters import RatingFilterSet
from implementation.models import Rating
from states.models import MIN_HIDDEN_STATES_IN_TOTAL, withholds_total

Status = Rating.Status
AT_2024 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
# As tests/test_region_page.py pins it for a focal point: 18 queries, less the trend's history, which a
# withheld trend does not read.
WITHHELD_REGION_PAGE_QUERIES = 17


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


@pytest.mark.parametrize(
    ("in_scope", "counted", "withheld"),
    [
        (0, 0, False),
        (1, 0, True),
        (1, 1, True),
        (2, 2, True),
        (5, 0, True),
        (5, 2, True),
        (5, 3, False),
        (9, 9, False),
    ],
)
def test_a_total_is_withheld_when_it_counts_fewer_than_three_hidden_states_in_scope(in_scope, counted, withheld):
    assert MIN_HIDDEN_STATES_IN_TOTAL == 3
    assert withholds_total(hidden_in_scope=in_scope, hidden_counted=counted) is withheld


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
    assert not result.total.withheld and result.total.counts == {Status.PARTIALLY: 3}
    assert [item.measure.code for item in result.least_implemented] == ["SALW-04"] and result.trend
    # No hidden State has an open need: fewer than three counted, none included, so the count is withheld too.
    assert result.open_needs is None and result.withheld


@pytest.mark.parametrize("who", ["focal_jam", "coordinator"])
def test_a_filter_cannot_name_a_state_hidden_from_the_reader(client, world, ratings, add_rated_states, who, request):
    add_rated_states("east_africa", 3)
    client.force_login(request.getfixturevalue(who))
    for path in [
        "/regions/east-africa/?state={}",
        "/regions/east-africa/?state={}&measure=SALW-04&status=partially",
        "/regions/east-africa/?state={}&export=least&format=csv",
        "/?state={}&measure=SALW-04&status=partially&export=regions&format=csv",
        "/?state={}&as_of=2025-01-01",
    ]:
        hidden, unknown = client.get(path.format("KEN")), client.get(path.format("XYZ"))
        # Refused exactly like a code that names no State: the same status, and the same page but for the code.
        assert hidden.status_code == unknown.status_code == 400, path
        assert comparable(hidden)[2].replace(b"KEN", b"XYZ") == comparable(unknown)[2], path
        assert "Enter the ISO3 code of a Member State whose records you may read" in hidden.content.decode()
    for path in ["/api/v1/ratings/?state={}", "/api/v1/recommendations/?state={}"]:
        hidden, unknown = client.get(path.format("KEN")), client.get(path.format("XYZ"))
        assert hidden.status_code == unknown.status_code == 400 and hidden.json() == unknown.json(), path
    # Kenya's own readers may name it.
    client.force_login(request.getfixturevalue("analyst"))
    assert client.get("/regions/east-africa/?state=KEN").status_code == 200


def test_a_measure_rated_in_too_few_hidden_states_is_left_out_of_the_ranking(
    world, ratings, focal_jam, add_rated_states
):
    # Three other States rated on SALW-04; only Kenya on SALW-06.
    add_rated_states("east_africa", 3, status=Status.IMPLEMENTED)
    factories.rating(
        state=world["ken"], measure=world["records"], status=Status.NOT_IMPLEMENTED, by=None, at=AT_2024,
        reason="test",
    )  # fmt: skip
    result = board(world, focal_jam)
    # SALW-06 would rank first, as Kenya's own "not implemented": it is withheld instead.
    assert [item.measure.code for item in result.least_implemented] == ["SALW-04"]
    # The section's total stands on SALW-04 alone: with SALW-06 in it, the section less SALW-04 would be Kenya's.
    ((section, tally),) = result.by_section
    assert not tally.withheld and tally.total == 4 and tally.partial
    assert result.total.total == 4 and result.total.partial


def test_the_status_filter_never_decides_what_is_withheld(world, ratings, focal_jam, add_rated_states):
    # Kenya and one other State: whatever status is asked for, matching both, one or neither, the same notice.
    add_rated_states("east_africa", 1, status=Status.IMPLEMENTED)
    for status in Status:
        result = board(world, focal_jam, query=f"status={status.value}&measure=SALW-04")
        assert result.total.withheld and result.total.counts == {} and result.trend_withheld, status
        assert not result.empty and result.least_implemented == [], status
    # With four hidden States the totals stand for every status, counted over all four.
    add_rated_states("east_africa", 2, status=Status.IMPLEMENTED)
    for status in Status:
        result = board(world, focal_jam, query=f"status={status.value}")
        assert not result.total.withheld and not result.trend_withheld and result.trend, status
    assert board(world, focal_jam, query="status=partially").total.counts == {Status.PARTIALLY: 1}
    assert board(world, focal_jam, query="status=not_applicable").empty


def test_the_trend_starts_when_it_counts_three_hidden_states(world, ratings, focal_jam, add_rated_states):
    add_rated_states("east_africa", 2)  # rated in 2024, like Kenya
    factories.rating(
        state=add_rated_states("east_africa", 1)[0], measure=world["marking"], status=Status.LARGELY, by=None,
        at=dt.datetime(2025, 8, 1, tzinfo=dt.UTC), reason="test",
    )  # fmt: skip
    quarters = [point.quarter for point in board(world, focal_jam).trend]
    assert quarters == [dt.date(2024, 4, 1), dt.date(2025, 7, 1)]
    # Dated after the two others first counted, the third hidden State makes no difference to this reader.
    factories.rating(
        state=world["ken"], measure=world["marking"], status=Status.LARGELY, by=None,
        at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), reason="test",
    )  # fmt: skip
    assert [point.quarter for point in board(world, focal_jam).trend][0] == dt.date(2024, 4, 1)


def test_the_overview_cards_follow_the_same_rule(world, ratings, focal_jam, focal_ken, add_rated_states):
    cards = {card.region.slug: card.tally for card in build_overview(user=focal_jam, filters=filters()).regions}
    # Trinidad and Tobago, hidden from Jamaica's focal point, has no rating: none counted is fewer than three,
    # so the Caribbean card is withheld as if it had one. East Africa's is Kenya alone.
    assert cards["caribbean"].withheld and cards["caribbean"].total == 0
    assert cards["east-africa"].withheld
    add_rated_states("caribbean", 2)
    cards = {card.region.slug: card.tally for card in build_overview(user=focal_jam, filters=filters()).regions}
    assert cards["caribbean"].withheld  # two counted of three hidden
    add_rated_states("caribbean", 1)
    cards = {card.region.slug: card.tally for card in build_overview(user=focal_jam, filters=filters()).regions}
    assert not cards["caribbean"].withheld and cards["caribbean"].total == 4
    add_rated_states("east_africa", 2)
    cards = {card.region.slug: card.tally for card in build_overview(user=focal_jam, filters=filters()).regions}
    assert not cards["east-africa"].withheld and cards["east-africa"].total == 3
    # Kenya's focal point sees Kenya: East Africa's other two are too few for its total, while the Caribbean's
    # four rated States are enough.
    cards = {card.region.slug: card.tally for card in build_overview(user=focal_ken, filters=filters()).regions}
    assert cards["east-africa"].withheld and not cards["caribbean"].withheld


def test_open_needs_are_counted_only_over_enough_hidden_states(world, ratings, focal_jam, add_rated_states):
    factories.assistance_need(state=world["ken"], description="Train customs")
    assert board(world, focal_jam).open_needs is None
    add_rated_states("east_africa", 2, needs=1)
    assert board(world, focal_jam).open_needs == 3


def test_a_withheld_region_page_reads_no_history_and_issues_a_fixed_number_of_queries(
    client, world, ratings, focal_jam, django_assert_num_queries
):
    # Trinidad and Tobago is the one other rated Caribbean State; Jamaica's need is listed with its measures,
    # as in the region page's pinned count.
    factories.rating(
        state=world["tto"], measure=world["marking"], status=Status.LARGELY, by=None, at=AT_2024, reason="test"
    )
    factories.assistance_need(state=world["jam"], measures=[world["marking"]])
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
