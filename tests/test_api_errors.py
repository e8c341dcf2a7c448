"""
Hostile and careless requests to the API: each is refused with a JSON answer naming what was
wrong, never a 500 and never an HTML page; the pages keep their own HTML error pages.
"""

import datetime as dt
import re

import factories
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from implementation.api.schema import dates_up_to
from implementation.models import Submission
from states.models import MemberState


def client_for(user):
    """A plain Django client with ``user``'s token, that answers a server error rather than raising it."""
    token, _ = Token.objects.get_or_create(user=user)
    return Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token.key}")


def assert_json(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()


# Bodies ------------------------------------------------------------------------------------


def test_a_deeply_nested_body_is_refused_as_bad_json(ratings, focal_jam):
    body = '{"state": "JAM", "measure": "SALW-04", "explanation": ' + "[" * 2000 + "]" * 2000 + "}"
    response = client_for(focal_jam).post("/api/v1/submissions/", body, content_type="application/json")
    data = assert_json(response, 400)
    assert "32" in data["detail"]
    assert not Submission.objects.exists()


def test_a_body_nested_just_past_the_limit_is_refused(ratings, focal_jam):
    body = '{"status": ' + "[" * 32 + "]" * 32 + "}"
    response = client_for(focal_jam).post("/api/v1/submissions/", body, content_type="application/json")
    assert "32" in assert_json(response, 400)["detail"]


def test_a_body_larger_than_the_cap_is_refused_with_json(ratings, focal_jam, settings):
    body = '{"state": "JAM", "measure": "SALW-04", "status": "largely", "explanation": "' + "x" * 3_000_000 + '"}'
    response = client_for(focal_jam).post("/api/v1/submissions/", body, content_type="application/json")
    data = assert_json(response, 413)
    assert "MB" in data["detail"]
    assert not Submission.objects.exists()


def test_a_form_body_larger_than_the_cap_is_refused_with_json(ratings, focal_jam):
    body = "state=JAM&explanation=" + "x" * 3_000_000
    response = client_for(focal_jam).post(
        "/api/v1/submissions/", body, content_type="application/x-www-form-urlencoded"
    )
    assert_json(response, 413)


def test_a_multipart_body_larger_than_the_cap_is_refused_with_json(ratings, focal_jam):
    response = client_for(focal_jam).post(
        "/api/v1/submissions/", {"state": "JAM", "measure": "SALW-04", "explanation": "x" * 3_000_000}
    )
    assert_json(response, 413)
    assert not Submission.objects.exists()


# Errors are JSON under /api/ only -------------------------------------------------------------


def test_too_many_query_parameters_are_refused_with_json(ratings, analyst):
    query = "&".join(f"p{n}=1" for n in range(1100))
    data = assert_json(client_for(analyst).get(f"/api/v1/ratings/?{query}"), 400)
    assert "parameters" in data["detail"]


def test_too_many_query_parameters_on_a_page_keep_the_html_page(ratings, analyst):
    client = Client(raise_request_exception=False)
    client.force_login(analyst)
    query = "&".join(f"p{n}=1" for n in range(1100))
    response = client.get(f"/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_an_unknown_api_path_is_a_json_404(analyst):
    assert "detail" in assert_json(client_for(analyst).get("/api/v2/nothing/"), 404)


def test_an_unknown_page_keeps_the_html_404(analyst):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_method_the_api_does_not_take_is_a_json_405(ratings, analyst):
    assert "detail" in assert_json(client_for(analyst).delete("/api/v1/ratings/"), 405)


def test_a_server_error_under_the_api_is_json(ratings, analyst, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("implementation.api.views.RatingViewSet.list", broken)
    data = assert_json(client_for(analyst).get("/api/v1/ratings/"), 500)
    assert "boom" not in data["detail"]


def test_a_server_error_on_a_page_keeps_the_html_page(ratings, analyst, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("implementation.views.dashboards.dashboards.build_overview", broken)
    client = Client(raise_request_exception=False)
    client.force_login(analyst)
    response = client.get("/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


# Typed parameters -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["null", "", "0", "-3", "ten"])
def test_a_page_size_that_is_not_a_positive_number_is_refused(ratings, analyst, value):
    data = assert_json(client_for(analyst).get("/api/v1/ratings/", {"page_size": value}), 400)
    assert "page_size" in data


def test_a_page_size_over_the_cap_still_gives_the_capped_page(ratings, analyst):
    assert client_for(analyst).get("/api/v1/ratings/", {"page_size": "5000"}).status_code == 200


@pytest.mark.parametrize("value", ["", "xml"])
def test_a_format_that_is_empty_or_unknown_is_refused(ratings, analyst, value):
    data = assert_json(client_for(analyst).get("/api/v1/ratings/", {"format": value}), 400)
    assert "format" in data


def test_a_known_format_is_still_served(ratings, analyst):
    response = client_for(analyst).get("/api/v1/ratings/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("name", ["updated_since", "as_of", "status", "state"])
def test_an_empty_filter_is_refused(ratings, analyst, name):
    data = assert_json(client_for(analyst).get("/api/v1/ratings/", {name: ""}), 400)
    assert name in data


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_yes_or_no_filter_takes_only_true_or_false(ratings, analyst, value):
    data = assert_json(client_for(analyst).get("/api/v1/states/", {"readable": value}), 400)
    assert "readable" in data
    assert client_for(analyst).get("/api/v1/states/", {"readable": "false"}).status_code == 200


def test_a_future_as_of_is_refused_by_name(ratings, analyst):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    data = assert_json(client_for(analyst).get("/api/v1/ratings/", {"as_of": tomorrow.isoformat()}), 400)
    assert "as_of" in data


@pytest.mark.parametrize("name", ["state", "measure", "region", "section"])
def test_a_nul_in_a_query_value_is_refused_by_name(ratings, analyst, name):
    data = assert_json(client_for(analyst).get("/api/v1/ratings/", {name: "JA\x00M"}), 400)
    assert name in data


def test_a_nul_in_a_parameter_that_is_not_a_filter_is_refused(ratings, analyst):
    data = assert_json(client_for(analyst).get("/api/v1/states/JAM/", {"page": "1\x00"}), 400)
    assert "page" in data


# Submissions ------------------------------------------------------------------------------


def test_a_bad_status_is_refused_before_a_pending_submission_is_a_conflict(ratings, world, focal_jam):
    factories.submission(state=world["jam"], measure=world["marking"], by=focal_jam, explanation="First")
    response = client_for(focal_jam).post(
        "/api/v1/submissions/",
        {"state": "JAM", "measure": "SALW-04", "status": "not_applicable", "justification": ""},
        content_type="application/json",
    )
    data = assert_json(response, 400)
    assert data != {} and "detail" not in data
    assert "Say why the measure does not apply" in str(data)
    assert Submission.objects.filter(review=Submission.Review.PENDING).get().explanation == "First"


def test_an_error_asked_for_as_csv_is_still_json(ratings, analyst):
    response = client_for(analyst).get("/api/v1/ratings/", {"format": "csv", "page_size": "null"})
    assert "page_size" in assert_json(response, 400)


# The schema --------------------------------------------------------------------------------


@pytest.fixture
def schema(analyst):
    response = client_for(analyst).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_describes_csv_responses_as_text_and_refusals_as_json(schema):
    responses = schema["paths"]["/api/v1/ratings/"]["get"]["responses"]
    assert responses["200"]["content"]["text/csv"]["schema"]["type"] == "string"
    assert set(responses["400"]["content"]) == {"application/json"}


def test_the_schema_says_what_parameters_refuse(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/ratings/"]["get"]["parameters"]}
    assert parameters["page_size"]["schema"]["minimum"] == 1
    assert parameters["updated_since"]["schema"]["minLength"] == 1
    assert parameters["measure"]["schema"]["pattern"] == "^[^\\x00]*$"
    assert "Today or an earlier day" in parameters["as_of"]["description"]
    today = timezone.localdate()
    not_after_today = re.compile(parameters["as_of"]["schema"]["pattern"])
    assert not_after_today.match(today.isoformat()) and not_after_today.match("1999-12-31")
    assert not not_after_today.match((today + dt.timedelta(days=1)).isoformat())


@pytest.mark.parametrize(
    "day", [dt.date(2026, 12, 7), dt.date(2030, 1, 1), dt.date(2029, 10, 31), dt.date(2000, 2, 29)]
)
def test_the_pattern_of_dates_up_to_a_day_takes_every_earlier_date_and_no_later_one(day):
    pattern = re.compile(dates_up_to(day))
    for offset in range(-800, 800):
        other = day + dt.timedelta(days=offset)
        assert bool(pattern.match(other.isoformat())) == (offset <= 0), other


@pytest.mark.parametrize("who", ["analyst", "focal_jam", "coordinator"])
def test_each_readers_schema_lists_the_states_they_may_name_in_a_filter(request, world, who):
    reader = request.getfixturevalue(who)
    schema = client_for(reader).get("/api/schema/", {"format": "json"}).json()
    readable = sorted(MemberState.objects.visible_to(reader).values_list("iso3", flat=True))
    assert readable
    for path in ("/api/v1/ratings/", "/api/v1/assessments/", "/api/v1/submissions/"):
        (state,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "state"]
        assert state["schema"]["enum"] == readable
    if who == "focal_jam":
        assert "KEN" not in readable
