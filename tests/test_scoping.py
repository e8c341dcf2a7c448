"""The one access rule, MemberState.objects.visible_to, and what hangs off it."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser

from implementation.models import Rating
from states.models import MemberState, Role


def iso3s(queryset):
    return sorted(queryset.values_list("iso3", flat=True))


def test_analyst_sees_every_state(analyst):
    assert iso3s(MemberState.objects.visible_to(analyst)) == ["FRA", "JAM", "KEN", "TTO"]


def test_administrator_sees_every_state(admin_user, world):
    assert iso3s(MemberState.objects.visible_to(admin_user)) == ["FRA", "JAM", "KEN", "TTO"]


def test_focal_point_sees_only_own_state(focal_jam):
    assert iso3s(MemberState.objects.visible_to(focal_jam)) == ["JAM"]


def test_coordinator_sees_the_states_of_their_region(coordinator):
    assert iso3s(MemberState.objects.visible_to(coordinator)) == ["JAM", "TTO"]


def test_coordinator_loses_a_state_that_left_the_region(coordinator, world):
    membership = world["caribbean"].memberships.get(state=world["tto"])
    membership.left_on = dt.date(2020, 1, 1)
    membership.save()
    assert iso3s(MemberState.objects.visible_to(coordinator)) == ["JAM"]


def test_user_without_role_sees_nothing(nobody):
    assert iso3s(MemberState.objects.visible_to(nobody)) == []


def test_anonymous_sees_nothing(world):
    assert iso3s(MemberState.objects.visible_to(AnonymousUser())) == []


def test_deactivated_focal_point_sees_nothing(focal_jam):
    Role.objects.filter(user=focal_jam).update(is_active=False)
    focal_jam.refresh_from_db()
    assert iso3s(MemberState.objects.visible_to(focal_jam)) == []


def test_inactive_user_sees_nothing(analyst):
    analyst.is_active = False
    analyst.save()
    assert iso3s(MemberState.objects.visible_to(analyst)) == []


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("analyst", {"JAM", "KEN"}),
        ("focal_jam", {"JAM"}),
        ("focal_ken", {"KEN"}),
        ("coordinator", {"JAM"}),
        ("nobody", set()),
    ],
)
def test_ratings_follow_the_state_rule(request, ratings, who, expected):
    user = request.getfixturevalue(who)
    assert set(Rating.objects.visible_to(user).values_list("state__iso3", flat=True)) == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("analyst", {("JAM", "assessed"), ("JAM", "self_reported"), ("KEN", "assessed"), ("KEN", "self_reported")}),
        # A focal point's report is a submission that an analyst accepts, not an edit.
        ("focal_jam", set()),
        ("focal_ken", set()),
        ("coordinator", set()),
        ("nobody", set()),
    ],
)
def test_only_analysts_may_edit_ratings(request, ratings, who, expected):
    user = request.getfixturevalue(who)
    assert set(Rating.objects.editable_by(user).values_list("state__iso3", "kind")) == expected
