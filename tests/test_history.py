"""Every rating change is appended to a history that cannot be edited, pruned or lost."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from implementation.models import Rating
from implementation.services import confirm_rating, save_rating, set_rating

LATER = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)


def test_creating_a_rating_records_who_when_why_and_source(ratings, analyst):
    rating = ratings["jam", "assessed"]
    (row,) = rating.history.all()
    assert row.history_type == "+"
    assert row.history_user == analyst
    assert row.history_date == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    assert row.history_change_reason == "Initial rating"
    assert (row.status, row.source_document) == ("partially", "Firearms Act")


def test_a_status_change_appends_a_row_with_from_and_to(ratings, world, analyst):
    set_rating(
        state=world["jam"], measure=world["marking"], kind="assessed", by=analyst, at=LATER,
        reason="Import marking now enforced", status="largely", source_reference="s. 12",
    )  # fmt: skip
    latest, previous = Rating.objects.get(state=world["jam"], kind="assessed").history.all()[:2]
    assert latest.prev_record == previous
    assert (previous.status, latest.status) == ("partially", "largely")
    assert latest.history_change_reason == "Import marking now enforced"
    assert latest.source_reference == "s. 12"


def test_a_status_change_restamps_who_set_it_and_when(ratings, world, admin_user):
    rating = ratings["jam", "self_reported"]
    rating.status = "implemented"
    save_rating(rating, by=admin_user, reason="New regulations in force", at=LATER)
    rating.refresh_from_db()
    assert (rating.set_by, rating.set_at, rating.last_confirmed_at) == (admin_user, LATER, LATER)


def test_confirming_keeps_the_status_date_and_records_the_check(ratings, analyst):
    rating = ratings["jam", "assessed"]
    confirm_rating(rating, by=analyst, at=LATER)
    rating.refresh_from_db()
    assert rating.set_at == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    assert rating.last_confirmed_at == LATER
    assert rating.history.first().history_change_reason == "Confirmed: still holds."
    assert rating.history.count() == 2


def test_setting_the_same_values_again_adds_no_history(ratings, world, analyst):
    set_rating(
        state=world["jam"], measure=world["marking"], kind="assessed", by=analyst, reason="Re-import", at=LATER,
        status="partially", source_document="Firearms Act",
    )  # fmt: skip
    assert ratings["jam", "assessed"].history.count() == 1


def test_an_invalid_change_is_refused_and_leaves_history_alone(ratings, analyst):
    rating = ratings["jam", "assessed"]
    rating.status = "not_applicable"
    with pytest.raises(ValidationError, match="Say why the measure does not apply"):
        save_rating(rating, by=analyst, reason="N/A")
    assert Rating.objects.get(pk=rating.pk).status == "partially"
    assert rating.history.count() == 1


@pytest.mark.parametrize(
    ("who", "key"),
    [
        # A focal point's own State's self-report changes only through an accepted submission.
        ("focal_jam", ("jam", "self_reported")),
        ("focal_jam", ("ken", "self_reported")),
        ("focal_jam", ("jam", "assessed")),
        ("coordinator", ("jam", "self_reported")),
        ("nobody", ("jam", "self_reported")),
    ],
)
def test_a_change_by_someone_not_allowed_is_refused(request, ratings, who, key):
    rating = ratings[key]
    rating.status = "implemented"
    with pytest.raises(PermissionDenied):
        save_rating(rating, by=request.getfixturevalue(who), reason="Trying")
    assert Rating.objects.get(pk=rating.pk).status == "partially"
    assert rating.history.count() == 1


def test_a_focal_point_cannot_create_an_assessed_rating(world, focal_jam):
    rating = Rating(state=world["jam"], measure=world["records"], kind="assessed")
    with pytest.raises(PermissionDenied):
        save_rating(rating, by=focal_jam, reason="Trying")
    assert not Rating.objects.filter(measure=world["records"]).exists()


def test_a_focal_point_cannot_create_their_states_self_report_directly(world, focal_jam):
    rating = Rating(state=world["jam"], measure=world["records"], kind="self_reported", status="implemented")
    with pytest.raises(PermissionDenied):
        save_rating(rating, by=focal_jam, reason="First self-report")
    assert not Rating.objects.filter(measure=world["records"]).exists()
    assert not Rating.history.filter(measure=world["records"]).exists()


def test_history_rows_cannot_be_edited(ratings):
    row = ratings["jam", "assessed"].history.get()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        type(row).objects.filter(pk=row.pk).update(status="implemented")


def test_history_rows_cannot_be_deleted(ratings):
    rows = ratings["jam", "assessed"].history.all()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        rows.delete()
    assert rows.count() == 1


def test_ratings_cannot_be_deleted_even_bypassing_the_application(ratings):
    with pytest.raises(IntegrityError, match="cannot be deleted"), transaction.atomic():
        Rating.objects.filter(pk=ratings["jam", "assessed"].pk).delete()
    assert Rating.objects.count() == 4


def test_each_history_row_says_what_the_status_changed_from(ratings, world, analyst):
    set_rating(
        state=world["jam"], measure=world["marking"], kind="assessed", by=analyst, at=LATER,
        reason="Import marking now enforced", status="largely",
    )  # fmt: skip
    rating = Rating.objects.get(state=world["jam"], kind="assessed")
    confirm_rating(rating, by=analyst, at=LATER + dt.timedelta(days=1))
    rows = rating.history.order_by("history_date")
    assert [(row.previous_status, row.status) for row in rows] == [
        ("", "partially"),
        ("partially", "largely"),
        ("largely", "largely"),
    ]
