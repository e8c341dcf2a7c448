"""
A focal point leaves and a successor takes over the role, with the State's whole record
intact. A hand-over dated in the future takes effect on its date.
"""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from implementation import workflow
from implementation.models import Rating, Submission
from states.models import MemberState, Role

User = get_user_model()
CHANGELIST = reverse("admin:states_role_changelist")


@pytest.fixture(autouse=True)
def jamaicas_focal_point_since_2024(focal_jam):
    # The cast's roles start today; a role is handed over from a day after it starts.
    Role.objects.filter(user=focal_jam).update(starts_on=dt.date(2024, 1, 1))


@pytest.fixture
def pending(world, focal_jam):
    return workflow.submit(
        state=world["jam"], measure=world["marking"], by=focal_jam, status="largely", explanation="Marking enforced."
    )


@pytest.fixture
def successor(world):
    return User.objects.create_user("sam", password="not-used", is_staff=True)


def hand_over(client, role, **data):
    return client.post(CHANGELIST, {"action": "hand_over", "_selected_action": [role.pk], **data})


def test_analyst_hands_over_and_the_successor_inherits_the_whole_record(
    client, analyst, focal_jam, successor, world, ratings, pending
):
    role = Role.objects.get(user=focal_jam)
    client.force_login(analyst)
    today = timezone.localdate()
    response = hand_over(client, role, successor=successor.pk, on=today.isoformat())
    assert response.status_code == 302

    role.refresh_from_db()
    assert (role.is_active, role.ends_on) == (False, today)
    new = Role.objects.current().get(user=successor)
    assert (new.kind, new.state, new.is_alternate, new.starts_on) == (
        Role.Kind.FOCAL_POINT, world["jam"], False, today,
    )  # fmt: skip

    # The leaver no longer reads Jamaica; the successor reads it all, still attributed to who did it.
    assert not MemberState.objects.visible_to(User.objects.get(pk=focal_jam.pk)).exists()
    assert list(MemberState.objects.visible_to(successor)) == [world["jam"]]
    assert list(Submission.objects.visible_to(successor)) == [pending]
    assert pending.submitted_by == focal_jam
    rating = ratings["jam", Rating.Kind.SELF_REPORTED]
    assert list(Rating.history.visible_to(successor).filter(id=rating.pk)) == list(rating.history.all())
    # And picks up where the leaver stopped: the pending submission can be replaced.
    replacement = workflow.submit(
        state=world["jam"], measure=world["marking"], by=successor, replaces=pending, status="implemented"
    )
    pending.refresh_from_db()
    assert (pending.review, replacement.replaces) == (Submission.Review.SUPERSEDED, pending)
    # The leaver can no longer submit.
    with pytest.raises(PermissionDenied, match="Only a focal point of Jamaica"):
        workflow.submit(state=world["jam"], measure=world["records"], by=focal_jam, status="partially")


def test_the_form_comes_first_and_names_the_role(client, analyst, focal_jam, successor):
    role = Role.objects.get(user=focal_jam)
    client.force_login(analyst)
    response = hand_over(client, role)
    assert response.status_code == 200
    content = response.content.decode()
    assert "jo stops reporting for Jamaica" in content
    assert 'name="successor"' in content
    assert Role.objects.get(pk=role.pk).is_active


def test_a_successor_who_reports_for_another_state_is_refused_and_nothing_changes(
    client, analyst, focal_jam, focal_ken
):
    role = Role.objects.get(user=focal_jam)
    client.force_login(analyst)
    response = hand_over(client, role, successor=focal_ken.pk, on=timezone.localdate().isoformat())
    assert response.status_code == 200
    assert "already an active focal point for a State" in str(response.context["form"].non_field_errors())
    assert Role.objects.get(pk=role.pk).is_active
    assert list(Role.objects.current().filter(user=focal_ken).values_list("state__iso3", flat=True)) == ["KEN"]


def test_only_one_focal_points_role_at_a_time(client, analyst, focal_jam, focal_ken, successor):
    client.force_login(analyst)
    both = Role.objects.filter(user__in=[focal_jam, focal_ken])
    response = client.post(CHANGELIST, {"action": "hand_over", "_selected_action": [r.pk for r in both]}, follow=True)
    assert "Select exactly one focal point&#x27;s role" in response.content.decode()
    assert both.current().count() == 2

    analyst_role = Role.objects.get(user=analyst)
    with pytest.raises(ValidationError, match="Only an active focal point's role"):
        analyst_role.hand_over_to(successor)
    with pytest.raises(ValidationError, match="the successor is the person leaving"):
        Role.objects.get(user=focal_jam).hand_over_to(focal_jam)


@pytest.mark.parametrize("who", ["coordinator", "focal_jam"])
def test_only_analysts_hand_over(client, request, who, focal_jam, successor):
    role = Role.objects.get(user=focal_jam)
    client.force_login(request.getfixturevalue(who))
    response = hand_over(client, role, successor=successor.pk, on=timezone.localdate().isoformat())
    assert response.status_code == 403
    assert Role.objects.get(pk=role.pk).is_active
    assert not Role.objects.filter(user=successor).exists()


# A hand-over dated in the future ------------------------------------------------------


def api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def reads_and_submits(client, user):
    """What ``user`` gets of Jamaica: its page, /my-state/, the API, and a submission through the API."""
    client.force_login(user)
    api_ratings = api(user).get("/api/v1/ratings/", {"state": "JAM"})
    submitted = api(user).post(
        "/api/v1/submissions/", {"state": "JAM", "measure": "SALW-06", "status": "largely"}, format="json"
    )
    Submission.objects.filter(measure__code="SALW-06").delete()
    return (
        client.get("/states/JAM/").status_code,
        client.get("/my-state/JAM/").status_code,
        api_ratings.status_code,
        submitted.status_code,
    )


IN_FORCE = (200, 200, 200, 201)
NO_ROLE = (403, 403, 403, 403)


def days_pass(n):
    """Move every role's dates ``n`` days back: as if ``n`` days had passed."""
    for role in Role.objects.all():
        Role.objects.filter(pk=role.pk).update(
            starts_on=role.starts_on - dt.timedelta(days=n),
            ends_on=role.ends_on and role.ends_on - dt.timedelta(days=n),
        )


def test_a_hand_over_dated_next_month_takes_effect_on_its_date(client, analyst, focal_jam, successor, ratings):
    role = Role.objects.get(user=focal_jam)
    on = timezone.localdate() + dt.timedelta(days=30)
    client.force_login(analyst)
    response = hand_over(client, role, successor=successor.pk, on=on.isoformat())
    assert response.status_code == 302
    assert "jo keeps the role until the day before" in client.get(CHANGELIST).content.decode()

    # Until then, the leaver keeps the role and the successor's has not started.
    role.refresh_from_db()
    assert (role.is_active, role.ends_on) == (True, on)
    new = Role.objects.get(user=successor)
    assert (new.is_active, new.starts_on, new.ends_on) == (True, on, None)
    assert list(Role.objects.current().filter(state__iso3="JAM").values_list("user__username", flat=True)) == ["jo"]
    assert list(Role.objects.current(on=on).filter(state__iso3="JAM").values_list("user__username", flat=True)) == [
        "sam"
    ]
    assert reads_and_submits(client, focal_jam) == IN_FORCE
    assert reads_and_submits(client, successor) == NO_ROLE
    with pytest.raises(PermissionDenied):
        workflow.submit(state=role.state, measure=ratings["jam", Rating.Kind.ASSESSED].measure, by=successor)

    # On the day, the successor reports for Jamaica and the leaver no longer does.
    days_pass(30)
    assert reads_and_submits(client, User.objects.get(pk=successor.pk)) == IN_FORCE
    assert reads_and_submits(client, User.objects.get(pk=focal_jam.pk)) == NO_ROLE


def test_a_hand_over_is_dated_within_the_leavers_role(focal_jam, successor, world):
    role = Role.objects.get(user=focal_jam)
    with pytest.raises(ValidationError, match="Choose a day after 01 Jan 2024"):
        role.hand_over_to(successor, on=dt.date(2024, 1, 1))
    role.ends_on = dt.date(2030, 1, 1)
    role.save()
    with pytest.raises(ValidationError, match="This role already ends on 01 Jan 2030"):
        role.hand_over_to(successor, on=dt.date(2030, 6, 1))
    assert not Role.objects.filter(user=successor).exists()


def test_a_second_main_focal_point_cannot_start_while_a_dated_hand_over_is_pending(focal_jam, successor, world):
    on = timezone.localdate() + dt.timedelta(days=30)
    Role.objects.get(user=focal_jam).hand_over_to(successor, on=on)
    other = User.objects.create_user("olga")
    with pytest.raises(ValidationError, match="This State already has a main focal point during these dates"):
        Role(user=other, kind=Role.Kind.FOCAL_POINT, state=world["jam"], ends_on=on).full_clean()
