"""
The pages of the submission workflow: a focal point's own State (/my-state/), the
analysts' review queue (/review/) and a State's frozen snapshots. Each view reads what
its reader may see (``visible_to``) and hands every change to workflow.py, where the
rules live.
"""

import dataclasses
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext, pgettext_lazy
from django.views.decorators.http import require_POST

from measures.models import Measure
from states.models import MemberState, is_analyst

from .. import workflow
from ..access import get_visible_state_or_404, reporting_states, require_role
from ..forms import NO_ASSESSMENT, AcceptForm, CompareForm, FreezeForm, ReturnForm, ReviewFilterForm, SubmissionForm
from ..models import Assessment, Rating, Snapshot, SnapshotEntry, Submission

Status = Rating.Status
ASSESSED = Rating.Kind.ASSESSED
SELF_REPORTED = Rating.Kind.SELF_REPORTED
DECIDED = [Submission.Review.ACCEPTED, Submission.Review.RETURNED]
# The top of /my-state/ lists this many of the latest decisions, returned ones first.
RECENT_DECISIONS = 10
QUEUE_PAGE_SIZE = 25


def _status(value):
    return Status(value) if value else None


def _lowercase(label):
    # "Source URL" → "source URL" in a list of what changed.
    label = str(label)
    return label[:1].lower() + label[1:]


def _require_analyst(user):
    if not is_analyst(user):
        raise PermissionDenied(_("The review queue is for CTED analysts."))


def _get_reporting_state(request, iso3):
    """The State ``iso3`` for its focal points: 403 for anyone else, 404 if the reader may not read it."""
    require_role(request.user)
    state = get_visible_state_or_404(request, iso3)
    if not workflow.may_submit(request.user, state):
        raise PermissionDenied(_("Only the focal points of %(state)s report its status here.") % {"state": state})
    return state


# /my-state/


@dataclasses.dataclass
class ReportRow:
    """One measure on a focal point's page: both ratings, the pending submission and the latest decision."""

    measure: Measure
    reported: Rating | None
    assessed: Rating | None
    pending: Submission | None
    decision: Submission | None

    @property
    def reported_status(self):
        return _status(self.reported.status) if self.reported else None

    @property
    def assessed_status(self):
        return _status(self.assessed.status) if self.assessed else None

    @property
    def pending_status(self):
        return _status(self.pending.status) if self.pending else None

    @property
    def decision_status(self):
        return _status(self.decision.status) if self.decision else None

    @property
    def differs(self):
        """Whether the State reports something other than CTED assessed (both must be set)."""
        return bool(self.reported and self.assessed and self.reported.status != self.assessed.status)

    @property
    def returned(self):
        return self.decision is not None and self.decision.review == Submission.Review.RETURNED


@dataclasses.dataclass
class StateReport:
    state: MemberState
    sections: list  # (Section, [ReportRow]) in catalogue order
    rated: bool  # whether the State has any rating in the current catalogue

    @property
    def rows(self):
        return [row for _, rows in self.sections for row in rows]

    @property
    def pending(self):
        return [row for row in self.rows if row.pending]

    @property
    def recent_decisions(self):
        """The latest decision on each measure, returned ones first, then newest first."""
        decided = [row for row in self.rows if row.decision]
        decided.sort(key=lambda row: row.decision.reviewed_at, reverse=True)
        decided.sort(key=lambda row: not row.returned)
        return decided[:RECENT_DECISIONS]


def build_state_report(*, state, user):
    """Every measure of the current catalogue for ``state``, as its focal points see it; four queries."""
    # 1. The catalogue; 2. the State's ratings of both kinds.
    measures = Measure.objects.current().select_related("section").order_by("section__position", "position", "code")
    ratings = {
        (rating.measure_id, rating.kind): rating
        for rating in Rating.objects.visible_to(user).current_edition().filter(state=state)
    }
    submissions = Submission.objects.visible_to(user).filter(state=state)
    # 3. Pending submissions; 4. the latest decision on each measure.
    pending = {s.measure_id: s for s in submissions.pending().select_related("submitted_by")}
    latest = (
        Submission.objects.filter(state=state, measure=OuterRef("measure"), review__in=DECIDED)
        .order_by("-reviewed_at", "-pk")
        .values("pk")[:1]
    )
    decisions = {
        s.measure_id: s for s in submissions.filter(pk=Subquery(latest)).select_related("submitted_by", "reviewed_by")
    }
    sections = {}
    for measure in measures:
        sections.setdefault(measure.section, []).append(
            ReportRow(
                measure,
                reported=ratings.get((measure.pk, SELF_REPORTED)),
                assessed=ratings.get((measure.pk, ASSESSED)),
                pending=pending.get(measure.pk),
                decision=decisions.get(measure.pk),
            )
        )
    return StateReport(state=state, sections=list(sections.items()), rated=bool(ratings))


@login_required
def my_state(request):
    """A focal point's State; a pointer elsewhere for anyone else with a role."""
    require_role(request.user)
    states = list(reporting_states(request.user))
    if not states:
        return render(request, "implementation/my_state_other.html", {"analyst": is_analyst(request.user)})
    if len(states) > 1:
        return render(request, "implementation/my_state_choose.html", {"states": states})
    return _report_page(request, states[0])


@login_required
def my_state_detail(request, iso3):
    return _report_page(request, _get_reporting_state(request, iso3))


def _report_page(request, state):
    report = build_state_report(state=state, user=request.user)
    return render(request, "implementation/my_state.html", {"report": report, "state": state})


@login_required
def report_measure(request, iso3, code):
    """The self-report form for one measure; what is sent waits for an analyst's review."""
    state = _get_reporting_state(request, iso3)
    measure = get_object_or_404(Measure.objects.current().select_related("section"), code__iexact=code)
    ratings = {
        r.kind: r for r in Rating.objects.visible_to(request.user).filter(state=state, measure=measure).with_version()
    }
    history = list(
        Submission.objects.visible_to(request.user)
        .filter(state=state, measure=measure)
        .select_related("submitted_by", "reviewed_by")
    )
    pending = next((submission for submission in history if submission.is_pending), None)
    reported = ratings.get(SELF_REPORTED)
    if request.method == "POST":
        form = SubmissionForm(request.POST)
        if form.is_valid():
            try:
                workflow.submit(
                    state=state,
                    measure=measure,
                    by=request.user,
                    channel=Submission.Channel.FORM,
                    replaces=form.cleaned_data["replaces"],
                    seen_version=form.cleaned_data["version"],
                    **form.values,
                )
            except workflow.EditConflict as conflict:
                # The input stays, and now names the submission and self-report shown above
                # it: sending it again, having read those, replaces them.
                data = request.POST.copy()
                data["replaces"] = pending.pk if pending else ""
                data["version"] = reported.version if reported else ""
                form = SubmissionForm(data)
                form.is_valid()
                form.add_error(None, conflict)
            except ValidationError as error:
                form.add_workflow_error(error)
            else:
                messages.success(
                    request,
                    _(
                        "Your report on %(code)s was sent for review. It will replace %(state)s's self-report once a "
                        "CTED analyst accepts it."
                    )
                    % {"code": measure.code, "state": state},
                )
                return redirect("my_state")
    else:
        form = SubmissionForm(
            initial=SubmissionForm.initial_from(pending or reported, replaces=pending, reported=reported)
        )
    row = ReportRow(
        measure,
        reported=reported,
        assessed=ratings.get(ASSESSED),
        pending=pending,
        decision=next((s for s in history if s.review in DECIDED), None),
    )
    context = {"state": state, "measure": measure, "row": row, "form": form, "history": history}
    return render(request, "implementation/my_state_form.html", context)


# /review/

REVIEWED_FIELDS = [
    ("status", pgettext_lazy("rating field", "Status")),
    ("explanation", pgettext_lazy("rating field", "Explanation")),
    ("justification", pgettext_lazy("rating field", "Why not applicable")),
    ("source_document", pgettext_lazy("rating field", "Source document")),
    ("source_reference", pgettext_lazy("rating field", "Article or section")),
    ("source_url", pgettext_lazy("rating field", "Source URL")),
    ("source_date", pgettext_lazy("rating field", "Source date")),
]


@dataclasses.dataclass
class ReviewedField:
    name: str
    label: str
    proposed: object
    reported: object
    assessed: object

    @property
    def changed(self):
        """Whether the submission proposes something other than the current self-report."""
        return self.proposed != self.reported


@dataclasses.dataclass
class ReviewItem:
    """A pending submission beside the ratings it would change."""

    submission: Submission
    reported: Rating | None
    assessed: Rating | None

    @property
    def fields(self):
        rows = []
        for name, label in REVIEWED_FIELDS:
            values = [getattr(record, name) or None if record else None for record in self._records]
            if name == "status":
                values = [_status(value) for value in values]
            # Status always shows; other fields only when one of the three has something.
            if name == "status" or any(value is not None for value in values):
                rows.append(ReviewedField(name, label, *values))
        return rows

    @property
    def _records(self):
        return (self.submission, self.reported, self.assessed)

    @property
    def changed_labels(self):
        return [_lowercase(field.label) for field in self.fields if field.changed]

    @property
    def self_report_moved(self):
        """Whether the self-report changed after the submission: accepting it would be refused."""
        version = self.reported.version if self.reported else None
        return version != self.submission.base_version


def build_review_items(submissions, *, user):
    """A ``ReviewItem`` for each of ``submissions``, with their ratings read in one query."""
    if not submissions:
        return []
    pairs = Q()
    for submission in submissions:
        pairs |= Q(state=submission.state_id, measure=submission.measure_id)
    ratings = {
        (r.state_id, r.measure_id, r.kind): r for r in Rating.objects.visible_to(user).with_version().filter(pairs)
    }
    return [
        ReviewItem(
            s,
            reported=ratings.get((s.state_id, s.measure_id, SELF_REPORTED)),
            assessed=ratings.get((s.state_id, s.measure_id, ASSESSED)),
        )
        for s in submissions
    ]


@login_required
def review_queue(request):
    """The pending submissions, oldest first, each beside the ratings it would change."""
    _require_analyst(request.user)
    filters = ReviewFilterForm(request.GET, user=request.user)
    queue = Submission.objects.visible_to(request.user).pending()
    if filters.is_valid():
        if filters.cleaned_data["region"]:
            queue = queue.filter(state__in=MemberState.objects.in_region(filters.cleaned_data["region"]))
        if filters.cleaned_data["state"]:
            queue = queue.filter(state=filters.cleaned_data["state"])
    else:
        queue = queue.none()
    queue = queue.select_related("state", "measure", "submitted_by").order_by("submitted_at", "pk")
    page = Paginator(queue, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filters": filters,
        "page": page,
        "items": build_review_items(list(page.object_list), user=request.user),
        "accept_form": AcceptForm(),
        "return_form": ReturnForm(),
        "kept": _kept_filters(request.GET),
    }
    return render(request, "implementation/review.html", context)


@login_required
@require_POST
def accept_submission(request, pk):
    _require_analyst(request.user)
    submission = _submission_or_404(request, pk)
    form = AcceptForm(request.POST)
    form.is_valid()  # Both fields are optional: it always is.
    try:
        workflow.accept(
            submission,
            by=request.user,
            note=form.cleaned_data["note"].strip(),
            update_assessed=form.cleaned_data["update_assessed"],
        )
    except ValidationError as error:
        messages.error(
            request,
            _("%(state)s's submission on %(code)s (#%(number)s) was not accepted. %(reasons)s")
            % {**_naming(submission), "reasons": " ".join(error.messages)},
        )
    else:
        if form.cleaned_data["update_assessed"]:
            message = _(
                "Accepted %(state)s's submission on %(code)s (#%(number)s): it is now the State's self-report and "
                "CTED's assessed rating."
            )
        else:
            message = _(
                "Accepted %(state)s's submission on %(code)s (#%(number)s): it is now the State's self-report."
            )
        messages.success(request, message % _naming(submission))
    return redirect(_queue_url(request.POST))


@login_required
@require_POST
def return_submission(request, pk):
    _require_analyst(request.user)
    submission = _submission_or_404(request, pk)
    form = ReturnForm(request.POST)
    not_returned = _("%(state)s's submission on %(code)s (#%(number)s) was not returned. %(reasons)s")
    if not form.is_valid():
        messages.error(request, not_returned % {**_naming(submission), "reasons": " ".join(form.errors["note"])})
        return redirect(_queue_url(request.POST))
    try:
        workflow.return_submission(submission, by=request.user, note=form.cleaned_data["note"])
    except ValidationError as error:
        messages.error(request, not_returned % {**_naming(submission), "reasons": " ".join(error.messages)})
    else:
        messages.success(
            request,
            _("Returned %(state)s's submission on %(code)s (#%(number)s) to the State with your note.")
            % _naming(submission),
        )
    return redirect(_queue_url(request.POST))


def _submission_or_404(request, pk):
    return get_object_or_404(Submission.objects.visible_to(request.user).select_related("state", "measure"), pk=pk)


def _naming(submission):
    """The placeholders that name ``submission`` in a message: "Jamaica's submission on SALW-04 (#12)"."""
    return {"state": submission.state, "code": submission.measure.code, "number": submission.pk}


def _kept_filters(data):
    return {key: data[key] for key in ("region", "state", "page") if data.get(key)}


def _queue_url(data):
    kept = _kept_filters(data)
    return reverse("review") + (f"?{urlencode(kept)}" if kept else "")


# Snapshots


def _get_snapshot_state(request, iso3):
    """The State ``iso3``: 403 for someone with no role, 404 if the reader may not read it."""
    require_role(request.user)
    return get_visible_state_or_404(request, iso3)


@login_required
def snapshots(request, iso3):
    """A State's snapshots, newest first; analysts freeze a new one here."""
    state = _get_snapshot_state(request, iso3)
    may_freeze = is_analyst(request.user)
    scoped_assessments = Assessment.objects.visible_to(request.user).filter(state=state)
    assessments = list(scoped_assessments)
    form = None
    if request.method == "POST":
        if not may_freeze:
            raise PermissionDenied(_("Only CTED analysts take snapshots."))
        form = FreezeForm(request.POST, assessments=scoped_assessments)
        if form.is_valid():
            try:
                snapshot = workflow.freeze(
                    state=state,
                    label=form.cleaned_data["label"],
                    assessment=form.cleaned_data["assessment"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_workflow_error(error)
            else:
                count = snapshot.entries.count()
                messages.success(
                    request,
                    ngettext(
                        "Froze %(count)s rating of %(state)s as “%(label)s”.",
                        "Froze %(count)s ratings of %(state)s as “%(label)s”.",
                        count,
                    )
                    % {"count": count, "state": state, "label": snapshot.label},
                )
                return redirect("snapshot", state.iso3, snapshot.pk)
    elif may_freeze:
        form = FreezeForm(assessments=scoped_assessments)
    if form is not None:
        # The choices come from the list already read for the page.
        form.fields["assessment"].choices = [("", NO_ASSESSMENT), *((a.pk, str(a)) for a in assessments)]
    shown = {assessment.pk: assessment for assessment in assessments}
    items = list(
        Snapshot.objects.visible_to(request.user)
        .filter(state=state)
        .select_related("taken_by", "edition")
        .annotate(entry_count=Count("entries"))
        .order_by("-taken_at", "-pk")
    )
    for snapshot in items:
        # A CTED-only assessment stays unnamed to whoever may not read it.
        snapshot.shown_assessment = shown.get(snapshot.assessment_id)
    context = {"state": state, "snapshots": items, "form": form}
    return render(request, "implementation/snapshots.html", context)


@dataclasses.dataclass
class SnapshotRow:
    measure: Measure
    entries: dict  # kind → SnapshotEntry

    @property
    def sides(self):
        return [
            (kind, self.entries.get(kind), _status(getattr(self.entries.get(kind), "status", None)))
            for kind in (ASSESSED, SELF_REPORTED)
        ]


@login_required
def snapshot_detail(request, iso3, pk):
    state = _get_snapshot_state(request, iso3)
    snapshot = get_object_or_404(
        Snapshot.objects.visible_to(request.user).filter(state=state).select_related("taken_by", "edition"), pk=pk
    )
    assessment = Assessment.objects.visible_to(request.user).filter(pk=snapshot.assessment_id).first()
    entries = SnapshotEntry.objects.filter(snapshot=snapshot).select_related("measure__section")
    rows = {}
    for entry in entries.order_by("measure__section__position", "measure__position", "measure__code", "kind"):
        rows.setdefault(entry.measure_id, SnapshotRow(entry.measure, {})).entries[entry.kind] = entry
    sections = {}
    for row in rows.values():
        sections.setdefault(row.measure.section, []).append(row)
    context = {"state": state, "snapshot": snapshot, "assessment": assessment, "sections": list(sections.items())}
    return render(request, "implementation/snapshot.html", context)


@dataclasses.dataclass
class ComparedSide:
    kind: Rating.Kind
    before: SnapshotEntry | None
    after: SnapshotEntry | None
    changed: bool

    @property
    def before_status(self):
        return _status(self.before.status) if self.before else None

    @property
    def after_status(self):
        return _status(self.after.status) if self.after else None

    @property
    def changed_labels(self):
        """What changed, in words: a status, an explanation, a source…"""
        if not self.changed:
            return []
        if self.before is None or self.after is None:
            if self.before is None:
                return [pgettext("snapshot change", "added")]
            return [pgettext("snapshot change", "removed")]
        return [
            str(label).lower()
            for name, label in REVIEWED_FIELDS
            if getattr(self.before, name) != getattr(self.after, name)
        ]


@login_required
def compare_snapshots(request, iso3):
    state = _get_snapshot_state(request, iso3)
    items = list(Snapshot.objects.visible_to(request.user).filter(state=state).order_by("-taken_at", "-pk"))
    data = request.GET if {"a", "b"} <= set(request.GET) else None
    if data is None and len(items) >= 2:
        # By default the latest snapshot beside the one before it.
        data = {"a": items[1].pk, "b": items[0].pk}
    form = CompareForm(data, snapshots=items)
    rows = []
    if form.is_bound and form.is_valid():
        for compared in workflow.compare_snapshots(form.cleaned_data["earlier"], form.cleaned_data["later"]):
            sides = [
                ComparedSide(kind, compared.before.get(kind), compared.after.get(kind), compared.changed(kind))
                for kind in (ASSESSED, SELF_REPORTED)
            ]
            rows.append((compared.measure, sides, any(side.changed for side in sides)))
    changed_count = sum(1 for _, _, changed in rows if changed)
    shown = [row for row in rows if row[2]] if form.is_bound and form.cleaned_data.get("changed") else rows
    context = {
        "state": state,
        "snapshots": items,
        "form": form,
        "rows": shown,
        "measure_count": len(rows),
        "changed_count": changed_count,
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "implementation/snapshot_compare.html", context, status=status)
