"""
How a focal point's report becomes part of the record: submission, review, and snapshots that
freeze a State's ratings. Pages, uploads and the API all come here, so the rules live in one place.
"""

import dataclasses

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from measures.models import Edition
from states.models import Role, is_analyst

from .models import Rating, Snapshot, SnapshotEntry, Submission
from .ratings import RATED_FIELDS, EditConflict, current_or_new, moment_text, save_rating, set_rating

__all__ = [
    "EditConflict",
    "Proposal",
    "submit",
    "submit_many",
    "accept",
    "return_submission",
    "freeze",
    "compare_snapshots",
]

SUBMITTED_FIELDS = tuple(field for field in RATED_FIELDS if field != "assessment")
# ``submit``'s seen_version when the caller showed no self-report version (spreadsheets, the API).
UNSEEN = object()
RETURN_NEEDS_A_NOTE = gettext_lazy("Say why the submission is returned; the focal point will read it.")
REASON_MAX_LENGTH = Rating.history.model._meta.get_field("history_change_reason").max_length

Review = Submission.Review
# Whole sentences per outcome rather than an outcome slotted into one sentence: the
# participle agrees with "submission" in French and Spanish.
REPLACED_MEANWHILE = {
    Review.ACCEPTED: gettext_lazy(
        "The submission you were replacing has meanwhile been accepted. Yours was not saved: reload and submit again "
        "if it is still needed."
    ),
    Review.RETURNED: gettext_lazy(
        "The submission you were replacing has meanwhile been returned. Yours was not saved: reload and submit again "
        "if it is still needed."
    ),
    Review.SUPERSEDED: gettext_lazy(
        "The submission you were replacing has meanwhile been replaced by a later submission. Yours was not saved: "
        "reload and submit again if it is still needed."
    ),
    None: gettext_lazy(
        "The submission you were replacing has meanwhile been removed. Yours was not saved: reload and submit again "
        "if it is still needed."
    ),
}
ALREADY_REVIEWED = {
    Review.ACCEPTED: gettext_lazy("This submission was already accepted; nothing was changed."),
    Review.RETURNED: gettext_lazy("This submission was already returned; nothing was changed."),
    Review.SUPERSEDED: gettext_lazy(
        "This submission was already replaced by a later submission; nothing was changed."
    ),
}
ALREADY_REVIEWED_BY = {
    Review.ACCEPTED: gettext_lazy("This submission was already accepted by %(name)s; nothing was changed."),
    Review.RETURNED: gettext_lazy("This submission was already returned by %(name)s; nothing was changed."),
}


def may_submit(user, state):
    """Whether ``user`` is a current focal point (main or alternate) of ``state``."""
    if not user.is_active:
        return False
    return Role.objects.current().filter(user=user, kind=Role.Kind.FOCAL_POINT, state=state).exists()


@dataclasses.dataclass
class Proposal:
    """One measure's proposed self-report for ``submit_many``: its values, and what the submitter saw pending."""

    measure: object
    values: dict
    replaces: object = None
    seen_version: object = UNSEEN


def submit(
    *, state, measure, by, channel=Submission.Channel.FORM, replaces=None, seen_version=UNSEEN, at=None, **values
):
    """
    Record ``by``'s proposed self-report for ``state`` × ``measure``; returns the pending submission.
    Focal points only (``PermissionDenied``); bad values raise ``ValidationError`` by field. A pending
    submission is replaced only if ``replaces`` names it, and a self-report changed since
    ``seen_version`` refuses it (``EditConflict``), so that no report is lost.
    """
    proposal = Proposal(measure, values, replaces=replaces, seen_version=seen_version)
    (submission,) = submit_many(state=state, by=by, proposals=[proposal], channel=channel, at=at)
    return submission


@transaction.atomic
def submit_many(*, state, by, proposals, channel=Submission.Channel.FORM, at=None):
    """
    ``submit`` for many measures of ``state`` at once, all or none, in a number of queries that does not grow
    with them; returns the pending submissions in the order of ``proposals``. Each ``Proposal`` is checked in
    turn as ``submit`` checks one, and the first refused raises what ``submit`` raises, with the proposal as
    the error's ``proposal``.
    """
    for proposal in proposals:
        unknown = set(proposal.values) - set(SUBMITTED_FIELDS)
        if unknown:
            raise TypeError(f"Not submission fields: {', '.join(sorted(unknown))}")
    if not proposals:
        return []
    measure_ids = [proposal.measure.pk for proposal in proposals]
    if len(set(measure_ids)) != len(measure_ids):
        raise ValueError("Propose each measure once.")
    if not may_submit(by, state):
        raise PermissionDenied(_("Only a focal point of %(state)s may submit its ratings.") % {"state": state})
    at = at or timezone.now()
    pending = {
        submission.measure_id: submission
        for submission in Submission.objects.select_for_update().filter(state=state, measure__in=measure_ids).pending()
    }
    self_reports = {
        rating.measure_id: rating
        for rating in Rating.objects.filter(
            state=state, measure__in=measure_ids, kind=Rating.Kind.SELF_REPORTED
        ).with_version()
    }
    submissions = []
    for proposal in proposals:
        submission = Submission(
            state=state, measure=proposal.measure, submitted_by=by, submitted_at=at, channel=channel, **proposal.values
        )
        try:
            _check_proposal(
                submission,
                proposal,
                pending=pending.get(proposal.measure.pk),
                self_report=self_reports.get(proposal.measure.pk),
            )
        except ValidationError as error:
            error.proposal = proposal
            raise
        submissions.append(submission)

    # The pending ones step aside first: one pending submission per measure is a constraint.
    replaced = [submission.replaces for submission in submissions if submission.replaces is not None]
    for submission in replaced:
        submission.review = Submission.Review.SUPERSEDED
    if replaced:
        bulk_update_with_history(replaced, Submission, ["review"], default_user=by)
    try:
        with transaction.atomic():
            bulk_create_with_history(submissions, Submission, default_user=by)
    except IntegrityError:
        # Another submission for one of the measures was saved between our lock and our insert.
        taken = set(
            Submission.objects.filter(state=state, measure__in=measure_ids).pending().values_list("measure", flat=True)
        )
        proposal = next((proposal for proposal in proposals if proposal.measure.pk in taken), proposals[0])
        conflict = EditConflict(
            _(
                "Someone else submitted a change to %(code)s at the same moment. Yours was not saved: reload and "
                "submit again."
            )
            % {"code": proposal.measure.code},
            code="edit_conflict",
        )
        conflict.proposal = proposal
        raise conflict from None
    return submissions


def _check_proposal(submission, proposal, *, pending, self_report):
    """Refuse ``submission``, made of ``proposal``, as ``submit`` would; else set what it replaces and is based on."""
    measure = proposal.measure
    if not measure.edition.is_current:
        raise ValidationError(
            {"measure": _("%(code)s is not in the current catalogue; use its new code.") % {"code": measure.code}}
        )
    # The values first: a conflict the submitter resolves would only lead to this refusal.
    _check_values(submission)

    replaces_id = _submission_id(proposal.replaces)
    if pending is not None and pending.pk != replaces_id:
        raise EditConflict(
            _(
                "%(name)s submitted a change to %(code)s on %(when)s (%(status)s) after you opened it. Yours was not "
                "saved: reload, read theirs, and submit again to replace it."
            )
            % {
                "name": _name(pending.submitted_by),
                "code": measure.code,
                "when": moment_text(pending.submitted_at),
                "status": pending.get_status_display(),
            },
            code="edit_conflict",
        )
    if pending is None and replaces_id is not None:
        # Only among this State's submissions on this measure: what became of another State's
        # submission is not the submitter's to learn, so its id reads like one that never was.
        earlier = Submission.objects.filter(pk=replaces_id, state=submission.state, measure=measure).first()
        outcome = earlier.review if earlier else None
        raise EditConflict(str(REPLACED_MEANWHILE.get(outcome, REPLACED_MEANWHILE[None])), code="edit_conflict")

    current_version = self_report.version if self_report else None
    if proposal.seen_version is not UNSEEN and _submission_id(proposal.seen_version) != current_version:
        if self_report is None:
            message = _(
                "%(state)s's self-report on %(code)s was removed after you opened the form. Yours was not saved: "
                "read the current self-report above, then send yours again."
            )
        else:
            message = _(
                "%(state)s's self-report on %(code)s was changed after you opened the form (now: %(status)s). Yours "
                "was not saved: read the current self-report above, then send yours again."
            )
        status = self_report.get_status_display() if self_report else ""
        raise EditConflict(
            message % {"state": submission.state, "code": measure.code, "status": status}, code="edit_conflict"
        )
    submission.base_version = current_version
    submission.replaces = pending


NEEDS_JUSTIFICATION = next(
    constraint
    for constraint in Submission._meta.constraints
    if constraint.name == "submission_not_applicable_needs_justification"
)


def _check_values(submission):
    """Raise ``ValidationError`` by field, as ``full_clean`` does, for values the model refuses."""
    errors = {}
    try:
        # Django checks a constraint with a query per submission. Of the constraints, only
        # NEEDS_JUSTIFICATION reads submitted values (a new submission is pending and unreviewed),
        # so it is checked below as the database checks it, with its message.
        submission.full_clean(
            exclude=["state", "measure", "submitted_by", "replaces"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if (
        not {"status", "justification"} & set(errors)
        and submission.status == Rating.Status.NOT_APPLICABLE
        and submission.justification == ""
    ):
        errors.setdefault(NON_FIELD_ERRORS, []).append(
            ValidationError(
                NEEDS_JUSTIFICATION.get_violation_error_message(), code=NEEDS_JUSTIFICATION.violation_error_code
            )
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def accept(submission, *, by, note="", update_assessed=False, at=None):
    """
    Make ``submission`` the self-report (and with ``update_assessed`` the assessed rating); refused
    (``EditConflict``) if it was reviewed meanwhile or the self-report changed since it was sent.
    """
    submission = _lock_pending(submission, by)
    at = at or timezone.now()
    values = {field: getattr(submission, field) for field in SUBMITTED_FIELDS}
    reason = Truncator(
        # Named by who sent it and when, as people know it; an id would differ between copies of the data.
        # In English whatever the reviewer's language: it is stored in history, which anyone reads.
        f"Submission by {_stored_name(submission.submitted_by)} of {stored_moment(submission.submitted_at)} accepted"
        + (f": {note}" if note else "")
    ).chars(REASON_MAX_LENGTH)

    self_report = current_or_new(state=submission.state, measure=submission.measure, kind=Rating.Kind.SELF_REPORTED)
    if self_report.pk is not None and self_report.version != submission.base_version:
        latest = self_report.latest_change()
        raise EditConflict(
            _(
                "The self-report changed after this was submitted (%(name)s, %(when)s, now %(status)s). Accepting "
                "would overwrite that change: return the submission with a note instead."
            )
            % {
                "name": _name(latest.history_user),
                "when": moment_text(latest.history_date),
                "status": latest.get_status_display(),
            },
            code="edit_conflict",
        )
    for field, value in values.items():
        setattr(self_report, field, value)
    save_rating(self_report, by=by, reason=reason, at=at, check_permission=False)
    if update_assessed:
        set_rating(
            state=submission.state,
            measure=submission.measure,
            kind=Rating.Kind.ASSESSED,
            by=by,
            reason=reason,
            at=at,
            **values,
        )

    submission.review = Submission.Review.ACCEPTED
    submission.reviewed_by = by
    submission.reviewed_at = at
    submission.review_note = note
    submission.assessed_updated = update_assessed
    submission.save()
    return submission


@transaction.atomic
def return_submission(submission, *, by, note, at=None):
    """Send ``submission`` back to the State with ``note`` saying why; nothing else changes."""
    if not note.strip():
        raise ValidationError({"review_note": RETURN_NEEDS_A_NOTE})
    submission = _lock_pending(submission, by)
    submission.review = Submission.Review.RETURNED
    submission.reviewed_by = by
    submission.reviewed_at = at or timezone.now()
    submission.review_note = note.strip()
    submission.save()
    return submission


def _submission_id(replaces):
    # Forms, uploads and the API hand the id over as text, empty when nothing was pending;
    # compared as text, "12" would never match submission 12 and every edit would conflict.
    value = getattr(replaces, "pk", replaces)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if not value.isdigit():
            raise ValidationError({"replaces": _("'%(value)s' is not a submission number.") % {"value": value}})
        return int(value)
    return value


def _lock_pending(submission, by):
    if not is_analyst(by):
        raise PermissionDenied(_("Only CTED analysts review submissions."))
    locked = Submission.objects.select_for_update().select_related("state", "measure").get(pk=submission.pk)
    if not locked.is_pending:
        if locked.reviewed_by is not None and locked.review in ALREADY_REVIEWED_BY:
            message = ALREADY_REVIEWED_BY[locked.review] % {"name": _name(locked.reviewed_by)}
        else:
            message = ALREADY_REVIEWED.get(locked.review, ALREADY_REVIEWED[Review.SUPERSEDED])
        raise EditConflict(str(message), code="edit_conflict")
    return locked


@transaction.atomic
def freeze(*, state, label, by, assessment=None, at=None):
    """Freeze every current rating of ``state`` into a read-only snapshot labelled ``label``; analysts only."""
    if not is_analyst(by):
        raise PermissionDenied(_("Only CTED analysts take snapshots."))
    edition = Edition.objects.current()
    snapshot = Snapshot(
        state=state,
        label=label.strip(),
        edition=edition,
        assessment=assessment,
        taken_by=by,
        taken_at=at or timezone.now(),
    )
    # The State stays in: without it the one-label-per-State constraint would go unchecked
    # and a repeated label would fail on insert instead of with its message.
    snapshot.full_clean(exclude=["edition", "taken_by", "assessment"])
    ratings = list(Rating.objects.filter(state=state, measure__edition=edition))
    if not ratings:
        raise ValidationError(
            _("%(state)s has no ratings in the current catalogue yet: there is nothing to freeze.") % {"state": state}
        )
    try:
        with transaction.atomic():
            snapshot.save()
    except IntegrityError:
        # Another snapshot with this label was saved between the check and the insert.
        raise ValidationError(
            {
                "label": _("%(state)s already has a snapshot labelled “%(label)s”; choose another label.")
                % {"state": state, "label": snapshot.label}
            }
        ) from None
    SnapshotEntry.objects.bulk_create(
        SnapshotEntry(
            snapshot=snapshot,
            measure_id=rating.measure_id,
            kind=rating.kind,
            set_by_id=rating.set_by_id,
            set_at=rating.set_at,
            last_confirmed_at=rating.last_confirmed_at,
            **{field: getattr(rating, field) for field in SUBMITTED_FIELDS},
        )
        for rating in ratings
    )
    return snapshot


@dataclasses.dataclass
class ComparedMeasure:
    """One measure in two snapshots: its entries of each kind before and after."""

    measure: object
    before: dict
    after: dict

    def changed(self, kind):
        before, after = self.before.get(kind), self.after.get(kind)
        return _values(before) != _values(after)

    @property
    def changed_kinds(self):
        return [kind for kind in Rating.Kind if self.changed(kind)]


def compare_snapshots(earlier, later):
    """The measures of two snapshots of one State side by side, a revised measure beside its predecessor."""
    if earlier.state_id != later.state_id:
        raise ValidationError(_("Compare two snapshots of the same State."))
    entries = SnapshotEntry.objects.filter(snapshot__in=[earlier, later]).select_related("measure__section")
    before, after, measures = {}, {}, {}
    for entry in entries:
        side = before if entry.snapshot_id == earlier.pk else after
        side.setdefault(entry.measure_id, {})[entry.kind] = entry
        measures[entry.measure_id] = entry.measure
    rows, matched = [], set()
    for measure_id in after:
        # A later edition's measure stands in for the earlier measure it revised.
        earlier_id = measure_id if measure_id in before else measures[measure_id].predecessor_id
        matched.add(earlier_id)
        rows.append(ComparedMeasure(measures[measure_id], before.get(earlier_id, {}), after[measure_id]))
    rows += [ComparedMeasure(measures[m], before[m], {}) for m in before if m not in matched]
    return sorted(rows, key=lambda row: _catalogue_order(row.measure))


def _catalogue_order(measure):
    return (measure.section.position, measure.section.code, measure.position, measure.code)


def _values(entry):
    if entry is None:
        return None
    return tuple(getattr(entry, field) for field in SUBMITTED_FIELDS)


def _name(user):
    if user is None:
        return _("an import")
    return user.get_full_name() or user.get_username()


def _stored_name(user):
    return "an import" if user is None else user.get_full_name() or user.get_username()


def stored_moment(moment):
    # strftime, not the date filters: the same English text in whatever language the reviewer reads.
    return f"{timezone.localtime(moment):%d %b %Y at %H:%M}"
