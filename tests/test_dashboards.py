"""What the dashboard builders compute, role by role, now and as of a past date."""

import datetime as dt

import factories
import pytest
from django.http import QueryDict
from django.template import Context, Template
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import translation

from implementation.dashboards import build_overview, build_region_board, build_state_profile
from implementation.dashboards.html import format_date, state_urls
from implementation.dashboards.tallies import Tally, tally
from implementation.dashboards.texts import format_decimal
from implementation.filters import MeasureScopeFilterSet, RatingFilterSet
from implementation.models import Rating
from measures.models import Measure
from states.models import RegionMembership

Status = Rating.Status
Q1_2024 = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
Q3_2025 = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)


def filters(query=""):
    filterset = RatingFilterSet(QueryDict(query))
    assert filterset.is_valid(), filterset.errors
    return filterset


@pytest.fixture
def caribbean(world, analyst):
    """Jamaica and Trinidad and Tobago rated on both measures; Jamaica improved in 2025."""
    for key, measure, kind, status, at in [
        ("jam", "marking", "assessed", Status.PARTIALLY, Q1_2024),
        ("jam", "records", "assessed", Status.NOT_IMPLEMENTED, Q1_2024),
        ("tto", "marking", "assessed", Status.IMPLEMENTED, Q1_2024),
        ("tto", "records", "assessed", Status.LARGELY, Q1_2024),
        ("jam", "marking", "self_reported", Status.PARTIALLY, Q1_2024),
        ("jam", "records", "self_reported", Status.PARTIALLY, Q1_2024),
        ("jam", "marking", "assessed", Status.IMPLEMENTED, Q3_2025),
    ]:
        factories.rating(
            state=world[key], measure=world[measure], kind=kind, status=status, by=analyst, at=at, reason="test"
        )
    return world


def test_tally_means_shares_and_bands():
    result = tally([Status.IMPLEMENTED, Status.PARTIALLY, Status.NO_INFORMATION, Status.NOT_APPLICABLE])
    assert (result.total, result.scored) == (4, 2)
    assert result.mean_score == 2.0
    assert result.percent_implemented == 50
    assert result.level == Status.LARGELY
    assert [round(s.start) for s in result.segments] == [0, 25, 50, 75]
    assert Tally().mean_score is None and Tally().level is None


def test_region_board_as_analyst_shows_every_state_and_the_totals(caribbean, analyst):
    board = build_region_board(region=caribbean["caribbean"], user=analyst, filters=filters())
    assert [row.state.iso3 for row in board.shown_states] == ["JAM", "TTO"]
    assert board.total.counts == {Status.IMPLEMENTED: 2, Status.LARGELY: 1, Status.NOT_IMPLEMENTED: 1}
    cell = board.cells[caribbean["jam"].pk, caribbean["marking"].pk]
    assert (cell.assessed, cell.reported, cell.diverges) == ("implemented", "partially", True)
    assert [row.divergent for row in board.states] == [2, 0]


def test_focal_point_gets_their_states_cells_and_the_totals_of_enough_others(caribbean, focal_jam, add_rated_states):
    board = build_region_board(region=caribbean["caribbean"], user=focal_jam, filters=filters())
    assert [row.state.iso3 for row in board.shown_states] == ["JAM"]
    assert {state_id for state_id, _ in board.cells} == {caribbean["jam"].pk}
    # Trinidad and Tobago alone besides Jamaica: the totals would give its ratings away.
    assert board.total.withheld and board.total.total == 0 and board.trend == [] and board.trend_withheld
    # With two more States rated on SALW-04, the three others count in its totals, unnamed. SALW-06,
    # rated by Trinidad and Tobago alone among them, is withheld and left out of the region's total.
    add_rated_states("caribbean", 2)
    board = build_region_board(region=caribbean["caribbean"], user=focal_jam, filters=filters())
    assert not board.total.withheld and board.total.total == 4 and board.total.partial and board.trend
    assert len(board.shown_states) == 1


def test_a_region_the_reader_does_not_cover_shows_totals_only(caribbean, focal_ken, add_rated_states):
    board = build_region_board(region=caribbean["caribbean"], user=focal_ken, filters=filters())
    assert board.shown_states == [] and board.cells == {}
    assert board.total.withheld and not board.empty  # two States hidden: too few
    add_rated_states("caribbean", 1)
    board = build_region_board(region=caribbean["caribbean"], user=focal_ken, filters=filters())
    assert board.shown_states == [] and board.cells == {}
    # SALW-04 counts three hidden States; SALW-06, two, is withheld and left out of the total.
    assert board.total.total == 3 and not board.total.withheld and board.total.partial


def test_least_implemented_measures_come_first(caribbean, analyst):
    board = build_region_board(region=caribbean["caribbean"], user=analyst, filters=filters())
    assert [item.measure.code for item in board.least_implemented] == ["SALW-06", "SALW-04"]


def test_as_of_rebuilds_past_statuses_from_history(caribbean, analyst):
    board = build_region_board(region=caribbean["caribbean"], user=analyst, filters=filters("as_of=2024-12-31"))
    assert board.cells[caribbean["jam"].pk, caribbean["marking"].pk].assessed == "partially"
    before = build_region_board(region=caribbean["caribbean"], user=analyst, filters=filters("as_of=2023-12-31"))
    assert before.empty


def test_as_of_filters_by_the_past_status_not_todays(caribbean, analyst):
    board = build_region_board(
        region=caribbean["caribbean"], user=analyst, filters=filters("as_of=2024-12-31&status=partially")
    )
    assert board.total.counts == {Status.PARTIALLY: 1}


def test_as_of_uses_the_region_membership_of_that_day(caribbean, analyst):
    RegionMembership.objects.filter(state=caribbean["tto"]).update(joined_on=dt.date(2025, 1, 1))
    board = build_region_board(region=caribbean["caribbean"], user=analyst, filters=filters("as_of=2024-12-31"))
    assert [row.state.iso3 for row in board.states] == ["JAM"]


def test_trend_is_the_mean_score_at_the_end_of_each_quarter(caribbean, analyst):
    board = build_region_board(region=caribbean["caribbean"], user=analyst, filters=filters())
    points = [(p.quarter, round(p.mean_score, 2), p.scored) for p in board.trend]
    # 2024 Q1: partially 1 + not 0 + implemented 3 + largely 2 = 6 over 4; 2025 Q3: Jamaica's 1 becomes 3.
    assert points == [(dt.date(2024, 1, 1), 1.5, 4), (dt.date(2025, 7, 1), 2.0, 4)]


def test_trend_stops_at_the_as_of_date(caribbean, analyst):
    board = build_region_board(region=caribbean["caribbean"], user=analyst, filters=filters("as_of=2024-12-31"))
    assert [p.quarter for p in board.trend] == [dt.date(2024, 1, 1)]


def test_measure_filters_narrow_the_heat_map_and_the_totals(caribbean, analyst):
    board = build_region_board(region=caribbean["caribbean"], user=analyst, filters=filters("capacity=operational"))
    assert [m.code for m in board.measures] == ["SALW-04"]
    assert board.total.total == 2


@pytest.mark.parametrize(
    "query",
    [
        "",
        "capacity=operational",
        "capacity=strategic",
        "domain=salw",
        "domain=ied",
        "phase=upstream",
        "phase=both",
        "section=b",
        "section=Z",
        "measure=salw-06",
        "measure=SALW-04&capacity=legislative&section=B",
    ],
)
def test_the_measure_filters_keep_the_measures_of_the_ratings_the_rating_filters_keep(world, analyst, query):
    for measure in ("marking", "records"):
        factories.rating(
            state=world["jam"], measure=world[measure], kind="assessed", status=Status.IMPLEMENTED, by=analyst,
            at=Q1_2024, reason="test",
        )  # fmt: skip
    rating_filters = filters(query)
    kept = MeasureScopeFilterSet.like(rating_filters, Measure.objects.current()).qs
    rated = rating_filters.apply(Rating.objects.all()).values_list("measure__code", flat=True)
    assert sorted(measure.code for measure in kept) == sorted(rated)


def test_overview_shows_each_readers_own_states_and_all_region_totals(caribbean, coordinator):
    board = build_overview(user=coordinator, filters=filters())
    shown = {row.state.iso3 for row in board.states if row.shown}
    assert shown == {"JAM", "TTO"}
    assert all(row.tally.total == 0 for row in board.states if not row.shown)
    cards = {card.region.slug: (card.states, card.tally.total) for card in board.regions}
    assert cards == {"caribbean": (2, 4), "east-africa": (1, 0)}


def test_state_profile_pairs_the_two_ratings_of_each_measure(caribbean, focal_jam):
    profile = build_state_profile(state=caribbean["jam"], user=focal_jam, filters=filters())
    rows = {row.measure.code: (row.assessed.status, row.reported.status) for row in profile.rows}
    assert rows == {"SALW-04": ("implemented", "partially"), "SALW-06": ("not_implemented", "partially")}
    assert profile.divergent == 2
    assert [(r.previous_status, r.status) for r in profile.timeline][:1] == [("partially", "implemented")]


def test_state_profile_flags_ratings_unconfirmed_for_a_year(caribbean, analyst):
    profile = build_state_profile(state=caribbean["tto"], user=analyst, filters=filters())
    assert profile.stale == 2


def test_as_of_in_the_future_is_refused():
    filterset = RatingFilterSet(QueryDict("as_of=2999-01-01"))
    assert not filterset.is_valid()
    assert "history does not know the future" in str(filterset.errors)


def test_someone_without_a_role_is_told_why_they_are_refused(client, nobody):
    client.force_login(nobody)
    response = client.get("/")
    assert response.status_code == 403
    assert "Your account has no role in the tracker yet" in response.content.decode()


def test_another_states_profile_reads_as_not_found(client, focal_jam):
    client.force_login(focal_jam)
    response = client.get("/states/KEN/")
    assert response.status_code == 404
    assert "not shared with your account" in response.content.decode()


# Figures and links written in Python, as the template filters and tags would write them


@pytest.mark.parametrize("places", [0, 1, 2])
def test_figures_are_rounded_and_written_as_floatformat_writes_them(places):
    values = [n / d for d in range(1, 60) for n in range(0, 3 * d + 1)]
    values += [0.05, 0.15, 0.25, 1.25, 1.005, 2.675, 99.5, 0.0, 100.0, 1e-9, float("nan"), None, 2]
    for value in values:
        assert str(format_decimal(value, places)) == str(floatformat(value, places)), value


def test_state_urls_give_each_states_profile_address():
    state_url = state_urls()
    for iso3 in ["JAM", "KEN", "QQQ", "FRA"]:
        assert state_url(iso3) == reverse("state", args=[iso3])


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("format_string", ["j M Y", "c", "F Y"])
def test_dates_are_written_as_the_date_filter_writes_them(settings, language, format_string):
    settings.TIME_ZONE = "America/Jamaica"
    values = [dt.date(2024, month, 1) for month in range(1, 13)]
    values += [dt.datetime(2024, month, 1, 2, 30, tzinfo=dt.UTC) for month in range(1, 13)]  # still last month there
    values += [dt.datetime(999, 5, 6, 12, tzinfo=dt.UTC), dt.datetime(2025, 12, 31, 23, 59, 59, 999, tzinfo=dt.UTC)]
    template = Template(f'{{{{ value|date:"{format_string}" }}}}')
    with translation.override(language):
        for value in values:
            assert format_date(value, format_string) == template.render(Context({"value": value})), value
