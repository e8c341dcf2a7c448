"""A focal point leaves and a successor takes over the role, with the State's whole record intact."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from implementation import workflow
from implementation.models import Rating, Submission
from states.models import MemberState, Role

User = get_user_model()
CHANGELIST = reverse("admin:states_role_changelist")


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
    response = hand_over(client, role, successor=successor.pk, on="2026-11-01")
    assert response.status_code == 302

    role.refresh_from_db()
    assert (role.is_active, role.ends_on) == (False, dt.date(2026, 11, 1))
    new = Role.objects.current().get(user=successor)
    assert (new.kind, new.state, new.is_alternate, new.starts_on) == (
        Role.Kind.FOCAL_POINT, world["jam"], False, dt.date(2026, 11, 1),
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
    response = hand_over(client, role, successor=focal_ken.pk, on="2026-11-01")
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
    response = hand_over(client, role, successor=successor.pk, on="2026-11-01")
    assert response.status_code == 403
    assert Role.objects.get(pk=role.pk).is_active
    assert not Role.objects.filter(user=successor).exists()
