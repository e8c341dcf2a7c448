"""Focal points' submissions, frozen snapshots of ratings and spreadsheets waiting to be confirmed."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core import limits
from measures.models import Measure
from states.models import STATE_LABEL, MemberState

from .assessments import Assessment
from .base import ScopedQuerySet, short_date
from .ratings import RatedValues, Rating


class SubmissionQuerySet(ScopedQuerySet):
    def pending(self):
        return self.filter(review=Submission.Review.PENDING)


class Submission(RatedValues):
    """A focal point's proposed self-report for one measure: it changes nothing until an analyst accepts it."""

    class Review(models.TextChoices):
        PENDING = "pending", _("Pending review")
        ACCEPTED = "accepted", pgettext_lazy("submission", "Accepted")
        RETURNED = "returned", pgettext_lazy("submission", "Returned")
        SUPERSEDED = "superseded", _("Replaced by a later submission")

    class Channel(models.TextChoices):
        FORM = "form", _("Web form")
        SPREADSHEET = "spreadsheet", _("Spreadsheet upload")
        API = "api", _("API")

    state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="submissions", verbose_name=STATE_LABEL
    )
    measure = models.ForeignKey(
        Measure, on_delete=models.PROTECT, related_name="submissions", verbose_name=_("measure")
    )
    status = models.CharField(_("status"), max_length=20, choices=Rating.Status)
    # The self-report's Rating.version when submitted: accepting is refused if it changed since.
    base_version = models.BigIntegerField(_("version of the self-report"), null=True, blank=True, editable=False)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel, default=Channel.FORM)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("submitted by")
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("replaces"),
        help_text=_("The pending submission for the same measure that this one replaced."),
    )
    review = models.CharField(_("review"), max_length=20, choices=Review, default=Review.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.TextField(
        _("review note"),
        blank=True,
        max_length=limits.NOTE,
        validators=limits.text(limits.NOTE),
        help_text=_("Shown to the State's focal points. Required when returning a submission."),
    )
    assessed_updated = models.BooleanField(
        _("assessment updated"), default=False, help_text=_("Whether accepting it also set CTED's assessed rating.")
    )

    objects = SubmissionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        indexes = [models.Index(fields=["review", "submitted_at"], name="submission_review_date")]
        constraints = [
            models.UniqueConstraint(
                fields=["state", "measure"],
                condition=Q(review="pending"),
                name="submission_one_pending_per_measure",
                violation_error_message=_("A submission for this measure is already waiting for review."),
            ),
            models.CheckConstraint(
                condition=~Q(status="not_applicable") | ~Q(justification=""),
                name="submission_not_applicable_needs_justification",
                violation_error_message=_("Say why the measure does not apply to this State."),
            ),
            models.CheckConstraint(
                condition=~Q(review="returned") | ~Q(review_note=""),
                name="submission_returned_needs_note",
                violation_error_message=_("Say why the submission is returned; the focal point will read it."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(review__in=["accepted", "returned"], reviewed_by__isnull=False, reviewed_at__isnull=False)
                    | Q(review__in=["pending", "superseded"], reviewed_by__isnull=True, reviewed_at__isnull=True)
                ),
                name="submission_reviewed_when_decided",
                violation_error_message=_("A decided submission names its reviewer and date; no other does."),
            ),
        ]

    def __str__(self):
        return f"{self.state.iso3} {self.measure.code}: {self.get_status_display()} ({self.get_review_display()})"

    @property
    def is_pending(self):
        return self.review == self.Review.PENDING


class Snapshot(models.Model):
    """All of one State's ratings frozen at one moment, e.g. "2025 follow-up"; written once."""

    state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="snapshots", verbose_name=STATE_LABEL
    )
    label = models.CharField(
        _("label"),
        max_length=100,
        validators=[limits.validate_text],
        help_text=_("Names the cycle, e.g. '2025 follow-up'."),
    )
    edition = models.ForeignKey(
        "measures.Edition", on_delete=models.PROTECT, related_name="+", verbose_name=_("edition")
    )
    assessment = models.ForeignKey(
        Assessment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="snapshots",
        verbose_name=_("assessment"),
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("taken by")
    )
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["state", "-taken_at"]
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["state", "label"],
                name="snapshot_label_unique_per_state",
                violation_error_message=_("This State already has a snapshot with this label."),
            ),
        ]

    def __str__(self):
        return f"{self.state.iso3} {self.label} ({short_date(self.taken_at)})"


class SnapshotEntry(RatedValues):
    """One rating as it stood when its snapshot was taken."""

    snapshot = models.ForeignKey(
        Snapshot, on_delete=models.PROTECT, related_name="entries", verbose_name=_("snapshot")
    )
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="+", verbose_name=_("measure"))
    kind = models.CharField(_("kind"), max_length=20, choices=Rating.Kind)
    status = models.CharField(_("status"), max_length=20, choices=Rating.Status)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("set by"),
    )
    set_at = models.DateTimeField(_("set at"))
    last_confirmed_at = models.DateTimeField(_("last confirmed at"))

    class Meta:
        ordering = ["snapshot", "measure", "kind"]
        verbose_name = _("snapshot entry")
        verbose_name_plural = _("snapshot entries")
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "measure", "kind"],
                name="snapshotentry_one_per_measure_kind",
                violation_error_message=_("A snapshot holds one rating of each kind per measure."),
            ),
        ]

    def __str__(self):
        return f"{self.snapshot}: {self.measure.code} ({self.get_kind_display()}) {self.get_status_display()}"


# An upload nobody confirmed, or one that finished, is deleted after this long, at the next upload of anyone; so is
# one left checking or applying by a worker that stopped.
STAGED_FOR = dt.timedelta(days=1)
# A check or an application that reported no progress for this long is said to be stalled.
STALLED_AFTER = dt.timedelta(minutes=10)


class StagedUploadQuerySet(models.QuerySet):
    def of(self, user):
        """Uploads ``user`` made: only the uploader sees a preview, and only they may confirm it."""
        return self.filter(uploaded_by=user) if user.is_authenticated else self.none()

    def listed(self):
        """Without the file's bytes and rows, for a list of uploads."""
        return self.defer("file", "rows")

    def stale(self):
        return self.filter(uploaded_at__lt=timezone.now() - STAGED_FOR)

    def receive(self, *, kind, state, file_name, content, by, language=""):
        """
        Keep an upload's ``content`` (bytes) to be checked. It replaces the uploader's earlier upload of the same kind,
        unless that one is being applied; uploads older than ``STAGED_FOR`` go too.
        """
        self.filter(uploaded_by=by, kind=kind).exclude(status=StagedUpload.Status.APPLYING).delete()
        self.stale().delete()
        return self.create(
            kind=kind, state=state, file_name=file_name[:255], file=content, uploaded_by=by, language=language
        )


class StagedUpload(models.Model):
    """
    An uploaded spreadsheet from its arrival to its application: the file until it is checked, then what it would
    change, waiting for its uploader to confirm. In the database because each step may reach a different server.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", pgettext_lazy("upload", "Waiting to be checked")
        CHECKING = "checking", pgettext_lazy("upload", "Being checked")
        READY = "ready", pgettext_lazy("upload", "Ready to confirm")
        REFUSED = "refused", pgettext_lazy("upload", "Refused")
        FAILED = "failed", pgettext_lazy("upload", "Failed")
        APPLYING = "applying", pgettext_lazy("upload", "Being applied")
        APPLIED = "applied", pgettext_lazy("upload", "Applied")

        @property
        def working(self):
            """Whether a background task is (or should be) working on it, so that its page refreshes."""
            return self in (self.RECEIVED, self.CHECKING, self.APPLYING)

        @property
        def has_file(self):
            return self in (self.RECEIVED, self.CHECKING)

    class Step(models.TextChoices):
        READING = "reading", pgettext_lazy("upload step", "Reading")
        CHECKING = "checking", pgettext_lazy("upload step", "Checking")
        COMPARING = "comparing", pgettext_lazy("upload step", "Comparing")
        APPLYING = "applying", pgettext_lazy("upload step", "Applying")

    class Kind(models.TextChoices):
        SELF_REPORT = "self_report", _("State spreadsheet (self-report)")
        ASSESSED = "assessed", _("Bulk import of CTED assessed ratings")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    state = models.ForeignKey(
        MemberState,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=STATE_LABEL,
        help_text=_("The State whose spreadsheet this is; empty for a bulk import of many States."),
    )
    file_name = models.CharField(_("file name"), max_length=255)
    # At most 5 MB (spreadsheets.MAX_UPLOAD_BYTES), in the database as the servers share no disk; emptied once read.
    file = models.BinaryField(_("file"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    # The uploader's language: the problems found, checked in the background, are written in it.
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.RECEIVED)
    step = models.CharField(_("step"), max_length=20, choices=Step, blank=True)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_total = models.PositiveIntegerField(_("rows in all"), default=0)
    # The last change of status or progress: a task silent for long has stopped.
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # Each row with what it was compared with, so that confirming can refuse a row changed since.
    rows = models.JSONField(_("rows"), default=list, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    # A refusal's first problems ({"message", "row", "column"}, as spreadsheets.Problem), and how many there were.
    problems = models.JSONField(_("problems"), default=list, blank=True)
    problem_count = models.PositiveIntegerField(_("number of problems"), default=0)
    failure = models.TextField(_("what failed"), blank=True)
    applied_count = models.PositiveIntegerField(_("rows applied"), null=True, blank=True)

    objects = StagedUploadQuerySet.as_manager()

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("uploaded spreadsheet")
        verbose_name_plural = _("uploaded spreadsheets")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="self_report", state__isnull=False) | Q(kind="assessed", state__isnull=True),
                name="stagedupload_state_matches_kind",
                violation_error_message=_("A State's spreadsheet names its State; a bulk import names none."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=["received", "checking", "ready", "refused", "failed", "applying", "applied"]),
                name="stagedupload_status_known",
                violation_error_message=_("An upload's status is one of those listed."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(status__in=["received", "checking"], file__isnull=False)
                    | (~Q(status__in=["received", "checking"]) & Q(file__isnull=True))
                ),
                name="stagedupload_file_kept_until_checked",
                violation_error_message=_("An upload keeps its file until it is checked, and not after."),
            ),
            models.CheckConstraint(
                condition=Q(rows_done__lte=F("rows_total")),
                name="stagedupload_progress_within_total",
                violation_error_message=_("An upload cannot have done more rows than it has."),
            ),
            models.CheckConstraint(
                condition=~Q(status="refused") | Q(problem_count__gt=0),
                name="stagedupload_refusal_names_problems",
                violation_error_message=_("A refused upload says what is wrong with it."),
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(failure=""),
                name="stagedupload_failure_says_what",
                violation_error_message=_("A failed upload says what failed."),
            ),
            models.CheckConstraint(
                condition=Q(status="applied", applied_count__isnull=False)
                | (~Q(status="applied") & Q(applied_count__isnull=True)),
                name="stagedupload_applied_counts_rows",
                violation_error_message=_("An applied upload says how many rows it applied; no other does."),
            ),
        ]

    def __str__(self):
        uploaded = formats.date_format(self.uploaded_at, "d M Y H:i")
        return f"{self.file_name} ({self.get_kind_display()}, {uploaded})"

    # Each step moves it from the statuses it expects, in one UPDATE: a step that finds it moved on (replaced,
    # confirmed twice, deleted) changes nothing and returns False.

    def _move(self, sources, **fields):
        fields["updated_at"] = timezone.now()
        moved = type(self).objects.filter(pk=self.pk, status__in=sources).update(**fields)
        if moved:
            for name, value in fields.items():
                setattr(self, name, value)
        return bool(moved)

    def start_checking(self):
        return self._move([self.Status.RECEIVED], status=self.Status.CHECKING, step=self.Step.READING)

    def report_progress(self, step, done, total):
        return self._move(
            [self.Status.CHECKING, self.Status.APPLYING], step=step, rows_done=min(done, total), rows_total=total
        )

    def mark_ready(self, *, rows, summary):
        return self._move(
            [self.Status.CHECKING], status=self.Status.READY, file=None, step="", rows=rows, summary=summary
        )

    def refuse(self, *, problems, count):
        """Refused while checking or applying: ``problems`` as JSON, ``count`` of them in all."""
        return self._move(
            [self.Status.CHECKING, self.Status.APPLYING],
            status=self.Status.REFUSED,
            file=None,
            problems=problems,
            problem_count=max(count, len(problems), 1),
        )

    def fail(self, message):
        return self._move(
            [self.Status.RECEIVED, self.Status.CHECKING, self.Status.APPLYING],
            status=self.Status.FAILED,
            file=None,
            failure=message,
        )

    def confirm(self):
        """Ready to applying, once: False for the second of two confirmations, or one that comes too late."""
        total = self.summary.get("added", 0) + self.summary.get("changed", 0)
        return self._move(
            [self.Status.READY], status=self.Status.APPLYING, step=self.Step.APPLYING, rows_done=0, rows_total=total
        )

    def mark_applied(self, count):
        """Applied, in the transaction that applied it."""
        return self._move([self.Status.APPLYING], status=self.Status.APPLIED, step="", applied_count=count)

    @property
    def is_working(self):
        return self.Status(self.status).working

    @property
    def is_stalled(self):
        """Working but silent for ``STALLED_AFTER``: most likely no worker is running."""
        return self.is_working and self.updated_at < timezone.now() - STALLED_AFTER

    @property
    def progress_message(self):
        """What is being done, e.g. "Checking row 8,000 of 13,703.", numbers as the reader's language writes them."""
        done = formats.number_format(self.rows_done, force_grouping=True)
        total = formats.number_format(self.rows_total, force_grouping=True)
        if self.status == self.Status.RECEIVED:
            return gettext("In the queue: the check starts as soon as a worker is free.")
        if self.status == self.Status.APPLYING:
            return ngettext("Applying %(total)s change.", "Applying %(total)s changes.", self.rows_total) % {
                "total": total
            }
        if self.step == self.Step.CHECKING and self.rows_total:
            if not self.rows_done:
                return ngettext("Checking %(total)s row.", "Checking %(total)s rows.", self.rows_total) % {
                    "total": total
                }
            return gettext("Checking row %(done)s of %(total)s.") % {"done": done, "total": total}
        if self.step == self.Step.COMPARING and self.rows_total:
            if not self.rows_done:
                return ngettext(
                    "Comparing %(total)s row with the current ratings.",
                    "Comparing %(total)s rows with the current ratings.",
                    self.rows_total,
                ) % {"total": total}
            return gettext("Comparing row %(done)s of %(total)s with the current ratings.") % {
                "done": done,
                "total": total,
            }
        return gettext("Reading the file.")
