"""
A role grants something only while it is in force: ticked active, started, and not yet
ended (``ends_on`` is the first day it no longer applies). A role ticked active outside its
dates reads nothing and submits nothing, on the pages as through the API.
"""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from implementation import workflow
from implementation.models import Rating, Submission
from states.models import MemberState, Role, is_analyst, role_kinds

User = get_user_model()
KEN_FORM_URL = "/my-state/KEN/SALW-04/"


def today():
    return timezone.localdate()


def days(n):
    return dt.timedelta(days=n)


def api(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def kenya_form_data():
    shown = Rating.objects.get(state__iso3="KEN", measure__code="SALW-04", kind=Rating.Kind.SELF_REPORTED)
    return {
        "version": shown.version,
        "status": Rating.Status.LARGELY,
        "explanation": "Marking enforced at the port.",
        "justification": "",
        "source_document": "Firearms (Marking) Regulations",
        "source_reference": "",
        "source_url": "",
        "source_date": "",
        "replaces": "",
    }


# The alternate focal point for Kenya of the finding, in three periods; the role stays
# ticked active in all of them.
PERIODS = {
    "in force since 2019": (lambda: dt.date(2019, 3, 1), lambda: None, True),
    "ended in 2021": (lambda: dt.date(2019, 3, 1), lambda: dt.date(2021, 6, 1), False),
    "starts next month": (lambda: today() + days(31), lambda: None, False),
}


@pytest.fixture(params=list(PERIODS))
def alternate_ken(request, world, ratings):
    starts_on, ends_on, in_force = PERIODS[request.param]
    user = User.objects.create_user("alt", password="not-used", is_staff=True)
    Role.objects.create(
        user=user,
        kind=Role.Kind.FOCAL_POINT,
        state=world["ken"],
        is_alternate=True,
        is_active=True,
        starts_on=starts_on(),
        ends_on=ends_on(),
    )
    return user, in_force


# The rule itself ---------------------------------------------------------------------


def test_a_role_is_in_force_from_its_first_day_up_to_the_day_before_its_end(world, nobody):
    made = {
        "started today": dict(starts_on=today()),
        "ends tomorrow": dict(starts_on=today() - days(10), ends_on=today() + days(1)),
        "ends today": dict(starts_on=today() - days(10), ends_on=today()),
        "starts tomorrow": dict(starts_on=today() + days(1)),
        "unticked": dict(starts_on=today() - days(10), is_active=False),
    }
    roles = {
        name: Role.objects.create(user=User.objects.create_user(name), kind=Role.Kind.ANALYST, **dates)
        for name, dates in made.items()
    }
    in_force = set(Role.objects.filter(kind=Role.Kind.ANALYST).current().values_list("user__username", flat=True))
    assert in_force == {"started today", "ends tomorrow"}
    # On another day: a week from now, only the role that started today is still in force.
    later = set(Role.objects.current(on=today() + days(7)).values_list("user__username", flat=True))
    assert later == {"started today", "starts tomorrow"}
    annotated = dict(Role.objects.with_in_force().filter(pk__in=[r.pk for r in roles.values()]).values_list(
        "user__username", "in_force"
    ))  # fmt: skip
    assert annotated == {name: name in in_force for name in made}


def test_an_analyst_whose_role_ended_is_no_analyst(analyst):
    Role.objects.filter(user=analyst).update(starts_on=dt.date(2019, 1, 1), ends_on=dt.date(2021, 1, 1))
    analyst = User.objects.get(pk=analyst.pk)
    assert (is_analyst(analyst), role_kinds(analyst)) == (False, frozenset())


def test_the_state_rule_follows_the_dates(alternate_ken, world):
    user, in_force = alternate_ken
    assert list(MemberState.objects.visible_to(user)) == ([world["ken"]] if in_force else [])
    assert workflow.may_submit(user, world["ken"]) is in_force


# Over HTTP ---------------------------------------------------------------------------


def test_the_state_page_is_hidden_outside_the_roles_dates(client, alternate_ken):
    user, in_force = alternate_ken
    client.force_login(user)
    response = client.get("/states/KEN/")
    # With no role in force, the account is told so, as one that never had a role; someone
    # with another role in force gets the 404 of any hidden State (the coordinator below).
    assert response.status_code == (200 if in_force else 403)
    if not in_force:
        assert "no role in the tracker" in response.content.decode()


def test_the_api_refuses_a_role_outside_its_dates(alternate_ken):
    user, in_force = alternate_ken
    response = api(user).get("/api/v1/ratings/", {"state": "KEN"})
    if in_force:
        assert response.status_code == 200
        assert {row["state"] for row in response.json()["results"]} == {"KEN"}
    else:
        assert response.status_code == 403
        assert "no role in the tracker" in response.json()["detail"]


def test_my_state_is_refused_outside_the_roles_dates(client, alternate_ken):
    user, in_force = alternate_ken
    client.force_login(user)
    assert client.get("/my-state/KEN/").status_code == (200 if in_force else 403)
    assert client.get(KEN_FORM_URL).status_code == (200 if in_force else 403)


def test_a_submission_by_form_is_refused_outside_the_roles_dates(client, alternate_ken):
    user, in_force = alternate_ken
    client.force_login(user)
    response = client.post(KEN_FORM_URL, kenya_form_data())
    assert response.status_code == (302 if in_force else 403)
    assert Submission.objects.filter(submitted_by=user).exists() is in_force


def test_a_submission_by_api_is_refused_outside_the_roles_dates(alternate_ken):
    user, in_force = alternate_ken
    response = api(user).post(
        "/api/v1/submissions/", {"state": "KEN", "measure": "SALW-04", "status": "largely"}, format="json"
    )
    assert response.status_code == (201 if in_force else 403), response.content
    assert Submission.objects.filter(submitted_by=user).exists() is in_force


def test_a_coordinator_whose_focal_point_role_ended_reads_nothing_of_that_state(client, coordinator, world, ratings):
    # Kenya's focal point until 2021, still ticked active; a coordinator of the Caribbean today.
    Role.objects.create(
        user=coordinator, kind=Role.Kind.FOCAL_POINT, state=world["ken"], starts_on=dt.date(2019, 3, 1),
        ends_on=dt.date(2021, 6, 1),
    )  # fmt: skip
    # Kenya is refused as a filter, like any State the reader may not read, and no Kenyan row is listed.
    assert api(coordinator).get("/api/v1/ratings/", {"state": "KEN"}).status_code == 400
    response = api(coordinator).get("/api/v1/ratings/")
    assert response.status_code == 200
    assert {row["state"] for row in response.json()["results"]} == {"JAM"}
    client.force_login(coordinator)
    assert client.get("/states/KEN/").status_code == 404
    assert client.get("/my-state/KEN/").status_code == 404
    assert client.get("/states/JAM/").status_code == 200


# The admin ---------------------------------------------------------------------------


def test_the_role_admin_shows_which_roles_are_in_force_today(client, analyst, focal_jam, alternate_ken):
    user, in_force = alternate_ken
    client.force_login(analyst)
    changelist = reverse("admin:states_role_changelist")
    response = client.get(changelist)
    assert response.status_code == 200
    shown = {role.user.username: role.in_force for role in response.context["cl"].result_list}
    assert shown == {"ana": True, "jo": True, "alt": in_force}
    assert "in force today" in response.content.decode()

    lapsed = client.get(changelist, {"in_force": "no"}).context["cl"].result_list
    assert [role.user.username for role in lapsed] == ([] if in_force else ["alt"])
    current = client.get(changelist, {"in_force": "yes"}).context["cl"].result_list
    assert {role.user.username for role in current} == {"ana", "jo"} | ({"alt"} if in_force else set())
