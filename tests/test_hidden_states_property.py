"""
What a reader sees must not change when data they may not read changes.

Kenya and Uganda are both in East Africa and both hidden from Jamaica's focal point and from
the Caribbean coordinator. Two databases differ only in that the two States' ratings, with
their whole history, are swapped: every figure summed over both States is then the same,
so every page, download and API list must answer these readers the same in both, whatever
the filters. An analyst, who reads Kenya, must see the difference.
"""

import datetime as dt
import itertools

import factories
import pytest
from django.core.cache import cache
from django.db import transaction
from pages import comparable

from implementation.models import Rating
from measures.models import Measure

Status = Rating.Status


def at(year, month):
    return dt.datetime(year, month, 15, tzinfo=dt.UTC)


# Each history: (measure, kind, [(moment, status, explanation)]). Uganda's differs from Kenya's in
# statuses, moments and texts, so that any answer that depends on which State has which is caught.
KENYA = [
    ("marking", "assessed", [(at(2021, 2), Status.NOT_IMPLEMENTED, "K1"), (at(2024, 5), Status.LARGELY, "K2")]),
    ("records", "assessed", [(at(2022, 8), Status.PARTIALLY, "K3")]),
    ("transfers", "assessed", [(at(2023, 11), Status.IMPLEMENTED, "K4")]),
    ("marking", "self_reported", [(at(2024, 1), Status.IMPLEMENTED, "K5")]),
]
UGANDA = [
    ("marking", "assessed", [(at(2019, 6), Status.PARTIALLY, "U1")]),
    ("records", "assessed", [(at(2020, 3), Status.NO_INFORMATION, "U2"), (at(2025, 9), Status.IMPLEMENTED, "U3")]),
    ("transfers", "assessed", [(at(2024, 7), Status.NOT_IMPLEMENTED, "U4")]),
    ("records", "self_reported", [(at(2025, 1), Status.LARGELY, "U5")]),
]

DATES = ["2019-12-31", "2021-06-30", "2022-12-31", "2024-06-30", "2025-12-31"]
STATUSES = [status.value for status in Status]
REGION_TABLES = ["heatmap", "states", "domains", "sections", "least", "trend", "needs"]


@pytest.fixture
def east_africa(world, analyst):
    """Kenya, Uganda and Tanzania in East Africa; Tanzania rated on two measures, the third rated by two States."""
    africa = dict(region=world["east_africa"], m49_region="Africa", m49_subregion="Eastern Africa")
    uga = factories.member_state(iso3="UGA", iso2="UG", m49="800", name="Uganda", **africa)
    tza = factories.member_state(iso3="TZA", iso2="TZ", m49="834", name="Tanzania", **africa)
    world["transfers"] = Measure.objects.create(
        edition=world["edition"], section=world["section"], code="SALW-09", title="Transfer controls",
        domain=Measure.Domain.SALW, phase=Measure.Phase.DOWNSTREAM, legislative=True, position=2,
    )  # fmt: skip
    for measure, status in [("marking", Status.IMPLEMENTED), ("records", Status.PARTIALLY)]:
        factories.rating(
            state=tza, measure=world[measure], status=status, by=analyst, at=at(2020, 9), reason="review",
            explanation="T1",
        )  # fmt: skip
    # Jamaica and Trinidad and Tobago, which the readers see, and the needs, which are not swapped.
    for key, status in [("jam", Status.PARTIALLY), ("tto", Status.LARGELY)]:
        factories.rating(
            state=world[key], measure=world["marking"], status=status, by=analyst, at=at(2023, 3), reason="review"
        )
    for state in (world["ken"], uga, tza):
        factories.assistance_need(state=state)
    world["uga"] = uga
    return world


def rate(world, analyst, state, history):
    for measure, kind, changes in history:
        for moment, status, explanation in changes:
            factories.rating(
                state=state, measure=world[measure], kind=kind, status=status, by=analyst, at=moment,
                reason=f"Change {explanation}", explanation=f"Explanation {explanation}",
                source_document=f"Source {explanation}",
            )  # fmt: skip


class Rollback(Exception):
    pass


def answers_in_variant(world, analyst, swapped, client, urls):
    """The answers to ``urls`` in a database where Kenya and Uganda have their own ratings, or each other's."""
    kenya, uganda = (UGANDA, KENYA) if swapped else (KENYA, UGANDA)
    # Each variant builds its pages: the rolled-back one's history ids may come again (SQLite reuses them), and
    # with them its keys, so that its cached pages would answer for this one.
    cache.clear()
    try:
        with transaction.atomic():
            rate(world, analyst, world["ken"], kenya)
            rate(world, analyst, world["uga"], uganda)
            # The ETag too: a browser's copy must stay valid, or its 304 would tell that something hidden changed.
            result = {url: (*comparable(response := client.get(url)), response.get("ETag")) for url in urls}
            raise Rollback
    except Rollback:
        return result


def urls():
    """Every page, download and API list these readers may open, with filters, one at a time and combined."""
    filters = [""]
    filters += [f"status={status}" for status in STATUSES]
    filters += [f"as_of={day}" for day in DATES]
    filters += [f"as_of={day}&status={status}" for day, status in itertools.product(DATES[2:4], STATUSES[:4])]
    filters += [f"measure={code}" for code in ("SALW-04", "SALW-06", "SALW-09")]
    filters += [f"measure={code}&status={status}" for code in ("SALW-04", "SALW-09") for status in STATUSES[:4]]
    filters += ["section=B", "domain=salw", "phase=downstream", "capacity=legislative", "kind=assessed"]
    filters += [f"updated_since={day}" for day in DATES[1:]]
    filters += ["state=KEN", "state=UGA", "state=KEN&status=largely", "region=east-africa"]
    found = [f"/regions/caribbean/?{query}" for query in filters[:12]]
    for query in filters:
        for page in ("/", "/regions/east-africa/"):
            found.append(f"{page}?{query}")
        for table in REGION_TABLES:
            found.append(f"/regions/east-africa/?{query}&export={table}&format=csv")
        found.append(f"/?{query}&export=regions&format=csv")
        found.append(f"/api/v1/ratings/?{query}")
    for api in ("rating-history", "assessments", "recommendations", "submissions", "states", "regions"):
        found += [f"/api/v1/{api}/", f"/api/v1/{api}/?state=KEN", f"/api/v1/{api}/?state=UGA&format=csv"]
    found += ["/api/v1/rating-history/?measure=SALW-04&status=largely", "/api/v1/rating-history/?since=2024-01-01"]
    found += ["/states/JAM/", "/states/KEN/", "/states/UGA/", "/my-state/", "/help/"]
    return found


@pytest.mark.parametrize("reader", ["focal_jam", "coordinator"])
def test_a_reader_gets_the_same_answers_whichever_hidden_state_has_which_ratings(
    client, east_africa, analyst, reader, request
):
    client.force_login(request.getfixturevalue(reader))
    addresses = urls()
    first = answers_in_variant(east_africa, analyst, False, client, addresses)
    second = answers_in_variant(east_africa, analyst, True, client, addresses)
    differ = [url for url in addresses if first[url] != second[url]]
    assert not differ, f"{len(differ)} of {len(addresses)} answers tell Kenya from Uganda:\n" + "\n".join(differ)
    # The comparison is not empty: the readers got real pages and figures, not only refusals.
    assert first["/regions/east-africa/?"][0] == 200
    assert b"Withheld" in first["/regions/east-africa/?measure=SALW-09"][2]
    assert b"Withheld" not in first["/regions/east-africa/?measure=SALW-04"][2]
    assert first["/api/v1/ratings/?state=KEN"][0] == 400
    assert first["/regions/east-africa/?"][3] is not None


def test_an_analyst_does_see_which_state_has_which_ratings(client, east_africa, analyst):
    client.force_login(analyst)
    addresses = ["/states/KEN/", "/regions/east-africa/?measure=SALW-09", "/api/v1/ratings/?state=KEN"]
    first = answers_in_variant(east_africa, analyst, False, client, addresses)
    second = answers_in_variant(east_africa, analyst, True, client, addresses)
    assert all(first[url][0] == 200 for url in addresses)
    assert [url for url in addresses if first[url] != second[url]] == addresses
