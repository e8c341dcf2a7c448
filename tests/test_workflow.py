"""
The workflow services (implementation/workflow.py) called directly: the edges the
pages rely on. Ratings in the ``ratings`` fixture: SALW-04 for Jamaica and for Kenya,
both kinds "partially implemented".
"""

import datetime as dt

import factories
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from implementation import workflow
from implementation.models import Rating, Snapshot, Submission
from measures.models import Edition, Measure, Section
from states.models import Role

User = get_user_model()
Status = Rating.Status
SELF_REPORTED = Rating.Kind.SELF_REPORTED
AT = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def _submit(world, by, status=Status.LARGELY, *, key="jam", measure="marking", **values):
    values.setdefault("explanation", "Proposed.")
    return workflow.submit(state=world[key], measure=world[measure], by=by, status=status, **values)


# submit


@pytest.mark.parametrize("who", ["analyst", "coordinator", "focal_ken", "nobody"])
def test_only_a_focal_point_of_the_state_submits(request, world, ratings, who):
    with pytest.raises(PermissionDenied):
        _submit(world, request.getfixturevalue(who))
    assert not Submission.objects.exists()


def test_a_deactivated_focal_point_no_longer_submits(world, focal_jam, ratings):
    Role.objects.filter(user=focal_jam).update(is_active=False)
    with pytest.raises(PermissionDenied):
        _submit(world, focal_jam)


def test_unknown_fields_are_a_programming_error(world, focal_jam):
    with pytest.raises(TypeError, match="assessment"):
        _submit(world, focal_jam, assessment=None)


def test_a_measure_of_an_old_edition_is_refused(world, focal_jam):
    old = Edition.objects.create(code="old", title="Old edition", is_current=False)
    section = Section.objects.create(edition=old, code="B", title="SALW")
    measure = Measure.objects.create(
        edition=old, section=section, code="SALW-04", title="Old marking", domain=Measure.Domain.SALW,
        phase=Measure.Phase.UPSTREAM, legislative=True,
    )  # fmt: skip
    with pytest.raises(ValidationError) as error:
        workflow.submit(state=world["jam"], measure=measure, by=focal_jam, status=Status.LARGELY)
    assert "not in the current catalogue" in error.value.message_dict["measure"][0]


def test_bad_values_save_nothing_and_leave_the_pending_one_pending(world, focal_jam, ratings):
    pending = _submit(world, focal_jam)
    with pytest.raises(ValidationError) as error:
        _submit(world, focal_jam, Status.NOT_APPLICABLE, replaces=pending, justification="")
    assert "Say why the measure does not apply" in str(error.value)
    with pytest.raises(ValidationError) as error:
        _submit(world, focal_jam, replaces=pending, source_url="not a url")
    assert "source_url" in error.value.message_dict
    pending.refresh_from_db()
    assert pending.is_pending
    assert Submission.objects.count() == 1


@pytest.mark.parametrize(("key", "measure"), [("ken", "marking"), ("jam", "records")])
def test_replaces_looks_only_among_the_same_states_submissions_on_the_measure(
    world, focal_jam, focal_ken, analyst, ratings, key, measure
):
    other = _submit(world, focal_jam if key == "jam" else focal_ken, key=key, measure=measure)
    workflow.accept(other, by=analyst)

    def refusal(replaces):
        with pytest.raises(workflow.EditConflict) as conflict:
            _submit(world, focal_jam, replaces=replaces)
        return conflict.value.messages

    assert refusal(other.pk) == refusal(other.pk + 100)
    assert "has meanwhile been removed" in refusal(other.pk)[0]


def test_a_pending_submission_not_named_is_a_conflict(world, focal_jam, ratings):
    first = _submit(world, focal_jam, at=AT)
    with pytest.raises(workflow.EditConflict) as conflict:
        _submit(world, focal_jam, Status.IMPLEMENTED)
    assert "jo submitted a change to SALW-04 on 01 Mar 2025 at 09:00 (Largely implemented)" in str(conflict.value)
    first.refresh_from_db()
    assert first.is_pending and Submission.objects.count() == 1


@pytest.mark.parametrize("as_given", [lambda s: s, lambda s: s.pk, lambda s: str(s.pk), lambda s: f" {s.pk} "])
def test_replaces_may_be_the_submission_its_id_or_the_id_as_text(world, focal_jam, ratings, as_given):
    first = _submit(world, focal_jam)
    second = _submit(world, focal_jam, Status.IMPLEMENTED, replaces=as_given(first))
    first.refresh_from_db()
    assert first.review == Submission.Review.SUPERSEDED
    assert second.replaces == first and second.is_pending


def test_replaces_as_empty_text_means_nothing_was_pending(world, focal_jam, ratings):
    assert _submit(world, focal_jam, replaces="").is_pending


def test_replaces_that_is_not_a_number_is_refused(world, focal_jam, ratings):
    with pytest.raises(ValidationError) as error:
        _submit(world, focal_jam, replaces="abc")
    assert "is not a submission number" in error.value.message_dict["replaces"][0]


def test_replacing_a_submission_decided_meanwhile_is_a_conflict(world, focal_jam, analyst, ratings):
    first = _submit(world, focal_jam)
    workflow.accept(first, by=analyst)
    with pytest.raises(workflow.EditConflict, match="has meanwhile been accepted"):
        _submit(world, focal_jam, Status.IMPLEMENTED, replaces=first.pk)


def test_submission_records_the_self_reports_version(world, focal_jam, ratings):
    submission = _submit(world, focal_jam)
    assert submission.base_version == ratings["jam", SELF_REPORTED].version is not None
    assert _submit(world, focal_jam, measure="records").base_version is None


# accept and return


def test_only_analysts_review(world, focal_jam, coordinator, ratings):
    pending = _submit(world, focal_jam)
    for who in (focal_jam, coordinator):
        with pytest.raises(PermissionDenied):
            workflow.accept(pending, by=who)
        with pytest.raises(PermissionDenied):
            workflow.return_submission(pending, by=who, note="No.")
    pending.refresh_from_db()
    assert pending.is_pending


def test_return_needs_a_note(world, focal_jam, analyst, ratings):
    pending = _submit(world, focal_jam)
    with pytest.raises(ValidationError) as error:
        workflow.return_submission(pending, by=analyst, note="  ")
    assert "review_note" in error.value.message_dict
    pending.refresh_from_db()
    assert pending.is_pending


def test_a_superseded_submission_cannot_be_accepted(world, focal_jam, analyst, ratings):
    first = _submit(world, focal_jam)
    _submit(world, focal_jam, Status.IMPLEMENTED, replaces=first)
    with pytest.raises(workflow.EditConflict, match="already replaced by a later submission"):
        workflow.accept(first, by=analyst)
    assert Rating.objects.get(state=world["jam"], measure=world["marking"], kind=SELF_REPORTED).status == (
        Status.PARTIALLY
    )


def test_accept_refused_when_a_self_report_appeared_after_submitting(world, focal_jam, analyst):
    pending = _submit(world, focal_jam, measure="records")
    factories.rating(
        state=world["jam"], measure=world["records"], kind=SELF_REPORTED, status=Status.NOT_IMPLEMENTED, by=analyst,
        reason="Desk",
    )  # fmt: skip
    with pytest.raises(workflow.EditConflict, match="The self-report changed after this was submitted"):
        workflow.accept(pending, by=analyst)


def test_a_long_note_is_cut_to_fit_the_history_reason(world, focal_jam, analyst, ratings):
    pending = _submit(world, focal_jam)
    workflow.accept(pending, by=analyst, note="x" * 500)
    reason = Rating.history.filter(kind=SELF_REPORTED, state=world["jam"]).latest("history_id").history_change_reason
    assert len(reason) == workflow.REASON_MAX_LENGTH
    assert Submission.objects.get(pk=pending.pk).review_note == "x" * 500


# freeze and compare


def test_only_analysts_freeze(world, focal_jam, ratings):
    with pytest.raises(PermissionDenied):
        workflow.freeze(state=world["jam"], label="2025", by=focal_jam)


def test_a_repeated_label_is_a_validation_error_not_a_database_error(world, analyst, ratings):
    workflow.freeze(state=world["jam"], label="2025 follow-up", by=analyst)
    with pytest.raises(ValidationError) as error:
        workflow.freeze(state=world["jam"], label=" 2025 follow-up ", by=analyst)
    assert "This State already has a snapshot with this label." in str(error.value)
    assert Snapshot.objects.count() == 1
    # Another State may use the label.
    assert workflow.freeze(state=world["ken"], label="2025 follow-up", by=analyst).label == "2025 follow-up"


def test_nothing_to_freeze_without_ratings(world, analyst):
    with pytest.raises(ValidationError, match="nothing to freeze"):
        workflow.freeze(state=world["jam"], label="Empty", by=analyst)
    assert not Snapshot.objects.exists()


def test_snapshots_of_two_states_are_not_compared(world, analyst, ratings):
    jamaica = workflow.freeze(state=world["jam"], label="A", by=analyst)
    kenya = workflow.freeze(state=world["ken"], label="A", by=analyst)
    with pytest.raises(ValidationError, match="same State"):
        workflow.compare_snapshots(jamaica, kenya)


def test_compare_reports_changed_kinds(world, analyst, ratings):
    before = workflow.freeze(state=world["jam"], label="Before", by=analyst, at=AT)
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF_REPORTED, status=Status.LARGELY, by=analyst
    )
    after = workflow.freeze(state=world["jam"], label="After", by=analyst, at=AT + dt.timedelta(days=1))
    [row] = workflow.compare_snapshots(before, after)
    assert row.changed_kinds == [SELF_REPORTED]
    assert not row.changed(Rating.Kind.ASSESSED)
