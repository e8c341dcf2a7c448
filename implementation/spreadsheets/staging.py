"""Staging an upload for its preview, and applying it: as submissions (a State's spreadsheet) or assessed ratings."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from measures.models import Measure
from states.models import MemberState, is_analyst

from .. import workflow
from ..models import Rating, StagedUpload, Submission
from ..ratings import REASON_MAX_LENGTH, EditConflict, write_many
from .checks import PROGRESS_EVERY, check_kept, check_rows
from .columns import COLUMNS, VALUE_FIELDS
from .comparison import UNCHANGED, compare, same, seen_values, summary_of, value_labels, values_from
from .reading import Problem, UploadRefused, read_sheet


def _refuse_if(problems):
    if problems:
        problems.sort(key=lambda problem: (problem.row or 0))
        raise UploadRefused(problems)


def _fill(staged, *, sheet, rows, blank):
    # Only an upload still being checked: one replaced by a later upload meanwhile stays gone.
    staged.mark_ready(rows=rows, summary=summary_of(sheet, rows, blank))
    return staged


def _read(staged, progress):
    """The ``Sheet`` of ``staged``'s file, and the progress callbacks of checking and comparing its rows."""
    step = StagedUpload.Step
    if progress is None:
        checking = comparing = None
    else:
        progress(step.READING, 0, 0)

        def checking(done, total):
            progress(step.CHECKING, done, total)

        def comparing(done, total):
            progress(step.COMPARING, done, total)

    return read_sheet(ContentFile(bytes(staged.file), name=staged.file_name)), checking, comparing


def _report(progress, done, total):
    if progress is not None and done % PROGRESS_EVERY == 0:
        progress(done, total)


def stage(staged, *, progress=None):
    """``stage_self_report`` or ``stage_assessed``, as ``staged``'s kind says; ``staged`` must be being checked."""
    if staged.kind == StagedUpload.Kind.SELF_REPORT:
        return stage_self_report(staged, progress=progress)
    return stage_assessed(staged, progress=progress)


def apply(staged):
    """``apply_self_report`` or ``apply_assessed``, by the uploader who confirmed ``staged``."""
    if staged.kind == StagedUpload.Kind.SELF_REPORT:
        return apply_self_report(staged, by=staged.uploaded_by)
    return apply_assessed(staged, by=staged.uploaded_by)


def _current_measures():
    return {measure.code.upper(): measure for measure in Measure.objects.current()}


# A State's spreadsheet: focal points' self-reports, as submissions


def stage_self_report(staged, *, progress=None):
    """
    Read and check ``staged``'s file, its State's spreadsheet, against the State's self-report, and keep in it what
    it would submit: it is then ready to confirm. Raises ``UploadRefused`` for a bad file, ``PermissionDenied``
    unless its uploader is a focal point of its State. ``progress(step, rows done, rows in all)`` is told how far it
    got every few hundred rows.
    """
    state, by = staged.state, staged.uploaded_by
    if not workflow.may_submit(by, state):
        raise PermissionDenied(_("Only a focal point of %(state)s may upload its spreadsheet.") % {"state": state})
    sheet, checking, comparing = _read(staged, progress)
    # Every State, so that a row of another State is named as such rather than called unknown.
    states = {member.iso3: member for member in MemberState.objects.only("iso3", "name")}
    checked, blank, problems = check_rows(
        sheet, states=states, measures=_current_measures(), for_state=state, progress=checking
    )
    _refuse_if(problems)
    self_reports = {
        rating.measure_id: rating
        for rating in Rating.objects.filter(state=state, kind=Rating.Kind.SELF_REPORTED).current_edition()
    }
    pending = {
        submission.measure_id: submission
        for submission in Submission.objects.filter(state=state).pending().select_related("submitted_by")
    }
    rows, labels = [], value_labels()
    for done, (number, values) in enumerate(checked):
        _report(comparing, done, len(checked))
        measure = values["code"]
        current = self_reports.get(measure.pk)
        row = compare(number, values, current, fields=sheet.fields, labels=labels)
        waiting = pending.get(measure.pk)
        if waiting is not None and row["action"] != UNCHANGED:
            new = values_from(row)
            if all(same(field, getattr(waiting, field), new[field]) for field in VALUE_FIELDS):
                # Already submitted as it is, and waiting for review: nothing new to send.
                row = {key: value for key, value in row.items() if key not in ("changes", "values", "seen")}
                row.update(action=UNCHANGED, already_pending=True)
            else:
                # Seen now, so replaced on confirming; one submitted after this preview is a conflict.
                row["pending"] = waiting.pk
                row["pending_by"] = waiting.submitted_by.get_full_name() or waiting.submitted_by.get_username()
        rows.append(row)
    _refuse_if(check_kept(rows, fields=sheet.fields))
    return _fill(staged, sheet=sheet, rows=rows, blank=blank)


@transaction.atomic
def apply_self_report(staged, *, by):
    """Submit the added and changed rows of ``staged``, or none if one's self-report changed since."""
    staged = _lock(staged)
    state = staged.state
    rows = [row for row in staged.rows if row["action"] != UNCHANGED]
    measures = Measure.objects.select_related("edition").in_bulk([row["measure"] for row in rows])
    self_reports = {
        rating.measure_id: rating
        for rating in Rating.objects.filter(
            state=state, kind=Rating.Kind.SELF_REPORTED, measure__in=list(measures)
        ).select_for_update()
    }
    for row in rows:
        current = self_reports.get(row["measure"])
        if seen_values(current) != row["seen"]:
            raise UploadRefused([_changed_since(row, current)])
    by_measure = {row["measure"]: row for row in rows}
    proposals = [
        workflow.Proposal(measures[row["measure"]], values_from(row), replaces=row.get("pending")) for row in rows
    ]
    try:
        workflow.submit_many(state=state, by=by, proposals=proposals, channel=Submission.Channel.SPREADSHEET)
    except EditConflict as conflict:
        row = by_measure[conflict.proposal.measure.pk]
        message = _about_measure(row, " ".join(conflict.messages))
        raise UploadRefused([Problem(message, row=row["row"])]) from None
    except ValidationError as error:
        raise UploadRefused(_problems_of(by_measure[error.proposal.measure.pk], error)) from None
    staged.mark_applied(len(rows))
    return len(rows)


def _lock(staged):
    # Only a confirmed upload (StagedUpload.confirm) is applied, and only once.
    locked = StagedUpload.objects.select_for_update().filter(pk=staged.pk, status=StagedUpload.Status.APPLYING).first()
    if locked is None:
        raise UploadRefused(
            [Problem(_("This upload was already applied, or replaced by a later one. Upload the file again."))]
        )
    return locked


CHANGED_SINCE = {
    # (assessed, still there): whole sentences, as "self-report" and "assessed rating" differ in gender.
    (False, True): gettext_lazy(
        "%(iso3)s %(code)s: the self-report changed after your preview (now %(status)s). Nothing was applied: upload "
        "the file again to see the current values."
    ),
    (False, False): gettext_lazy(
        "%(iso3)s %(code)s: the self-report changed after your preview. Nothing was applied: upload the file again to "
        "see the current values."
    ),
    (True, True): gettext_lazy(
        "%(iso3)s %(code)s: the assessed rating changed after your preview (now %(status)s). Nothing was applied: "
        "upload the file again to see the current values."
    ),
    (True, False): gettext_lazy(
        "%(iso3)s %(code)s: the assessed rating changed after your preview. Nothing was applied: upload the file "
        "again to see the current values."
    ),
}


def _changed_since(row, current, *, assessed=False):
    message = CHANGED_SINCE[assessed, current is not None] % {
        "iso3": row["iso3"],
        "code": row["code"],
        "status": current.get_status_display() if current is not None else "",
    }
    return Problem(message, row=row["row"])


def _about_measure(row, message):
    # Translators: a problem with one measure of an uploaded file, e.g. "SALW-04: the self-report changed".
    return _("%(code)s: %(message)s") % {"code": row["code"], "message": message}


def _problems_of(row, error):
    if not hasattr(error, "error_dict"):
        return [Problem(_about_measure(row, message), row=row["row"]) for message in error.messages]
    headers = {column.field: column.header for column in COLUMNS}
    return [
        Problem(message, row=row["row"], column=headers.get(field))
        for field, messages in error.message_dict.items()
        for message in messages
    ]


# The bulk import: CTED's assessed ratings, many States at once


def stage_assessed(staged, *, progress=None):
    """
    Read and check ``staged``'s file, assessed ratings of any States, and keep in it what it would set: it is then
    ready to confirm. Raises ``UploadRefused`` for a bad file; ``progress`` as for ``stage_self_report``.
    """
    sheet, checking, comparing = _read(staged, progress)
    states = {state.iso3: state for state in MemberState.objects.only("iso3", "name")}
    checked, blank, problems = check_rows(sheet, states=states, measures=_current_measures(), progress=checking)
    _refuse_if(problems)
    state_ids = {values["state"].pk for _, values in checked}
    ratings = {
        (rating.state_id, rating.measure_id): rating
        for rating in Rating.objects.filter(kind=Rating.Kind.ASSESSED, state__in=state_ids)
        .current_edition()
        .only("state", "measure", *VALUE_FIELDS)
    }
    rows, labels = [], value_labels()
    for done, (number, values) in enumerate(checked):
        _report(comparing, done, len(checked))
        current = ratings.get((values["state"].pk, values["code"].pk))
        rows.append(compare(number, values, current, fields=sheet.fields, labels=labels))
    _refuse_if(check_kept(rows, fields=sheet.fields))
    return _fill(staged, sheet=sheet, rows=rows, blank=blank)


@transaction.atomic
def apply_assessed(staged, *, by, at=None):
    """
    Set the assessed rating of every added or changed row of ``staged`` in one transaction, or none if one changed
    since the preview (``UploadRefused``). Analysts only. Returns the number of ratings set.
    """
    # ratings.write_many checks no permission: the whole file is the analyst's.
    if not is_analyst(by):
        raise PermissionDenied(_("Only CTED analysts import assessed ratings."))
    staged = _lock(staged)
    at = at or timezone.now()
    rows = [row for row in staged.rows if row["action"] != UNCHANGED]
    if not rows:
        staged.mark_applied(0)
        return 0
    # State and measure ids rather than a join, so that only ratings are locked.
    current = {
        (rating.state_id, rating.measure_id): rating
        for rating in Rating.objects.select_for_update().filter(
            kind=Rating.Kind.ASSESSED,
            state_id__in={row["state"] for row in rows},
            measure_id__in={row["measure"] for row in rows},
        )
    }
    conflicts, changes = [], []
    for row in rows:
        rating = current.get((row["state"], row["measure"]))
        if seen_values(rating) != row["seen"]:
            conflicts.append(_changed_since(row, rating, assessed=True))
            continue
        changes.append((rating, row["state"], row["measure"], values_from(row)))
    if conflicts:
        raise UploadRefused(conflicts)

    reason = Truncator(f"Bulk import {staged.file_name}").chars(REASON_MAX_LENGTH)
    try:
        write_many(changes, kind=Rating.Kind.ASSESSED, by=by, at=at, reason=reason)
    except IntegrityError as error:
        # A row the checks above let through and the database refused, e.g. an assessed
        # rating of the same measure created by someone else since the lock was taken.
        message = _("The database refused the import, and nothing was applied: %(error)s") % {"error": error}
        raise UploadRefused([Problem(message)]) from None
    staged.mark_applied(len(rows))
    return len(rows)
