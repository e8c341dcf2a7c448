"""Every rating change is appended to a history that cannot be edited, pruned or lost."""

import datetime as dt
import io

import factories
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from openpyxl import load_workbook

from implementation.models import Assessment, Confidentiality, Rating
from implementation.ratings import confirm_rating, save_rating, set_rating

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


def test_each_states_first_date_is_its_earliest_row_whatever_came_after(ratings, world, analyst):
    # The regions' trend counts a hidden State from its first row; first_dates reads only status changes.
    first = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    confirm_rating(ratings["jam", "assessed"], by=analyst, at=LATER)
    set_rating(
        state=world["jam"], measure=world["marking"], kind="assessed", by=analyst, at=LATER + dt.timedelta(days=1),
        reason="Changed", status="largely",
    )  # fmt: skip
    rows = Rating.history.filter(state=world["jam"])
    assert list(rows.first_dates()) == [min(row.history_date for row in rows)] == [first]
    assert list(rows.filter(history_date__lte=LATER).first_dates()) == [first]


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


# Reasons say no more than their reader may read

# How a reason written before reasons stopped naming their assessment reads.
OLD_STYLE_REASON = "Set in Country visit of Jamaica, 11 Nov 2011"
WITHHELD = "Set in a CTED-only record"


@pytest.fixture
def visit_reasons(ratings, world, analyst):
    """
    Jamaica's assessed rating set in a CTED-only visit, with a reason naming it (as stored
    before), then its self-report changed with a reason of its own; and Jamaica's shared
    workshop, which set nothing yet.
    """
    visit = factories.assessment(
        state=world["jam"], kind=Assessment.Kind.COUNTRY_VISIT, conducted_on=dt.date(2011, 11, 11)
    )
    set_rating(
        state=world["jam"], measure=world["marking"], kind="assessed", by=analyst, at=LATER,
        reason=OLD_STYLE_REASON, status="largely", assessment=visit,
    )  # fmt: skip
    set_rating(
        state=world["jam"], measure=world["marking"], kind="self_reported", by=analyst,
        at=LATER + dt.timedelta(days=1), reason="Submission by jo accepted", status="largely",
    )  # fmt: skip
    return visit


def _reasons_everywhere(client, user):
    """Every place a reason of Jamaica's rating history is shown to ``user``, as text."""
    client.force_login(user)
    rating = Rating.objects.get(state__iso3="JAM", kind="assessed")
    api = client.get("/api/v1/rating-history/", {"state": "JAM"})
    assert api.status_code == 200
    page = client.get("/states/JAM/")
    csv_export = client.get("/states/JAM/", {"export": "timeline", "format": "csv"})
    xlsx_export = client.get("/states/JAM/", {"export": "timeline", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx_export.content)).worksheets[0]
    admin_history = client.get(reverse("admin:implementation_rating_history", args=[rating.pk]))
    return {
        "api": [row["reason"] for row in api.json()["results"]],
        "page": page.content.decode(),
        "csv": csv_export.content.decode("utf-8-sig"),
        "xlsx": " ".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row),
        "admin": admin_history.content.decode(),
    }


@pytest.mark.parametrize("who", ["focal_jam", "coordinator"])
def test_a_reason_linked_to_a_cted_only_assessment_is_withheld_everywhere(client, request, visit_reasons, who):
    shown = _reasons_everywhere(client, request.getfixturevalue(who))
    assert shown["api"] == ["Submission by jo accepted", WITHHELD, "Initial rating", "Initial rating"]
    for place, text in shown.items():
        assert "Country visit" not in str(text), place
        assert WITHHELD in str(text), place
        # Reasons of rows linked to no assessment are shown as they were written.
        assert "Initial rating" in str(text), place


def test_analysts_read_every_reason(client, analyst, visit_reasons):
    shown = _reasons_everywhere(client, analyst)
    assert shown["api"] == ["Submission by jo accepted", OLD_STYLE_REASON, "Initial rating", "Initial rating"]
    for place, text in shown.items():
        assert "Country visit of Jamaica" in str(text), place
        assert WITHHELD not in str(text), place


def test_a_reason_linked_to_a_shared_assessment_is_shown_to_the_state(client, focal_jam, visit_reasons):
    visit_reasons.confidentiality = Confidentiality.SHARED
    visit_reasons.save()
    shown = _reasons_everywhere(client, focal_jam)
    assert shown["api"][1] == OLD_STYLE_REASON
    for place, text in shown.items():
        assert WITHHELD not in str(text), place


def test_the_withheld_reason_is_in_the_readers_language(client, focal_jam, visit_reasons):
    client.force_login(focal_jam)
    rows = client.get("/api/v1/rating-history/", {"state": "JAM"}, HTTP_ACCEPT_LANGUAGE="fr").json()["results"]
    assert rows[1]["reason"] == "Défini dans un document réservé à la DECT"


@pytest.mark.django_db
def test_the_history_keeps_the_indexes_its_migrations_make_in_sql():
    # SQLite copies a table to alter a column and leaves behind what the models do not declare (migration 0013).
    with connection.cursor() as cursor:
        names = set(connection.introspection.get_constraints(cursor, "implementation_historicalrating"))
    assert {"historicalrating_status_changes", "historicalrating_state_timeline"} <= names
