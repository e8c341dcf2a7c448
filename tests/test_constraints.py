"""Invariants live in the database, with messages a person can act on."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from implementation.models import Rating
from measures.models import Edition, Measure
from states.models import MemberState, RegionMembership, Role, Workshop

AT = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def assert_refused(make, message):
    """``make()`` fails validation with ``message`` and the database refuses it too."""
    obj = make()
    with pytest.raises(ValidationError) as excinfo:
        obj.full_clean()
    assert message in str(excinfo.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        make().save()


def test_not_applicable_needs_a_justification(world):
    assert_refused(
        lambda: Rating(
            state=world["jam"], measure=world["marking"], kind="assessed", status="not_applicable", set_at=AT,
            last_confirmed_at=AT,
        ),
        "Say why the measure does not apply to this State.",
    )  # fmt: skip


def test_not_applicable_with_a_justification_is_accepted(world):
    rating = Rating(
        state=world["jam"],
        measure=world["marking"],
        kind="assessed",
        status="not_applicable",
        justification="No manufacturing industry.",
        set_at=AT,
        last_confirmed_at=AT,
    )
    rating.full_clean()
    rating.save()


def test_one_rating_per_state_measure_and_kind(ratings, world):
    assert_refused(
        lambda: Rating(state=world["jam"], measure=world["marking"], kind="assessed", set_at=AT, last_confirmed_at=AT),
        "This State already has a rating of this kind for this measure.",
    )


def test_a_rating_cannot_be_confirmed_before_it_was_set(world):
    assert_refused(
        lambda: Rating(
            state=world["jam"], measure=world["marking"], kind="assessed", set_at=AT,
            last_confirmed_at=AT - dt.timedelta(days=1),
        ),
        "A rating cannot be confirmed before it was set.",
    )  # fmt: skip


def test_self_reported_rating_has_no_assessment(world, analyst):
    from implementation.models import Assessment

    assessment = Assessment.objects.create(state=world["jam"], kind="desk_review", conducted_on=dt.date(2024, 1, 1))
    assert_refused(
        lambda: Rating(
            state=world["jam"], measure=world["marking"], kind="self_reported", assessment=assessment, set_at=AT,
            last_confirmed_at=AT,
        ),
        "Only CTED's assessed rating is linked to an assessment.",
    )  # fmt: skip


def test_member_state_codes_have_their_iso_and_m49_shapes(db):
    assert_refused(
        lambda: MemberState(iso3="jm", iso2="J1", m49="38", name="Bad", m49_region="x", m49_subregion="y"),
        "The ISO alpha-3 code is three capital letters",
    )


def test_focal_point_needs_a_state_and_coordinator_a_region(world, nobody):
    assert_refused(lambda: Role(user=nobody, kind="focal_point"), "A focal point needs a State and no region")
    assert_refused(
        lambda: Role(user=nobody, kind="coordinator", state=world["jam"]), "a coordinator a region and no State"
    )
    assert_refused(lambda: Role(user=nobody, kind="analyst", region=world["caribbean"]), "an analyst neither")


def test_a_state_has_one_active_main_focal_point(focal_jam, nobody, world):
    assert_refused(
        lambda: Role(user=nobody, kind="focal_point", state=world["jam"]),
        "This State already has an active main focal point",
    )


def test_an_alternate_focal_point_can_join_the_main_one(focal_jam, nobody, world):
    Role.objects.create(user=nobody, kind="focal_point", state=world["jam"], is_alternate=True)


def test_a_successor_takes_over_once_the_main_focal_point_is_deactivated(focal_jam, nobody, world):
    Role.objects.filter(user=focal_jam).update(is_active=False)
    Role.objects.create(user=nobody, kind="focal_point", state=world["jam"])


def test_a_focal_point_reports_for_one_state(focal_jam, world):
    assert_refused(
        lambda: Role(user=focal_jam, kind="focal_point", state=world["ken"], is_alternate=True),
        "This person is already an active focal point for a State.",
    )


def test_a_role_ends_after_the_day_it_starts(nobody):
    assert_refused(
        lambda: Role(user=nobody, kind="analyst", starts_on=dt.date(2025, 3, 1), ends_on=dt.date(2025, 3, 1)),
        "A role must end after the day it starts",
    )


def test_a_leavers_dated_role_sits_beside_the_successors_later_one(focal_jam, nobody, world):
    Role.objects.filter(user=focal_jam).update(starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2030, 1, 1))
    successor = Role(user=nobody, kind="focal_point", state=world["jam"], starts_on=dt.date(2030, 1, 1))
    successor.full_clean()
    successor.save()


def test_dated_roles_may_not_overlap(focal_jam, nobody, world):
    Role.objects.filter(user=focal_jam).update(starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2030, 1, 1))
    overlapping = Role(user=nobody, kind="focal_point", state=world["jam"], starts_on=dt.date(2029, 12, 31))
    with pytest.raises(ValidationError, match="This State already has a main focal point during these dates: jo"):
        overlapping.full_clean()
    # The same person may not report for another State meanwhile, nor coordinate a region twice.
    elsewhere = Role(user=focal_jam, kind="focal_point", state=world["ken"], ends_on=dt.date(2029, 1, 1))
    with pytest.raises(ValidationError, match="This person is already a focal point during these dates"):
        elsewhere.full_clean()
    Role.objects.create(user=nobody, kind="coordinator", region=world["caribbean"], ends_on=dt.date(2031, 1, 1))
    twice = Role(user=nobody, kind="coordinator", region=world["caribbean"], starts_on=dt.date(2030, 1, 1))
    with pytest.raises(ValidationError, match="This person already coordinates this region during these dates"):
        twice.full_clean()
    # A role that is not ticked active sits beside anything.
    Role(user=nobody, kind="focal_point", state=world["jam"], is_active=False).full_clean()


def test_only_focal_points_are_alternates(nobody):
    assert_refused(lambda: Role(user=nobody, kind="analyst", is_alternate=True), "Only a focal point can be")


def test_one_current_edition(world):
    assert_refused(lambda: Edition(code="next", title="Next", is_current=True), "Another edition is already current")


def test_measure_code_unique_within_an_edition(world):
    assert_refused(
        lambda: Measure(
            edition=world["edition"], section=world["section"], code="SALW-04", title="Again", domain="salw",
            phase="upstream", legislative=True,
        ),
        "This edition already has a measure with this code.",
    )  # fmt: skip


def test_measure_needs_a_capacity(world):
    assert_refused(
        lambda: Measure(
            edition=world["edition"], section=world["section"], code="SALW-99", title="None", domain="salw",
            phase="upstream",
        ),
        "Tick at least one capacity",
    )  # fmt: skip


def test_membership_leaves_after_joining(world):
    assert_refused(
        lambda: RegionMembership(
            region=world["east_africa"], state=world["fra"], joined_on=dt.date(2024, 1, 1), left_on=dt.date(2023, 1, 1)
        ),
        "A State must leave a region after the day it joined.",
    )


def test_a_state_has_one_open_membership_per_region(world):
    assert_refused(
        lambda: RegionMembership(region=world["caribbean"], state=world["jam"]),
        "This State is already a member of this region.",
    )


def test_workshop_ends_after_it_starts(world):
    assert_refused(
        lambda: Workshop(
            region=world["caribbean"], title="Bad", starts_on=dt.date(2023, 3, 9), ends_on=dt.date(2023, 3, 7)
        ),
        "A workshop cannot end before it starts.",
    )
