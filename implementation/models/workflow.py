"""Focal points' submissions, frozen snapshots of ratings and spreadsheets waiting to be confirmed."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
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


class StagedUploadQuerySet(models.QuerySet):
    def of(self, user):
        """Uploads ``user`` made: only the uploader sees a preview, and only they may confirm it."""
        return self.filter(uploaded_by=user) if user.is_authenticated else self.none()


class StagedUpload(models.Model):
    """
    An uploaded spreadsheet waiting for its uploader to confirm it: in the database because the
    preview and the confirmation may reach different workers; deleted once applied.
    """

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
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    # Each row with what it was compared with, so that confirming can refuse a row changed since.
    rows = models.JSONField(_("rows"), default=list, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

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
        ]

    def __str__(self):
        uploaded = formats.date_format(self.uploaded_at, "d M Y H:i")
        return f"{self.file_name} ({self.get_kind_display()}, {uploaded})"
