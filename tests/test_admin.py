"""
The admin, role by role: what each person sees, opens and may save.

Permissions come from Role (see states/admin_scoping.py), never from Django's model
permissions, so every test logs in one of the cast from conftest.py.
"""

import datetime as dt
import re

import factories
import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from simple_history.utils import get_history_manager_for_model

from implementation import workflow
from implementation.models import (
    Assessment,
    Confidentiality,
    ConfidentialNote,
    Rating,
    SharedHistoryQuerySet,
)
from measures.models import Instrument
from states.models import MemberState, Region, RegionMembership, Workshop

ASSESSED = Rating.Kind.ASSESSED
SELF = Rating.Kind.SELF_REPORTED
EVERY_RATING = {("JAM", ASSESSED), ("JAM", SELF), ("KEN", ASSESSED), ("KEN", SELF)}
CATALOGUE = {"Edition", "Instrument", "Measure", "Section"}
STATE_LINKED = {"Assessment", "AssistanceNeed", "Rating", "Recommendation", "Snapshot", "Submission"}
NOT_APPLICABLE_MESSAGE = "Say why the measure does not apply to this State."


def admin_url(name, *args):
    return reverse(f"admin:{name}", args=args)


def rating_url(rating, view="change"):
    return admin_url(f"implementation_rating_{view}", rating.pk)


def login(client, request, who):
    """Log ``who`` (a fixture name, or "anonymous") in; return the user or None."""
    if who == "anonymous":
        return None
    user = request.getfixturevalue(who)
    client.force_login(user)
    return user


def rating_form_data(rating, **changes):
    """What the change form posts for ``rating`` unchanged, with ``changes`` applied."""
    data = {
        "status": rating.status,
        "explanation": rating.explanation,
        "justification": rating.justification,
        "source_document": rating.source_document,
        "source_reference": rating.source_reference,
        "source_url": rating.source_url,
        "source_date": rating.source_date or "",
        "assessment": rating.assessment_id or "",
        "change_reason": "Checked against the gazette",
        # The version the change form was drawn with; a save checks nobody saved since.
        "version": Rating.objects.get(pk=rating.pk).version if rating.pk else "",
        "_save": "Save",
    }
    data.update(changes)
    return data


def snapshot(rating):
    """The stored rating and its history length, to compare before and after a refused write."""
    stored = Rating.objects.get(pk=rating.pk)
    return (stored.status, stored.explanation, stored.set_by_id, stored.last_confirmed_at, stored.history.count())


# --- The index --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (
            "admin_user",
            {
                "auth": {"Group", "User"},
                # API tokens: administrators alone (Django's model permissions, which no role grants).
                "authtoken": {"TokenProxy"},
                # Sign-in records and two-factor devices: administrators only.
                "axes": {"AccessAttempt", "AccessFailureLog", "AccessLog"},
                "otp_totp": {"TOTPDevice"},
                # The background tasks (uploads checked and applied), read-only: administrators only.
                "django_tasks_database": {"DBTaskResult"},
                "implementation": STATE_LINKED | {"ConfidentialNote"},
                "measures": CATALOGUE,
                "states": {"MemberState", "Region", "Role", "Workshop"},
            },
        ),
        (
            "analyst",
            {
                "auth": {"User"},
                "implementation": STATE_LINKED | {"ConfidentialNote"},
                "measures": CATALOGUE,
                "states": {"MemberState", "Region", "Role", "Workshop"},
            },
        ),
        (
            "coordinator",
            {"implementation": STATE_LINKED, "measures": CATALOGUE, "states": {"MemberState", "Region", "Workshop"}},
        ),
        ("focal_jam", {"implementation": STATE_LINKED, "measures": CATALOGUE, "states": {"MemberState"}}),
        ("focal_ken", {"implementation": STATE_LINKED, "measures": CATALOGUE, "states": {"MemberState"}}),
        ("nobody", {}),
    ],
)
def test_index_lists_the_models_of_the_users_role(db, client, request, who, expected):
    login(client, request, who)
    response = client.get(admin_url("index"))
    assert response.status_code == 200
    listed = {app["app_label"]: {m["object_name"] for m in app["models"]} for app in response.context["app_list"]}
    assert listed == expected


def test_anonymous_is_sent_to_log_in(client, world):
    response = client.get(admin_url("index"))
    assert response.status_code == 302
    assert response.url.startswith(admin_url("login"))


def test_site_is_titled_for_the_tracker(client, analyst):
    client.force_login(analyst)
    assert "SCR 2370 implementation tracker" in client.get(admin_url("index")).content.decode()


# --- Changelists ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin_user", EVERY_RATING),
        ("analyst", EVERY_RATING),
        ("coordinator", {("JAM", ASSESSED), ("JAM", SELF)}),
        ("focal_jam", {("JAM", ASSESSED), ("JAM", SELF)}),
        ("focal_ken", {("KEN", ASSESSED), ("KEN", SELF)}),
    ],
)
def test_rating_list_shows_only_the_users_states(client, request, ratings, who, expected):
    login(client, request, who)
    response = client.get(admin_url("implementation_rating_changelist"))
    assert response.status_code == 200
    assert {(r.state.iso3, r.kind) for r in response.context["cl"].result_list} == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin_user", {"FRA", "JAM", "KEN", "TTO"}),
        ("analyst", {"FRA", "JAM", "KEN", "TTO"}),
        ("coordinator", {"JAM", "TTO"}),
        ("focal_jam", {"JAM"}),
        ("focal_ken", {"KEN"}),
    ],
)
def test_member_state_list_shows_only_the_users_states(client, request, world, who, expected):
    login(client, request, who)
    response = client.get(admin_url("states_memberstate_changelist"))
    assert response.status_code == 200
    assert {s.iso3 for s in response.context["cl"].result_list} == expected


@pytest.mark.parametrize("changelist", ["implementation_rating_changelist", "states_memberstate_changelist"])
def test_user_without_role_cannot_open_any_list(client, nobody, changelist):
    client.force_login(nobody)
    assert client.get(admin_url(changelist)).status_code == 403


@pytest.mark.parametrize("changelist", ["implementation_rating_changelist", "states_memberstate_changelist"])
def test_anonymous_cannot_open_any_list(client, world, changelist):
    response = client.get(admin_url(changelist))
    assert response.status_code == 302
    assert response.url.startswith(admin_url("login"))


def test_rating_list_filters_by_region(client, analyst, ratings):
    client.force_login(analyst)
    response = client.get(admin_url("implementation_rating_changelist"), {"region": "caribbean"})
    assert {r.state.iso3 for r in response.context["cl"].result_list} == {"JAM"}


def test_member_state_list_filters_by_region(client, analyst):
    client.force_login(analyst)
    response = client.get(admin_url("states_memberstate_changelist"), {"region": "east-africa"})
    assert [s.iso3 for s in response.context["cl"].result_list] == ["KEN"]


def test_focal_point_sees_shared_assessments_of_own_state_only(client, focal_jam, analyst, world):
    for state in ("jam", "ken"):
        for confidentiality in (Confidentiality.SHARED, Confidentiality.CTED_ONLY):
            factories.assessment(state=world[state], conducted_on=dt.date(2024, 3, 1), confidentiality=confidentiality)
    client.force_login(focal_jam)
    response = client.get(admin_url("implementation_assessment_changelist"))
    assert [(a.state.iso3, a.confidentiality) for a in response.context["cl"].result_list] == [
        ("JAM", Confidentiality.SHARED)
    ]


def test_region_list_counts_todays_members(client, analyst, world):
    client.force_login(analyst)
    response = client.get(admin_url("states_region_changelist"))
    assert {r.slug: r.member_count for r in response.context["cl"].result_list} == {
        "caribbean": 2,
        "east-africa": 1,
    }


# Queries of the analyst's rating list, whatever the number of ratings:
#  1. the session
#  2. the user
#  3. the user's role kinds (is_analyst; cached on the user for the request)
#  4. the regions, for the region filter
#  5. the sections that have visible ratings, for the section filter
#  6. the count of visible ratings matching the filters
#  7. the count of visible ratings ("of N total")
#  8-9. the user's own and group permissions, once, for the user admin's entry in the
#       navigation sidebar (Django's user admin still uses model permissions)
# 10. one page of ratings, with their State, measure and setter joined
RATING_LIST_QUERIES = 10


def test_rating_list_query_count_does_not_grow_with_ratings(
    client, analyst, ratings, world, django_assert_num_queries
):
    client.force_login(analyst)
    with django_assert_num_queries(RATING_LIST_QUERIES):
        response = client.get(admin_url("implementation_rating_changelist"))
    assert len(response.context["cl"].result_list) == 4

    at = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    for state in ("jam", "tto", "ken", "fra"):
        for measure in ("marking", "records"):
            for kind in Rating.Kind:
                factories.rating(
                    state=world[state], measure=world[measure], kind=kind, by=analyst, at=at, reason="Load"
                )
    with django_assert_num_queries(RATING_LIST_QUERIES):
        response = client.get(admin_url("implementation_rating_changelist"))
    assert len(response.context["cl"].result_list) == 16


def test_member_state_page_lists_ratings_without_a_query_per_rating(
    client, analyst, ratings, world, django_assert_max_num_queries
):
    client.force_login(analyst)
    url = admin_url("states_memberstate_change", world["jam"].pk)
    response = client.get(url)
    assert response.status_code == 200
    assert "Open all 2 ratings of Jamaica" in response.content.decode()

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    factories.rating(state=world["jam"], measure=world["records"], by=analyst, reason="Load")
    factories.rating(state=world["jam"], measure=world["records"], kind=SELF, by=analyst, reason="Load")
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    assert "Open all 4 ratings of Jamaica" in response.content.decode()


# --- Opening one rating: change view and history ------------------------------------


@pytest.mark.parametrize(
    ("who", "state", "expected"),
    [
        ("admin_user", "ken", 200),
        ("analyst", "ken", 200),
        ("coordinator", "jam", 200),
        ("coordinator", "ken", 404),
        ("focal_jam", "jam", 200),
        ("focal_jam", "ken", 404),
        ("focal_ken", "ken", 200),
        ("focal_ken", "jam", 404),
        ("nobody", "jam", 404),
    ],
)
@pytest.mark.parametrize("kind", list(Rating.Kind))
def test_rating_change_view_opens_only_for_the_users_states(client, request, ratings, who, state, kind, expected):
    login(client, request, who)
    assert client.get(rating_url(ratings[state, kind])).status_code == expected


@pytest.mark.parametrize(
    ("who", "state", "expected"),
    [
        ("admin_user", "ken", 200),
        ("analyst", "ken", 200),
        ("coordinator", "jam", 200),
        # Outside the reader's States, as for a record that does not exist: a 403 would say it does.
        ("coordinator", "ken", 404),
        ("focal_jam", "jam", 200),
        ("focal_jam", "ken", 404),
        ("focal_ken", "ken", 200),
        ("focal_ken", "jam", 404),
        ("nobody", "jam", 403),
    ],
)
def test_rating_history_opens_only_for_the_users_states(client, request, ratings, who, state, expected):
    login(client, request, who)
    response = client.get(rating_url(ratings[state, ASSESSED], "history"))
    assert response.status_code == expected
    if expected == 200:
        assert "Initial rating" in response.content.decode()


def test_focal_point_cannot_open_another_states_rating_history(client, focal_jam, ratings):
    # simple-history falls back to the last historical row when the admin's queryset
    # misses the object; it must still answer as for an id that does not exist.
    client.force_login(focal_jam)
    response = client.get(rating_url(ratings["ken", SELF], "history"))
    assert response.status_code == 404
    assert "KEN" not in response.content.decode()
    missing = client.get(admin_url("implementation_rating_history", 987654))
    assert missing.status_code == 404


def test_focal_point_cannot_open_a_past_version_of_another_states_rating(client, focal_jam, ratings):
    client.force_login(focal_jam)
    rating = ratings["ken", SELF]
    url = admin_url("implementation_rating_simple_history", rating.pk, rating.history.first().history_id)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(("who", "named"), [("analyst", True), ("focal_jam", False), ("coordinator", False)])
def test_only_analysts_see_which_assessment_set_a_rating(client, request, ratings, analyst, world, who, named):
    # The assessment may be CTED-only: its name must not reach the State or its region,
    # neither on the rating's page nor in its history.
    visit = factories.assessment(
        state=world["jam"], kind=Assessment.Kind.COUNTRY_VISIT, conducted_on=dt.date(2024, 4, 9)
    )
    rating = ratings["jam", ASSESSED]
    rating.assessment = visit
    factories.saved_rating(rating, by=analyst, reason="Linked to the visit")
    login(client, request, who)
    for url in (
        rating_url(rating),
        rating_url(rating, "history"),
        admin_url("implementation_rating_simple_history", rating.pk, rating.history.first().history_id),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert (str(visit) in response.content.decode()) is named, url


@pytest.mark.parametrize("who", ["anonymous", "nobody"])
def test_rating_pages_are_closed_to_people_without_a_role(client, request, ratings, who):
    login(client, request, who)
    rating = ratings["jam", SELF]
    for url in (rating_url(rating), rating_url(rating, "history")):
        response = client.get(url)
        assert response.status_code in (302, 403, 404)
        assert "Firearms Act" not in response.content.decode()


def test_past_version_is_shown_without_an_editable_form(client, analyst, ratings):
    client.force_login(analyst)
    rating = ratings["jam", ASSESSED]
    url = admin_url("implementation_rating_simple_history", rating.pk, rating.history.first().history_id)
    response = client.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Firearms Act" in content
    for field in ("status", "explanation", "source_document", "change_reason"):
        assert f'name="{field}"' not in content
    assert 'value="Revert"' not in content


def test_past_version_cannot_be_posted_back(client, analyst, ratings):
    client.force_login(analyst)
    rating = ratings["jam", ASSESSED]
    before = snapshot(rating)
    url = admin_url("implementation_rating_simple_history", rating.pk, rating.history.first().history_id)
    response = client.post(url, rating_form_data(rating, status=Rating.Status.IMPLEMENTED))
    assert response.status_code == 403
    assert snapshot(rating) == before


def test_past_version_of_a_region_cannot_be_posted_back(client, analyst, world):
    client.force_login(analyst)
    region = world["caribbean"]
    url = admin_url("states_region_simple_history", region.pk, region.history.first().history_id)
    response = client.post(url, {"name": "Renamed", "slug": "renamed", "kind": region.kind})
    assert response.status_code == 403
    region.refresh_from_db()
    assert region.name == "Caribbean"


# --- Changing a rating --------------------------------------------------------------


def test_focal_point_cannot_change_own_states_self_reported_rating_in_the_admin(client, focal_jam, ratings):
    # What a focal point reports is a submission an analyst reviews (/my-state/, the API);
    # a POST to the admin's change form must not set the self-report behind the review.
    rating = ratings["jam", SELF]
    before = snapshot(rating)
    client.force_login(focal_jam)
    response = client.post(
        rating_url(rating),
        rating_form_data(rating, status=Rating.Status.IMPLEMENTED, change_reason="Import marking now enforced"),
    )
    assert response.status_code == 403
    assert snapshot(rating) == before
    assert Rating.history.count() == 4


def test_focal_point_cannot_add_a_self_reported_rating_in_the_admin(client, focal_jam, world):
    client.force_login(focal_jam)
    response = client.post(
        admin_url("implementation_rating_add"),
        {
            "state": world["jam"].pk,
            "measure": world["records"].pk,
            "kind": SELF,
            "status": Rating.Status.IMPLEMENTED,
            "change_reason": "First self-report",
            "_save": "Save",
        },
    )
    assert response.status_code == 403
    assert not Rating.objects.exists()
    assert not Rating.history.exists()


def test_focal_point_sees_own_states_self_report_read_only(client, focal_jam, ratings):
    client.force_login(focal_jam)
    response = client.get(rating_url(ratings["jam", SELF]))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    content = response.content.decode()
    assert "Marking law adopted; import marking not yet enforced." in content
    # CTED's own rating of the measure, shown beside the self-report.
    assert "CTED assessment: Partially implemented" in content
    for field in ("status", "explanation", "source_document", "change_reason", "version", "assessment"):
        assert f'name="{field}"' not in content
    assert 'name="_save"' not in content


def test_focal_point_sees_own_states_assessed_rating_read_only(client, focal_jam, ratings):
    client.force_login(focal_jam)
    response = client.get(rating_url(ratings["jam", ASSESSED]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Partially implemented" in content
    for field in ("status", "explanation", "change_reason"):
        assert f'name="{field}"' not in content


@pytest.mark.parametrize(
    ("who", "state", "kind", "expected"),
    [
        ("focal_jam", "jam", SELF, 403),
        ("focal_jam", "jam", ASSESSED, 403),
        ("focal_jam", "ken", SELF, 404),
        ("focal_jam", "ken", ASSESSED, 404),
        ("focal_ken", "jam", SELF, 404),
        ("coordinator", "jam", SELF, 403),
        ("coordinator", "jam", ASSESSED, 403),
        ("coordinator", "ken", SELF, 404),
        ("nobody", "jam", SELF, 404),
    ],
)
def test_rating_change_is_refused_outside_the_users_rights(client, request, ratings, who, state, kind, expected):
    rating = ratings[state, kind]
    before = snapshot(rating)
    login(client, request, who)
    response = client.post(rating_url(rating), rating_form_data(rating, status=Rating.Status.IMPLEMENTED))
    assert response.status_code == expected
    assert snapshot(rating) == before


def test_anonymous_cannot_change_a_rating(client, ratings):
    rating = ratings["jam", SELF]
    before = snapshot(rating)
    response = client.post(rating_url(rating), rating_form_data(rating, status=Rating.Status.IMPLEMENTED))
    assert response.status_code == 302
    assert snapshot(rating) == before


@pytest.mark.parametrize("who", ["admin_user", "analyst"])
@pytest.mark.parametrize(("state", "kind"), [("jam", ASSESSED), ("ken", SELF)])
def test_every_admin_change_appends_one_history_row_with_reason_and_user(client, request, ratings, who, state, kind):
    rating = ratings[state, kind]
    history_before = rating.history.count()
    user = login(client, request, who)
    response = client.post(
        rating_url(rating),
        rating_form_data(rating, explanation="Marking regulations gazetted.", change_reason="Desk review 2025"),
    )
    assert response.status_code == 302
    rating.refresh_from_db()
    assert rating.explanation == "Marking regulations gazetted."
    assert rating.history.count() == history_before + 1
    latest = rating.history.first()
    assert latest.history_change_reason == "Desk review 2025"
    assert latest.history_user == user
    # The status did not change: the save confirms the rating, it does not restamp who set it.
    assert rating.last_confirmed_at > rating.set_at


def test_rating_change_needs_a_reason(client, analyst, ratings):
    rating = ratings["jam", ASSESSED]
    before = snapshot(rating)
    client.force_login(analyst)
    response = client.post(rating_url(rating), rating_form_data(rating, status="implemented", change_reason=""))
    assert response.status_code == 200
    assert "change_reason" in response.context["adminform"].form.errors
    assert snapshot(rating) == before


@pytest.mark.parametrize("kind", [ASSESSED, SELF])
def test_not_applicable_without_justification_shows_the_rule_and_saves_nothing(client, analyst, ratings, kind):
    rating = ratings["jam", kind]
    before = snapshot(rating)
    client.force_login(analyst)
    response = client.post(
        rating_url(rating), rating_form_data(rating, status=Rating.Status.NOT_APPLICABLE, justification="")
    )
    assert response.status_code == 200
    assert NOT_APPLICABLE_MESSAGE in response.content.decode()
    assert snapshot(rating) == before


def test_analyst_adds_a_rating_through_the_service(client, analyst, world):
    client.force_login(analyst)
    response = client.post(
        admin_url("implementation_rating_add"),
        {
            "state": world["tto"].pk,
            "measure": world["records"].pk,
            "kind": ASSESSED,
            "status": Rating.Status.NOT_IMPLEMENTED,
            "explanation": "No central registry.",
            "change_reason": "Desk review 2025",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    rating = Rating.objects.get(state=world["tto"], measure=world["records"], kind=ASSESSED)
    assert rating.set_by == analyst
    assert [(h.history_change_reason, h.history_user) for h in rating.history.all()] == [("Desk review 2025", analyst)]


@pytest.mark.parametrize("who", ["focal_jam", "coordinator"])
def test_only_analysts_add_ratings(client, request, world, who):
    login(client, request, who)
    assert client.get(admin_url("implementation_rating_add")).status_code == 403


# --- Deleting a rating ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "state", "expected"),
    [
        ("admin_user", "jam", 403),
        ("analyst", "jam", 403),
        ("focal_jam", "jam", 403),
        ("coordinator", "jam", 403),
        ("focal_jam", "ken", 404),
    ],
)
def test_no_one_can_delete_a_rating(client, request, ratings, who, state, expected):
    rating = ratings[state, SELF]
    login(client, request, who)
    assert client.get(rating_url(rating, "delete")).status_code == expected
    assert client.post(rating_url(rating, "delete"), {"post": "yes"}).status_code == expected
    assert Rating.objects.filter(pk=rating.pk).exists()


@pytest.mark.parametrize("who", ["focal_jam", "coordinator"])
def test_rating_list_cannot_be_filtered_by_the_hidden_assessment(client, request, ratings, who):
    login(client, request, who)
    response = client.get(admin_url("implementation_rating_changelist"), {"assessment__isnull": "True"})
    assert response.status_code == 400


def test_analyst_can_filter_ratings_by_assessment(client, analyst, ratings):
    client.force_login(analyst)
    response = client.get(admin_url("implementation_rating_changelist"), {"assessment__isnull": "True"})
    assert response.status_code == 200


@pytest.mark.parametrize("who", ["admin_user", "analyst"])
def test_rating_list_offers_no_bulk_delete(client, request, ratings, who):
    login(client, request, who)
    response = client.get(admin_url("implementation_rating_changelist"))
    assert response.context["action_form"] is None
    assert "delete_selected" not in response.content.decode()

    client.post(
        admin_url("implementation_rating_changelist"),
        {"action": "delete_selected", "_selected_action": [r.pk for r in ratings.values()], "post": "yes"},
    )
    assert Rating.objects.count() == 4


# --- Assessments and their ratings ---------------------------------------------------------


def assessment_form_data(state, *rows, **changes):
    data = {
        "state": state.pk,
        "kind": Assessment.Kind.COUNTRY_VISIT,
        "conducted_on": "2025-02-10",
        "status": Assessment.Status.FINAL,
        "confidentiality": Confidentiality.SHARED,
        "summary": "Visit to Kingston.",
        "ratings-TOTAL_FORMS": len(rows),
        "ratings-INITIAL_FORMS": 0,
        "ratings-MIN_NUM_FORMS": 0,
        "ratings-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for i, row in enumerate(rows):
        data.update({f"ratings-{i}-{field}": value for field, value in row.items()})
    data.update(changes)
    return data


def test_ratings_added_in_an_assessment_are_recorded_with_it(client, analyst, world):
    client.force_login(analyst)
    response = client.post(
        admin_url("implementation_assessment_add"),
        assessment_form_data(world["jam"], {"measure": world["records"].pk, "status": Rating.Status.IMPLEMENTED}),
    )
    assert response.status_code == 302
    assessment = Assessment.objects.get()
    rating = Rating.objects.get()
    assert (rating.state, rating.kind, rating.assessment, rating.set_by) == (
        world["jam"],
        ASSESSED,
        assessment,
        analyst,
    )
    latest = rating.history.get()
    # The row links the assessment; its reason does not name it, for readers who may not read it.
    assert (latest.history_change_reason, latest.assessment) == ("Set in an assessment", assessment)
    assert latest.history_user == analyst


def test_assessment_cannot_add_a_second_rating_of_the_same_measure(client, analyst, ratings, world):
    client.force_login(analyst)
    response = client.post(
        admin_url("implementation_assessment_add"),
        assessment_form_data(world["jam"], {"measure": world["marking"].pk, "status": Rating.Status.IMPLEMENTED}),
    )
    assert response.status_code == 200
    assert "This State already has a rating of this kind for this measure." in response.content.decode()
    assert not Assessment.objects.exists()
    assert ratings["jam", ASSESSED].history.count() == 1


@pytest.fixture
def shared_later(world, analyst):
    """
    Jamaica's visit, written CTED-only with a remark for CTED, then shared with a summary
    for the State, then made final: three versions, the first for analysts alone.
    """
    visit = factories.assessment(
        state=world["jam"], kind=Assessment.Kind.COUNTRY_VISIT, conducted_on=dt.date(2024, 4, 9),
        summary="Port police doubt the ministry's figures.", author=analyst,
    )  # fmt: skip
    visit.confidentiality = Confidentiality.SHARED
    visit.summary = "Visit to Kingston: marking law adopted."
    visit.save()
    visit.status = Assessment.Status.FINAL
    visit.save()
    return visit


def page_text(response):
    """A page without what differs at every request: its own address and the CSRF token."""
    text = response.content.decode().replace(response.wsgi_request.path, "")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)


def assessment_version_url(visit, version):
    return admin_url("implementation_assessment_simple_history", visit.pk, version.history_id)


@pytest.mark.parametrize("who", ["focal_jam", "coordinator"])
def test_history_of_a_shared_assessment_leaves_out_versions_written_while_it_was_cted_only(
    client, request, shared_later, who
):
    login(client, request, who)
    response = client.get(admin_url("implementation_assessment_history", shared_later.pk))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Port police" not in content
    assert [record.summary for record in response.context["page_obj"]] == 2 * [
        "Visit to Kingston: marking law adopted."
    ]
    # The oldest version shown is compared with nothing, not with the hidden one before it.
    newest, oldest = response.context["page_obj"]
    assert [change["field"] for change in newest.history_delta_changes] == ["Status"]
    assert not getattr(oldest, "history_delta_changes", None)


@pytest.mark.parametrize("who", ["focal_jam", "coordinator"])
def test_a_version_written_while_cted_only_answers_as_a_version_that_does_not_exist(
    client, request, shared_later, who
):
    login(client, request, who)
    cted_only, shared, final = shared_later.history.order_by("history_id")
    hidden = client.get(assessment_version_url(shared_later, cted_only))
    missing = client.get(admin_url("implementation_assessment_simple_history", shared_later.pk, final.history_id + 99))
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert page_text(hidden) == page_text(missing)
    assert "Port police" not in hidden.content.decode()
    shown = client.get(assessment_version_url(shared_later, shared))
    assert shown.status_code == 200
    assert "Visit to Kingston" in shown.content.decode()


@pytest.mark.parametrize("who", ["analyst", "focal_jam"])
def test_a_version_id_that_is_not_a_number_is_not_found(client, request, shared_later, who):
    login(client, request, who)
    for object_id, version_id in ((shared_later.pk, "abc"), (shared_later.pk, "1.5"), ("abc", 1)):
        response = client.get(f"/admin/implementation/assessment/{object_id}/history/{version_id}/")
        assert response.status_code == 404, (object_id, version_id)


def test_analyst_reads_every_version_of_an_assessment(client, analyst, shared_later):
    client.force_login(analyst)
    response = client.get(admin_url("implementation_assessment_history", shared_later.pk))
    assert len(response.context["page_obj"]) == 3
    assert "Port police" in response.content.decode()
    cted_only = shared_later.history.order_by("history_id").first()
    assert client.get(assessment_version_url(shared_later, cted_only)).status_code == 200


def test_every_history_with_a_confidentiality_level_reads_each_version_under_its_own():
    # A model given a confidentiality level later must give its history the same rule.
    with_levels = [
        model
        for model in apps.get_models()
        if hasattr(model._meta, "simple_history_manager_attribute")
        and "confidentiality" in {field.name for field in model._meta.fields}
    ]
    assert Assessment in with_levels
    for model in with_levels:
        assert isinstance(get_history_manager_for_model(model).all(), SharedHistoryQuerySet), model


def test_new_assessment_proposes_its_writer_as_author(client, analyst):
    client.force_login(analyst)
    response = client.get(admin_url("implementation_assessment_add"))
    assert response.context["adminform"].form.initial["author"] == analyst.pk


@pytest.mark.parametrize("who", ["focal_jam", "coordinator"])
def test_only_analysts_add_assessments(client, request, world, who):
    login(client, request, who)
    assert client.get(admin_url("implementation_assessment_add")).status_code == 403


# --- Notes, roles and autocomplete ---------------------------------------------------------


@pytest.mark.parametrize(("who", "expected"), [("analyst", 200), ("focal_jam", 403), ("coordinator", 403)])
def test_confidential_notes_are_for_analysts_only(client, request, world, who, expected):
    login(client, request, who)
    assert client.get(admin_url("implementation_confidentialnote_changelist")).status_code == expected


def test_confidential_note_is_signed_by_its_writer(client, analyst, world):
    client.force_login(analyst)
    response = client.post(
        admin_url("implementation_confidentialnote_add"),
        {"state": world["jam"].pk, "body": "Minister unavailable for the follow-up.", "_save": "Save"},
    )
    assert response.status_code == 302
    assert ConfidentialNote.objects.get().author == analyst


@pytest.mark.parametrize(("who", "expected"), [("analyst", 200), ("focal_jam", 403), ("coordinator", 403)])
def test_roles_are_managed_by_analysts_only(client, request, world, who, expected):
    login(client, request, who)
    assert client.get(admin_url("states_role_changelist")).status_code == expected


def state_autocomplete(client, term=""):
    """The State search behind the rating form's State field."""
    return client.get(
        admin_url("autocomplete"),
        {"app_label": "implementation", "model_name": "rating", "field_name": "state", "term": term},
    )


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("analyst", {"FRA", "JAM", "KEN", "TTO"}),
        ("coordinator", {"JAM", "TTO"}),
        ("focal_jam", {"JAM"}),
    ],
)
def test_state_autocomplete_offers_only_the_users_states(client, request, world, who, expected):
    login(client, request, who)
    response = state_autocomplete(client)
    assert response.status_code == 200
    ids = {int(result["id"]) for result in response.json()["results"]}
    assert set(MemberState.objects.filter(pk__in=ids).values_list("iso3", flat=True)) == expected


def test_focal_point_cannot_find_another_state_by_searching(client, focal_jam, world):
    client.force_login(focal_jam)
    response = state_autocomplete(client, "Ken")
    assert response.json()["results"] == []


def test_user_without_role_gets_no_autocomplete(client, nobody):
    client.force_login(nobody)
    response = state_autocomplete(client)
    assert response.status_code == 403


# --- Every page renders -----------------------------------------------------------------------


@pytest.fixture
def one_of_each(ratings, world, analyst, focal_jam):
    """A row of every model with an admin, so that each change page has something to show."""
    factories.submission(
        state=world["jam"], measure=world["records"], by=focal_jam, status="partially", explanation="Registry pilot."
    )
    workflow.freeze(state=world["jam"], label="2024 visit", by=analyst)
    assessment = factories.assessment(
        state=world["jam"], kind=Assessment.Kind.COUNTRY_VISIT, conducted_on=dt.date(2024, 5, 1),
        confidentiality=Confidentiality.SHARED, author=analyst,
    )  # fmt: skip
    rating = ratings["jam", ASSESSED]
    rating.assessment = assessment
    factories.saved_rating(rating, by=analyst, reason="Linked to the visit")
    factories.recommendation(
        state=world["jam"], assessment=assessment, text="Mark on import.", measures=[world["marking"]]
    )
    factories.assistance_need(state=world["jam"], description="Marking machine training.", measures=[world["marking"]])
    factories.note(state=world["jam"], body="Registry understaffed.", author=analyst)
    instrument = Instrument.objects.create(code="ITI", name="International Tracing Instrument", kind="political")
    world["marking"].instruments.add(instrument)
    Workshop.objects.create(region=world["caribbean"], title="Caribbean workshop", starts_on=dt.date(2023, 6, 1))


@pytest.mark.parametrize("who", ["admin_user", "analyst", "coordinator", "focal_jam", "nobody"])
def test_every_admin_page_renders_or_is_refused(client, request, one_of_each, who):
    login(client, request, who)
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label not in ("states", "measures", "implementation"):
            continue
        name = f"{opts.app_label}_{opts.model_name}"
        response = client.get(admin_url(f"{name}_changelist"))
        assert response.status_code in (200, 403), name
        assert client.get(admin_url(f"{name}_add")).status_code in (200, 403), name
        if response.status_code == 403:
            continue
        rows = response.context["cl"].result_list
        assert rows, name
        for view in ("change", "history"):
            assert client.get(admin_url(f"{name}_{view}", rows[0].pk)).status_code == 200, (name, view)


def test_analyst_adds_a_grouping_with_its_members(client, analyst, world):
    client.force_login(analyst)
    response = client.post(
        admin_url("states_region_add"),
        {
            # A name has an input per language (name_fr…); English is the one required.
            "name_en": "Small island States",
            "slug": "small-islands",
            "kind": "custom",
            "description": "",
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-state": world["jam"].pk,
            "memberships-1-state": world["tto"].pk,
            "memberships-1-joined_on": "2024-01-01",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    region = Region.objects.get(slug="small-islands")
    assert set(MemberState.objects.in_region(region).values_list("iso3", flat=True)) == {"JAM", "TTO"}


def test_analyst_ends_a_membership_and_the_state_leaves_the_region(client, analyst, world):
    client.force_login(analyst)
    membership = RegionMembership.objects.get(region=world["caribbean"], state=world["tto"])
    jam_membership = RegionMembership.objects.get(region=world["caribbean"], state=world["jam"])
    response = client.post(
        admin_url("states_region_change", world["caribbean"].pk),
        {
            "name_en": "Caribbean",
            "slug": "caribbean",
            "kind": "workshop",
            "description": "",
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "2",
            "memberships-0-id": jam_membership.pk,
            "memberships-0-region": world["caribbean"].pk,
            "memberships-0-state": world["jam"].pk,
            "memberships-1-id": membership.pk,
            "memberships-1-region": world["caribbean"].pk,
            "memberships-1-state": world["tto"].pk,
            "memberships-1-left_on": "2020-01-01",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(MemberState.objects.in_region(world["caribbean"]).values_list("iso3", flat=True)) == ["JAM"]
    assert membership.history.count() == 2


def test_coordinator_cannot_change_a_grouping(client, coordinator, world):
    client.force_login(coordinator)
    response = client.post(admin_url("states_region_change", world["caribbean"].pk), {"name": "Renamed"})
    assert response.status_code == 403
    assert Region.objects.get(pk=world["caribbean"].pk).name == "Caribbean"


# --- Concurrent edits --------------------------------------------------------------


def test_second_of_two_concurrent_admin_saves_is_refused_and_neither_is_lost(client, analyst, ratings):
    rating = ratings["jam", ASSESSED]
    # Both open the change form of the same version.
    first = rating_form_data(rating, status=Rating.Status.LARGELY, change_reason="Regulations gazetted")
    second = rating_form_data(rating, status=Rating.Status.NOT_IMPLEMENTED, change_reason="Law repealed")
    client.force_login(analyst)
    assert client.post(rating_url(rating), first).status_code == 302
    after_first = snapshot(rating)

    response = client.post(rating_url(rating), second)

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert "was changed by ana" in errors[0] and "Your changes were not saved" in errors[0]
    # The first save stands, and the refused one is still on the form to be redone.
    assert snapshot(rating) == after_first
    assert Rating.objects.get(pk=rating.pk).status == Rating.Status.LARGELY
    assert response.context["adminform"].form.data["status"] == Rating.Status.NOT_IMPLEMENTED


def test_admin_save_without_the_version_it_was_drawn_with_is_refused(client, analyst, ratings):
    rating = ratings["jam", ASSESSED]
    client.force_login(analyst)
    before = snapshot(rating)
    response = client.post(rating_url(rating), rating_form_data(rating, status="implemented", version=""))
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert snapshot(rating) == before


def test_change_form_carries_the_latest_version(client, analyst, ratings):
    rating = ratings["jam", ASSESSED]
    client.force_login(analyst)
    response = client.get(rating_url(rating))
    latest = Rating.history.filter(id=rating.pk).latest("history_id")
    assert response.context["adminform"].form["version"].value() == latest.history_id
    assert f'name="version" value="{latest.history_id}"' in response.content.decode()


def test_rating_list_flags_ratings_whose_other_kind_differs(client, analyst, ratings, world):
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF, status=Rating.Status.IMPLEMENTED, by=analyst,
        reason="Self-report updated",
    )  # fmt: skip
    client.force_login(analyst)
    url = reverse("admin:implementation_rating_changelist")
    differing = client.get(url, {"differs": "yes"}).context["cl"].result_list
    assert {(r.state.iso3, r.kind) for r in differing} == {("JAM", ASSESSED), ("JAM", SELF)}
    agreeing = client.get(url, {"differs": "no"}).context["cl"].result_list
    assert {r.state.iso3 for r in agreeing} == {"KEN"}
    factories.rating(
        state=world["fra"], measure=world["marking"], status=Rating.Status.PARTIALLY, by=analyst, reason="Desk review"
    )
    lone = client.get(url, {"differs": "missing"}).context["cl"].result_list
    assert [r.state.iso3 for r in lone] == ["FRA"]
    # The column says "differs" only where there is something to differ from.
    admin_ = admin.site._registry[Rating]
    assert [admin_.differs(r) for r in lone] == [None]
    assert {admin_.differs(r) for r in differing} == {True}


def test_every_input_of_an_inline_row_is_named_for_a_screen_reader(client, analyst, world):
    # A tabular inline writes its inputs under column headers, without a <label> each.
    client.force_login(analyst)
    client.cookies["django_language"] = "fr"
    html = client.get(admin_url("states_region_change", world["caribbean"].pk)).content.decode()
    row = re.compile(r'<(?:input|select)[^>]*name="memberships-0-(\w+)"[^>]*>')
    named = {match.group(1): match.group(0) for match in row.finditer(html)}
    visible = {name: tag for name, tag in named.items() if 'type="hidden"' not in tag}
    assert set(visible) == {"state", "joined_on", "left_on", "DELETE"}, sorted(named)
    assert 'aria-label="Supprimer"' in visible["DELETE"]
    assert all('aria-label="' in tag for tag in visible.values()), visible
