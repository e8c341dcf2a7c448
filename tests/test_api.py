"""
The API under /api/v1/: who reads what (the same ``visible_to`` as the pages), the
filters, pagination, CSV, the schema and its docs, tokens, submissions, and a pinned
query count for every list. Ratings in the ``ratings`` fixture: SALW-04 for Jamaica and
for Kenya, both kinds "partially implemented", set on 1 May 2024.
"""

import csv
import datetime as dt
import io
import re

import factories
import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from implementation import workflow
from implementation.api.defaults import PageNumberPagination
from implementation.filters import RatingFilterSet
from implementation.models import (
    Assessment,
    Confidentiality,
    Rating,
    Recommendation,
    Submission,
)
from measures.models import Edition, Measure, Section
from states.models import RegionMembership, Role

Status = Rating.Status
ASSESSED = Rating.Kind.ASSESSED
SELF_REPORTED = Rating.Kind.SELF_REPORTED
AT = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)

LISTS = [
    "/api/v1/states/",
    "/api/v1/regions/",
    "/api/v1/editions/",
    "/api/v1/measures/",
    "/api/v1/ratings/",
    "/api/v1/rating-history/",
    "/api/v1/assessments/",
    "/api/v1/recommendations/",
    "/api/v1/submissions/",
]
DETAILS = ["/api/v1/states/JAM/", "/api/v1/regions/caribbean/", "/api/v1/editions/test/", "/api/v1/measures/SALW-04/"]


def api(user=None):
    """A client that authenticates as ``user`` with a token, as scripts do; anonymous without one."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def results(user, path, **params):
    response = api(user).get(path, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def csv_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


# Access -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LISTS + DETAILS + ["/api/v1/"])
def test_anonymous_is_asked_for_a_token(world, path):
    response = api().get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_refused(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/ratings/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_a_deactivated_account_s_token_is_refused(world, analyst):
    client = api(analyst)
    analyst.is_active = False
    analyst.save()
    assert client.get("/api/v1/ratings/").status_code == 401


@pytest.mark.parametrize("path", LISTS + DETAILS + ["/api/v1/"])
def test_someone_without_a_role_is_refused_everything(nobody, path):
    response = api(nobody).get(path)
    assert response.status_code == 403
    assert "no role in the tracker" in response.json()["detail"]


def test_someone_without_a_role_cannot_submit(world, nobody):
    response = api(nobody).post("/api/v1/submissions/", {"state": "JAM", "measure": "SALW-04", "status": "largely"})
    assert response.status_code == 403
    assert not Submission.objects.exists()


def test_a_logged_in_session_reads_the_api_too(client, ratings, focal_jam):
    client.force_login(focal_jam)
    response = client.get("/api/v1/ratings/")
    assert response.status_code == 200
    assert {row["state"] for row in response.json()["results"]} == {"JAM"}


def test_a_session_must_send_the_csrf_token_to_submit(ratings, focal_jam):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(focal_jam)
    response = client.post("/api/v1/submissions/", {"state": "JAM", "measure": "SALW-04", "status": "largely"})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Submission.objects.exists()


def test_the_api_root_lists_every_resource(analyst):
    data = api(analyst).get("/api/v1/").json()
    assert set(data) == {
        "states", "regions", "editions", "measures", "ratings", "rating-history", "assessments", "recommendations",
        "submissions",
    }  # fmt: skip


def test_no_endpoint_serves_confidential_notes(ratings, world, analyst):
    factories.note(state=world["jam"], body="CTED-ONLY-NOTE-TEXT", author=analyst)
    root = api(analyst).get("/api/v1/").json()
    assert not any("note" in name for name in root)
    for path in LISTS:
        assert "CTED-ONLY-NOTE-TEXT" not in api(analyst).get(path).content.decode()


def test_reading_is_all_the_api_allows_on_ratings(ratings, analyst):
    rating = ratings["jam", ASSESSED]
    client = api(analyst)
    assert client.post("/api/v1/ratings/", {"status": "implemented"}).status_code == 405
    assert client.patch(f"/api/v1/ratings/{rating.pk}/", {"status": "implemented"}).status_code == 405
    assert client.delete(f"/api/v1/ratings/{rating.pk}/").status_code == 405
    rating.refresh_from_db()
    assert rating.status == Status.PARTIALLY


# Reference data -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["analyst", "coordinator", "focal_jam"])
def test_every_role_lists_every_state_with_public_fields_only(request, world, who):
    rows = results(request.getfixturevalue(who), "/api/v1/states/")
    assert [row["iso3"] for row in rows] == ["FRA", "JAM", "KEN", "TTO"]
    assert set(rows[0]) == {"iso3", "iso2", "m49", "name", "m49_region", "m49_subregion", "readable"}


@pytest.mark.parametrize(
    ("who", "readable"),
    [("analyst", {"FRA", "JAM", "KEN", "TTO"}), ("coordinator", {"JAM", "TTO"}), ("focal_jam", {"JAM"})],
)
def test_states_say_whose_records_the_reader_may_read(request, world, who, readable):
    user = request.getfixturevalue(who)
    rows = results(user, "/api/v1/states/")
    assert {row["iso3"] for row in rows if row["readable"]} == readable
    assert {row["iso3"] for row in results(user, "/api/v1/states/", readable="true")} == readable


def test_states_filter_by_region_and_read_one_by_iso3(world, focal_jam):
    assert [row["iso3"] for row in results(focal_jam, "/api/v1/states/", region="caribbean")] == ["JAM", "TTO"]
    assert results(focal_jam, "/api/v1/states/", region="nowhere") == []
    response = api(focal_jam).get("/api/v1/states/KEN/")
    assert response.status_code == 200
    assert response.json()["readable"] is False
    assert api(focal_jam).get("/api/v1/states/XXX/").status_code == 404


def test_regions_list_todays_members_by_iso3(world, focal_ken):
    RegionMembership.objects.create(
        region=world["caribbean"], state=world["fra"], joined_on=dt.date(2000, 1, 1), left_on=dt.date(2001, 1, 1)
    )
    rows = results(focal_ken, "/api/v1/regions/")
    assert [(row["slug"], row["members"]) for row in rows] == [("caribbean", ["JAM", "TTO"]), ("east-africa", ["KEN"])]
    assert api(focal_ken).get("/api/v1/regions/caribbean/").json()["members"] == ["JAM", "TTO"]


@pytest.fixture
def older_edition(world):
    """The 2019 edition that the test edition revised, with its own SALW-04."""
    older = Edition.objects.create(code="2019", title="2019 edition", published_on=dt.date(2019, 6, 1))
    section = Section.objects.create(edition=older, code="B", title="SALW")
    old_marking = Measure.objects.create(
        edition=older, section=section, code="SALW-04", title="Marking (2019)", domain="salw", phase="upstream",
        legislative=True,
    )  # fmt: skip
    world["edition"].previous = older
    world["edition"].save()
    world["marking"].predecessor = old_marking
    world["marking"].save()
    return older


def test_measures_are_the_current_editions_unless_another_is_named(older_edition, world, coordinator):
    current = results(coordinator, "/api/v1/measures/")
    assert [(row["code"], row["edition"]) for row in current] == [("SALW-04", "test"), ("SALW-06", "test")]
    assert current[0]["predecessor"] == "SALW-04"
    assert current[0]["section"] == "B"
    assert current[0]["legislative"] is True and current[0]["strategic"] is False
    older = results(coordinator, "/api/v1/measures/", edition="2019")
    assert [(row["code"], row["title"]) for row in older] == [("SALW-04", "Marking (2019)")]


def test_a_measure_is_read_by_its_code_in_the_chosen_edition(older_edition, coordinator):
    assert api(coordinator).get("/api/v1/measures/SALW-04/").json()["edition"] == "test"
    assert api(coordinator).get("/api/v1/measures/SALW-04/", {"edition": "2019"}).json()["edition"] == "2019"
    assert api(coordinator).get("/api/v1/measures/SALW-06/", {"edition": "2019"}).status_code == 404


def test_editions_say_which_is_current_and_what_each_revised(older_edition, focal_jam):
    rows = results(focal_jam, "/api/v1/editions/")
    assert {row["code"]: (row["is_current"], row["previous"]) for row in rows} == {
        "test": (True, "2019"),
        "2019": (False, None),
    }


# Ratings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "states"),
    [("analyst", {"JAM", "KEN"}), ("admin_user", {"JAM", "KEN"}), ("coordinator", {"JAM"}), ("focal_ken", {"KEN"})],
)
def test_ratings_are_those_the_reader_may_read(request, ratings, who, states):
    rows = results(request.getfixturevalue(who), "/api/v1/ratings/")
    assert {row["state"] for row in rows} == states
    assert len(rows) == 2 * len(states)


def test_a_rating_of_another_state_is_not_found(ratings, focal_jam):
    kenya = ratings["ken", ASSESSED]
    assert api(focal_jam).get(f"/api/v1/ratings/{kenya.pk}/").status_code == 404
    jamaica = ratings["jam", ASSESSED]
    assert api(focal_jam).get(f"/api/v1/ratings/{jamaica.pk}/").json()["state"] == "JAM"


def test_a_rating_shows_its_values_by_natural_keys(ratings, focal_jam):
    row = api(focal_jam).get(f"/api/v1/ratings/{ratings['jam', ASSESSED].pk}/").json()
    assert row == {
        "id": ratings["jam", ASSESSED].pk,
        "state": "JAM",
        "measure": "SALW-04",
        "kind": "assessed",
        "status": "partially",
        "explanation": "Marking law adopted; import marking not yet enforced.",
        "justification": "",
        "source_document": "Firearms Act",
        "source_reference": "",
        "source_url": "",
        "source_date": None,
        "assessment": None,
        "set_by": "ana",
        "set_at": "2024-05-01T00:00:00Z",
        "last_confirmed_at": "2024-05-01T00:00:00Z",
        "stale": True,
    }


def test_ratings_of_an_older_edition_are_left_out(older_edition, ratings, world, analyst):
    old = Measure.objects.get(edition=older_edition)
    factories.rating(state=world["jam"], measure=old, status=Status.IMPLEMENTED, by=analyst, reason="2019")
    assert {row["measure"] for row in results(analyst, "/api/v1/ratings/")} == {"SALW-04"}
    assert all(row["status"] == "partially" for row in results(analyst, "/api/v1/ratings/"))


def test_a_cted_only_assessment_is_named_to_analysts_alone(ratings, world, analyst, focal_jam, coordinator):
    cted_only = factories.assessment(state=world["jam"], conducted_on=dt.date(2024, 4, 1))
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.LARGELY, by=analyst, at=AT, assessment=cted_only
    )
    rating_id = ratings["jam", ASSESSED].pk
    assert api(analyst).get(f"/api/v1/ratings/{rating_id}/").json()["assessment"] == cted_only.pk
    assert api(focal_jam).get(f"/api/v1/ratings/{rating_id}/").json()["assessment"] is None
    assert api(coordinator).get(f"/api/v1/ratings/{rating_id}/").json()["assessment"] is None
    cted_only.confidentiality = Confidentiality.SHARED
    cted_only.save()
    assert api(focal_jam).get(f"/api/v1/ratings/{rating_id}/").json()["assessment"] == cted_only.pk


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "jam"}, {("JAM", "assessed"), ("JAM", "self_reported")}),
        ({"kind": "self_reported"}, {("JAM", "self_reported"), ("KEN", "self_reported")}),
        ({"region": "east-africa"}, {("KEN", "assessed"), ("KEN", "self_reported")}),
        ({"status": "implemented"}, {("KEN", "assessed")}),
        ({"measure": "SALW-06"}, set()),
        ({"region": "east-africa", "status": "partially"}, {("KEN", "self_reported")}),
    ],
)
def test_ratings_filter_as_the_pages_do(ratings, world, analyst, params, expected):
    factories.rating(
        state=world["ken"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst,
        at=AT + dt.timedelta(days=1),
    )  # fmt: skip
    rows = results(analyst, "/api/v1/ratings/", **params)
    assert {(row["state"], row["kind"]) for row in rows} == expected


def test_ratings_as_of_a_day_are_as_they_stood_then(ratings, world, analyst):
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst,
        at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    then = results(analyst, "/api/v1/ratings/", state="JAM", kind="assessed", as_of="2025-02-28")
    assert [(row["id"], row["status"]) for row in then] == [(ratings["jam", ASSESSED].pk, "partially")]
    # Unconfirmed since 1 May 2024: not yet a year by the end of 28 February 2025.
    assert then[0]["stale"] is False
    now = results(analyst, "/api/v1/ratings/", state="JAM", kind="assessed")
    assert [row["status"] for row in now] == ["implemented"]
    assert results(analyst, "/api/v1/ratings/", as_of="2024-04-30") == []
    rating_id = ratings["jam", ASSESSED].pk
    response = api(analyst).get(f"/api/v1/ratings/{rating_id}/", {"as_of": "2025-02-28"})
    assert response.json()["status"] == "partially"


def test_a_future_as_of_day_is_refused_with_the_pages_message(ratings, analyst):
    response = api(analyst).get("/api/v1/ratings/", {"as_of": "2999-01-01"})
    assert response.status_code == 400
    assert response.json() == {"as_of": ["Choose today or a past date: history does not know the future."]}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "great"}, "status"), ({"as_of": "yesterday"}, "as_of"), ({"updated_since": "soon"}, "updated_since")],
)
def test_a_bad_filter_is_refused_naming_it(ratings, analyst, params, field):
    response = api(analyst).get("/api/v1/ratings/", params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.fixture
def confirmed_later(ratings, world, analyst):
    """Jamaica's self-report confirmed on 1 March 2025 at noon; Kenya's assessed rating changed on 2 March."""
    factories.confirmed_rating(
        ratings["jam", SELF_REPORTED], by=analyst, at=dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
    )
    factories.rating(
        state=world["ken"], measure=world["marking"], status=Status.LARGELY, by=analyst,
        at=dt.datetime(2025, 3, 2, tzinfo=dt.UTC),
    )  # fmt: skip
    return ratings


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("2025-03-01", {("JAM", "self_reported"), ("KEN", "assessed")}),
        ("2025-03-01T12:00:00Z", {("JAM", "self_reported"), ("KEN", "assessed")}),
        ("2025-03-01T12:00:00.000001Z", {("KEN", "assessed")}),
        ("2025-03-01T13:00:00+01:00", {("JAM", "self_reported"), ("KEN", "assessed")}),
        # An offset PostgreSQL would not take by itself.
        ("2025-03-01T00:00:00+17:15", {("JAM", "self_reported"), ("KEN", "assessed")}),
        ("2025-03-03", set()),
        ("2024-05-01", {("JAM", "assessed"), ("JAM", "self_reported"), ("KEN", "assessed"), ("KEN", "self_reported")}),
    ],
)
def test_updated_since_keeps_ratings_saved_or_confirmed_at_or_after_it(confirmed_later, analyst, since, expected):
    rows = results(analyst, "/api/v1/ratings/", updated_since=since)
    assert {(row["state"], row["kind"]) for row in rows} == expected


def test_updated_since_is_part_of_the_shared_filterset(confirmed_later):
    # The pages' FilterSet itself, not only the API, knows the filter.
    filters = RatingFilterSet({"updated_since": "2025-03-02"}, queryset=Rating.objects.all())
    assert filters.is_valid()
    assert [(r.state.iso3, r.kind) for r in filters.qs] == [("KEN", "assessed")]


def test_updated_since_refuses_a_moment_before_utc_begins(ratings, analyst):
    response = api(analyst).get("/api/v1/ratings/", {"updated_since": "0001-01-01T00:00:00+08:00"})
    assert response.status_code == 400
    assert response.json() == {"updated_since": ["Enter a date and time between the years 1 and 9999 in UTC."]}


def test_the_pages_ignore_updated_since_in_their_forms(client, ratings, analyst):
    # The filter forms list their own fields: the new filter must not appear on the pages.
    client.force_login(analyst)
    html = client.get("/states/JAM/").content.decode()
    assert 'name="updated_since"' not in html


# Rating history -----------------------------------------------------------------------


@pytest.fixture
def changes(ratings, world, analyst):
    """Jamaica's self-report and Kenya's assessment changed by the analyst in 2025."""
    rating = ratings["jam", SELF_REPORTED]
    rating.status = Status.LARGELY
    factories.saved_rating(rating, by=analyst, reason="Regulation in force", at=dt.datetime(2025, 2, 1, tzinfo=dt.UTC))
    factories.rating(
        state=world["ken"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst,
        at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC), reason="Visit",
    )  # fmt: skip
    return ratings


def test_history_shows_each_change_with_who_and_why_newest_first(changes, coordinator):
    rows = results(coordinator, "/api/v1/rating-history/")
    assert [(row["state"], row["kind"], row["previous_status"], row["status"]) for row in rows] == [
        ("JAM", "self_reported", "partially", "largely"),
        ("JAM", "self_reported", None, "partially"),
        ("JAM", "assessed", None, "partially"),
    ]
    # As on the State profile's timeline, which every reader of the State sees: why and by whom.
    assert (rows[0]["reason"], rows[0]["by"], rows[0]["change"]) == ("Regulation in force", "ana", "changed")
    assert (rows[1]["reason"], rows[1]["by"], rows[1]["change"]) == ("Initial rating", "ana", "created")
    assert rows[0]["rating"] == changes["jam", SELF_REPORTED].pk


@pytest.mark.parametrize(("who", "count"), [("analyst", 6), ("focal_jam", 3), ("focal_ken", 3), ("coordinator", 3)])
def test_history_is_of_the_states_the_reader_may_read(request, changes, who, count):
    assert len(results(request.getfixturevalue(who), "/api/v1/rating-history/")) == count


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "KEN"}, 3),
        ({"since": "2025-01-01"}, 2),
        ({"until": "2025-01-01"}, 4),
        ({"since": "2025-02-01T00:00:00Z", "until": "2025-02-01T00:00:00Z"}, 1),
        ({"kind": "assessed", "status": "implemented"}, 1),
        ({"measure": "SALW-06"}, 0),
    ],
)
def test_history_filters_by_state_measure_and_date(changes, analyst, params, expected):
    assert len(results(analyst, "/api/v1/rating-history/", **params)) == expected


def test_one_change_of_another_state_is_not_found(changes, focal_jam):
    kenya = Rating.history.filter(state__iso3="KEN").first()
    assert api(focal_jam).get(f"/api/v1/rating-history/{kenya.history_id}/").status_code == 404
    jamaica = Rating.history.filter(state__iso3="JAM").first()
    assert api(focal_jam).get(f"/api/v1/rating-history/{jamaica.history_id}/").json()["state"] == "JAM"


# Assessments and recommendations ------------------------------------------------------


@pytest.fixture
def assessments(world):
    shared = factories.assessment(
        state=world["jam"], kind="country_visit", conducted_on=dt.date(2024, 3, 1),
        confidentiality=Confidentiality.SHARED, summary="Visit to Kingston",
    )  # fmt: skip
    cted_only = factories.assessment(state=world["jam"], conducted_on=dt.date(2024, 6, 1))
    kenya = factories.assessment(
        state=world["ken"], conducted_on=dt.date(2024, 7, 1), confidentiality=Confidentiality.PUBLIC
    )
    return {"shared": shared, "cted_only": cted_only, "kenya": kenya}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("analyst", ["kenya", "cted_only", "shared"]),
        ("coordinator", ["shared"]),
        ("focal_jam", ["shared"]),
        ("focal_ken", ["kenya"]),
    ],
)
def test_assessments_hide_cted_only_ones_from_all_but_analysts(request, assessments, who, expected):
    rows = results(request.getfixturevalue(who), "/api/v1/assessments/")
    assert [row["id"] for row in rows] == [assessments[name].pk for name in expected]


def test_a_cted_only_assessment_is_not_found_by_a_focal_point(assessments, focal_jam):
    assert api(focal_jam).get(f"/api/v1/assessments/{assessments['cted_only'].pk}/").status_code == 404
    shared = api(focal_jam).get(f"/api/v1/assessments/{assessments['shared'].pk}/").json()
    assert (shared["state"], shared["kind"], shared["summary"]) == ("JAM", "country_visit", "Visit to Kingston")


@pytest.fixture
def recommendations(world, assessments):
    both = factories.recommendation(
        state=world["jam"], text="Mark and record", measures=[world["marking"], world["records"]],
        assessment=assessments["cted_only"],
    )  # fmt: skip
    kenya = factories.recommendation(
        state=world["ken"], text="Record", measures=[world["records"]], status=Recommendation.Status.DONE
    )
    return {"both": both, "kenya": kenya}


def test_recommendations_of_the_readers_states_with_their_measures(recommendations, focal_jam, analyst):
    rows = results(focal_jam, "/api/v1/recommendations/")
    assert [(row["text"], row["measures"], row["assessment"]) for row in rows] == [
        ("Mark and record", ["SALW-04", "SALW-06"], None)
    ]
    assert results(analyst, "/api/v1/recommendations/", state="JAM")[0]["assessment"] == (
        recommendations["both"].assessment_id
    )


def test_recommendations_filtered_by_measure_appear_once(recommendations, analyst):
    rows = results(analyst, "/api/v1/recommendations/", measure="salw-06")
    assert [row["text"] for row in rows] == ["Mark and record", "Record"]
    assert [row["text"] for row in results(analyst, "/api/v1/recommendations/", status="done")] == ["Record"]


# Pagination and CSV -------------------------------------------------------------------


def test_lists_are_paginated_with_a_capped_page_size(world, analyst):
    first = api(analyst).get("/api/v1/states/", {"page_size": 3}).json()
    assert (first["count"], len(first["results"])) == (4, 3)
    assert "page=2" in first["next"]
    second = api(analyst).get("/api/v1/states/", {"page_size": 3, "page": 2}).json()
    assert [row["iso3"] for row in second["results"]] == ["TTO"]
    assert api(analyst).get("/api/v1/states/", {"page": 3, "page_size": 3}).status_code == 404


def test_the_page_size_cannot_exceed_its_cap(world, analyst):
    assert PageNumberPagination.max_page_size == 1000
    measures = [
        Measure(
            edition=world["edition"], section=world["section"], code=f"X-{n:04}", title="x", domain="salw",
            phase="upstream", legislative=True, position=10 + n,
        )
        for n in range(1001)
    ]  # fmt: skip
    Measure.objects.bulk_create(measures)
    page = api(analyst).get("/api/v1/measures/", {"page_size": 5000}).json()
    assert (page["count"], len(page["results"])) == (1003, 1000)
    assert len(api(analyst).get("/api/v1/measures/").json()["results"]) == 100


@pytest.mark.parametrize("how", ["query", "accept"])
def test_a_list_downloads_as_csv_flattened(recommendations, analyst, how):
    client = api(analyst)
    if how == "query":
        response = client.get("/api/v1/recommendations/", {"format": "csv"})
    else:
        response = client.get("/api/v1/recommendations/", HTTP_ACCEPT="text/csv")
    rows = csv_rows(response)
    assert [(row["state"], row["measures"], row["text"]) for row in rows] == [
        ("JAM", "SALW-04; SALW-06", "Mark and record"),
        ("KEN", "SALW-06", "Record"),
    ]
    assert response.content.startswith(b"\xef\xbb\xbf")


def test_csv_cells_cannot_run_as_formulas(ratings, world, focal_jam, analyst):
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF_REPORTED, status=Status.LARGELY, by=analyst, at=AT,
        explanation='=HYPERLINK("http://evil.example","click")', source_document="+1 page", source_reference="-3",
        justification="@SUM(A1)",
    )  # fmt: skip
    rows = csv_rows(api(focal_jam).get("/api/v1/ratings/", {"format": "csv", "kind": "self_reported"}))
    assert rows[0]["explanation"] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[0]["source_document"] == "'+1 page"
    assert rows[0]["source_reference"] == "'-3"
    assert rows[0]["justification"] == "'@SUM(A1)"
    assert rows[0]["stale"] == "true"


def test_csv_leaves_out_control_characters_saved_before_they_were_refused(ratings, world, focal_jam, analyst):
    rating = factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF_REPORTED, status=Status.LARGELY, by=analyst, at=AT
    )
    # Stored as it was before the limits: straight to the table, past the checks that now refuse it.
    Rating.objects.filter(pk=rating.pk).update(explanation="Act\x1b 12\u202e(3)", source_reference="s.\x7f 4")
    rows = csv_rows(api(focal_jam).get("/api/v1/ratings/", {"format": "csv", "kind": "self_reported"}))
    assert (rows[0]["explanation"], rows[0]["source_reference"]) == ("Act 12(3)", "s. 4")


def test_a_refusal_asked_for_as_csv_is_json(nobody):
    # Every refusal under /api/ is JSON, so that a client reads errors one way whatever it asked for.
    response = api(nobody).get("/api/v1/ratings/", {"format": "csv"})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


# Query counts -------------------------------------------------------------------------


@pytest.fixture
def busy(ratings, world, analyst, assessments, recommendations, focal_jam):
    """Twelve more measures, each rated both ways for Jamaica and Kenya, and changed once, with follow-up."""
    for n in range(12):
        measure = Measure.objects.create(
            edition=world["edition"], section=world["section"], code=f"XFER-{n:02}", title=f"Transfer control {n}",
            domain="salw", phase="downstream", strategic=True, position=10 + n,
        )  # fmt: skip
        for key in ("jam", "ken"):
            for kind in Rating.Kind:
                for status, year in [(Status.NOT_IMPLEMENTED, 2023), (Status.PARTIALLY, 2024)]:
                    factories.rating(
                        state=world[key], measure=measure, kind=kind, status=status, by=analyst,
                        at=dt.datetime(year, 1, 1, tzinfo=dt.UTC), reason="Review",
                        assessment=assessments["shared"] if key == "jam" and kind == ASSESSED else None,
                    )  # fmt: skip
        factories.recommendation(state=world["jam"], text=f"Do {n}", measures=[measure, world["marking"]])
        factories.submission(state=world["jam"], measure=measure, by=focal_jam, status=Status.LARGELY)
    Assessment.objects.bulk_create(
        Assessment(state=world["ken"], kind="desk_review", conducted_on=dt.date(2020, 1, n + 1)) for n in range(12)
    )


# Every list: 1. the token and its user, 2. the user's roles, 3. the count of rows,
# 4. the page of rows (with its joins), and for some 5. a prefetch of their many-to-many
# (region memberships, measure instruments, recommendation measures).
LIST_QUERIES = {
    "/api/v1/states/": 4,
    "/api/v1/regions/": 5,
    "/api/v1/editions/": 4,
    "/api/v1/measures/": 5,
    "/api/v1/ratings/": 4,
    "/api/v1/rating-history/": 4,
    "/api/v1/assessments/": 4,
    "/api/v1/recommendations/": 5,
    "/api/v1/submissions/": 4,
}


@pytest.mark.parametrize("path", LISTS)
def test_query_count_is_fixed_on_small_data(
    ratings, world, assessments, recommendations, focal_jam, analyst, path, django_assert_num_queries
):
    factories.submission(state=world["jam"], measure=world["marking"], by=focal_jam, status=Status.LARGELY)
    client = api(analyst)
    with django_assert_num_queries(LIST_QUERIES[path]):
        assert client.get(path).status_code == 200


# The lists that "busy" makes long for every reader of Jamaica.
GROWING = {
    "/api/v1/measures/", "/api/v1/ratings/", "/api/v1/rating-history/", "/api/v1/recommendations/",
    "/api/v1/submissions/",
}  # fmt: skip


@pytest.mark.parametrize("who", ["analyst", "focal_jam", "coordinator"])
def test_query_count_stays_fixed_with_many_rows(request, busy, who, subtests, django_assert_num_queries):
    client = api(request.getfixturevalue(who))
    for path in LISTS:
        with subtests.test(path=path), django_assert_num_queries(LIST_QUERIES[path]):
            response = client.get(path, {"page_size": 1000})
            assert response.status_code == 200
            if path in GROWING:
                assert len(response.json()["results"]) >= 12


def test_rating_query_count_stays_fixed_with_filters_and_csv(busy, analyst, subtests, django_assert_num_queries):
    client = api(analyst)
    for params in [{"as_of": "2023-06-01"}, {"updated_since": "2023-06-01"}, {"format": "csv"}]:
        with subtests.test(**params), django_assert_num_queries(LIST_QUERIES["/api/v1/ratings/"]):
            assert client.get("/api/v1/ratings/", {"page_size": 1000, **params}).status_code == 200


def test_state_filter_adds_one_query_for_the_state(busy, analyst, django_assert_num_queries):
    client = api(analyst)
    # As any list of ratings, plus 5. the State named by its code, among those the reader may read.
    with django_assert_num_queries(LIST_QUERIES["/api/v1/ratings/"] + 1):
        assert client.get("/api/v1/ratings/", {"state": "KEN", "page_size": 1000}).status_code == 200


def test_region_filter_adds_one_query_for_the_region(busy, analyst, django_assert_num_queries):
    client = api(analyst)
    # As any list of ratings, plus 5. the region named by its slug.
    with django_assert_num_queries(LIST_QUERIES["/api/v1/ratings/"] + 1):
        assert client.get("/api/v1/ratings/", {"region": "caribbean"}).status_code == 200


# Schema and docs ----------------------------------------------------------------------


def test_the_schema_is_openapi_3_and_lists_every_resource(world, analyst):
    response = api(analyst).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {"/api/v1/ratings/", "/api/v1/ratings/{id}/", "/api/v1/rating-history/", "/api/v1/submissions/"} <= paths
    ratings = schema["paths"]["/api/v1/ratings/"]["get"]
    assert {"updated_since", "as_of", "region", "page", "page_size"} <= {p["name"] for p in ratings["parameters"]}
    history = {p["name"] for p in schema["paths"]["/api/v1/rating-history/"]["get"]["parameters"]}
    assert {"since", "until", "state", "measure"} <= history
    assert not {"as_of", "updated_since"} & history
    assert {"200", "400", "401", "403", "404"} == set(ratings["responses"])
    assert set(schema["paths"]["/api/v1/submissions/"]["post"]["responses"]) >= {"201", "400", "403", "409"}


def test_the_schema_and_docs_are_for_people_with_a_role(world, nobody):
    assert api().get("/api/schema/").status_code == 401
    assert api().get("/api/docs/").status_code == 401
    assert api(nobody).get("/api/schema/").status_code == 403
    assert api(nobody).get("/api/docs/").status_code == 403


def test_the_schema_validates_without_warnings(world):
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "openapi: 3" in out.getvalue()


def test_the_docs_page_loads_every_asset_from_the_site(client, analyst):
    client.force_login(analyst)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 4  # style sheet, favicon, the two bundles, the start-up script
    for asset in assets:
        assert asset.startswith(("/static/", "/api/docs/?")), asset
    # No inline script, for the coming Content-Security-Policy: every <script> has a src.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html and "style=" not in html
    for asset in assets:
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), f"{asset} is not among the static files"


def test_the_docs_start_up_script_is_served_by_the_site(client, analyst):
    client.force_login(analyst)
    html = client.get("/api/docs/").content.decode()
    script = re.search(r'<script src="(/api/docs/\?[^"]+)"', html).group(1).replace("&amp;", "&")
    response = client.get(script)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in response.content.decode()


# Tokens -------------------------------------------------------------------------------


def test_an_administrator_creates_tokens_in_the_admin(client, admin_user, analyst):
    client.force_login(admin_user)
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 200
    response = client.post("/admin/authtoken/tokenproxy/add/", {"user": analyst.pk})
    assert response.status_code == 302
    token = Token.objects.get(user=analyst)
    client.logout()
    check = APIClient()
    check.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert check.get("/api/v1/states/").status_code == 200


@pytest.mark.parametrize("who", ["analyst", "coordinator", "focal_jam", "nobody"])
def test_only_administrators_see_the_token_admin(client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 403
    assert client.get("/admin/authtoken/tokenproxy/add/").status_code == 403
    assert "/admin/authtoken/" not in client.get("/admin/").content.decode()


# Submissions --------------------------------------------------------------------------


def submit(user, **values):
    return api(user).post("/api/v1/submissions/", {"state": "JAM", "measure": "SALW-04", **values}, format="json")


def test_a_focal_point_submits_a_self_report_for_review(ratings, focal_jam):
    response = submit(focal_jam, status="largely", explanation="Regulation adopted", source_date="2025-01-10")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["state"], data["measure"], data["status"], data["review"], data["channel"]) == (
        "JAM", "SALW-04", "largely", "pending", "api",
    )  # fmt: skip
    assert (data["submitted_by"], data["source_date"], data["replaces"]) == ("jo", "2025-01-10", None)
    submission = Submission.objects.get()
    assert submission.channel == Submission.Channel.API
    # Nothing changes until an analyst accepts it.
    assert Rating.objects.get(pk=ratings["jam", SELF_REPORTED].pk).status == Status.PARTIALLY


@pytest.mark.parametrize("who", ["analyst", "coordinator", "admin_user", "focal_ken"])
def test_only_a_focal_point_of_the_state_may_submit(request, ratings, who):
    response = submit(request.getfixturevalue(who), status="largely")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only a focal point of Jamaica may submit its ratings."}
    assert not Submission.objects.exists()


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"status": "not_applicable"}, {"__all__": ["Say why the measure does not apply to this State."]}),
        ({"status": "largely", "source_url": "not a url"}, {"source_url": ["Enter a valid URL."]}),
        ({"status": "great"}, {"status": ['"great" is not a valid choice.']}),
        ({"status": "largely", "state": "XXX"}, {"state": ["No Member State has the ISO3 code XXX."]}),
        ({"status": "largely", "measure": "NOPE-1"}, {"measure": ["The current catalogue has no measure NOPE-1."]}),
        ({"status": "largely", "source_date": "10/01/2025x"}, None),
        ({}, {"status": ["This field is required."]}),
    ],
)
def test_bad_values_are_refused_by_field_and_nothing_is_saved(ratings, focal_jam, values, errors):
    response = submit(focal_jam, **values)
    assert response.status_code == 400
    if errors is None:
        assert list(response.json()) == ["source_date"]
    else:
        assert response.json() == errors
    assert not Submission.objects.exists()


def test_a_measure_code_names_the_current_editions_measure(older_edition, ratings, world, focal_jam):
    # Two editions have a SALW-04: a submission is always for the catalogue in force.
    assert submit(focal_jam, status="largely").status_code == 201
    assert Submission.objects.get().measure == world["marking"]


def test_someone_elses_pending_submission_is_a_conflict(ratings, world, focal_jam):
    alternate = factories.user(username="alt", role=Role.Kind.FOCAL_POINT, state=world["jam"], is_alternate=True)
    first = submit(alternate, status="implemented")
    assert first.status_code == 201
    response = submit(focal_jam, status="largely")
    assert response.status_code == 409
    assert "alt submitted a change to SALW-04" in response.json()["detail"]
    assert Submission.objects.get().status == Status.IMPLEMENTED
    # Naming the pending one replaces it.
    replacing = submit(focal_jam, status="largely", replaces=first.json()["id"])
    assert replacing.status_code == 201
    assert replacing.json()["replaces"] == first.json()["id"]
    assert Submission.objects.get(pk=first.json()["id"]).review == Submission.Review.SUPERSEDED


@pytest.fixture
def kenyan_submission(ratings, world, focal_ken, analyst):
    """A factory: Kenya's submission on SALW-04, left pending, accepted or returned."""

    def make(outcome):
        submission = factories.submission(state=world["ken"], measure=world["marking"], by=focal_ken, status="largely")
        if outcome == Submission.Review.ACCEPTED:
            workflow.accept(submission, by=analyst)
        elif outcome == Submission.Review.RETURNED:
            workflow.return_submission(submission, by=analyst, note="Cite the regulation.")
        return submission

    return make


@pytest.mark.parametrize(
    "outcome", [Submission.Review.PENDING, Submission.Review.ACCEPTED, Submission.Review.RETURNED]
)
def test_replacing_another_states_submission_answers_as_for_one_that_does_not_exist(
    kenyan_submission, focal_jam, outcome
):
    kenyan = kenyan_submission(outcome)
    missing = Submission.objects.order_by("-pk").first().pk + 100
    answers = [submit(focal_jam, status="largely", replaces=number) for number in (kenyan.pk, missing)]
    assert [(answer.status_code, answer.json()) for answer in answers] == 2 * [
        (
            409,
            {
                "detail": "The submission you were replacing has meanwhile been removed. Yours was not saved: reload "
                "and submit again if it is still needed."
            },
        )
    ]
    assert Submission.objects.get().review == outcome


@pytest.mark.parametrize(("who", "states"), [("analyst", {"JAM", "KEN"}), ("coordinator", {"JAM"}),
                                             ("focal_ken", {"KEN"}), ("focal_jam", {"JAM"})])  # fmt: skip
def test_submissions_are_listed_to_those_who_may_read_the_state(request, ratings, world, focal_jam, focal_ken,
                                                                 who, states):  # fmt: skip
    factories.submission(state=world["jam"], measure=world["marking"], by=focal_jam, status=Status.LARGELY)
    factories.submission(state=world["ken"], measure=world["marking"], by=focal_ken, status=Status.IMPLEMENTED)
    rows = results(request.getfixturevalue(who), "/api/v1/submissions/")
    assert {row["state"] for row in rows} == states


def test_submissions_filter_by_review(ratings, world, focal_jam, analyst):
    pending = factories.submission(state=world["jam"], measure=world["marking"], by=focal_jam, status=Status.LARGELY)
    workflow.return_submission(pending, by=analyst, note="Cite the regulation")
    factories.submission(state=world["jam"], measure=world["records"], by=focal_jam, status=Status.PARTIALLY)
    returned = results(focal_jam, "/api/v1/submissions/", review="returned")
    assert [(row["measure"], row["review_note"], row["reviewed_by"]) for row in returned] == [
        ("SALW-04", "Cite the regulation", "ana")
    ]
    assert [row["measure"] for row in results(focal_jam, "/api/v1/submissions/", review="pending")] == ["SALW-06"]
