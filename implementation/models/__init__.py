import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Case, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import TruncQuarter
from django.dispatch import receiver
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.manager import HistoricalQuerySet
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from measures.models import Measure
from states.models import STATE_LABEL, MemberState, is_analyst


class ScopedQuerySet(models.QuerySet):
    """Rows that hang off a Member State, readable by whoever may read that State."""

    def visible_to(self, user):
        """Rows of the States ``MemberState.objects.visible_to(user)`` returns."""
        return self.filter(state__in=MemberState.objects.visible_to(user))


class SharedScopedQuerySet(ScopedQuerySet):
    """Rows with a confidentiality level: CTED-only rows are for analysts alone."""

    def visible_to(self, user):
        rows = super().visible_to(user)
        if is_analyst(user):
            return rows
        return rows.exclude(confidentiality=Confidentiality.CTED_ONLY)


class SharedHistoryQuerySet(SharedScopedQuerySet, HistoricalQuerySet):
    """
    The history of a model with a confidentiality level, read by the same rule: each
    past version under the level it had when it was written, not the record's current
    one, so that text written while the record was CTED-only stays CTED-only.
    """


class Confidentiality(models.TextChoices):
    CTED_ONLY = "cted_only", _("CTED only")
    SHARED = "shared", _("Shared with the State concerned")
    PUBLIC = "public", _("Public")


def _day(value):
    """A date in a record's name, e.g. "01 May 2024", with the month in the active language."""
    return formats.date_format(value, "d M Y")


class Assessment(models.Model):
    """A CTED assessment of one State: a desk review, a visit, a workshop or a self-assessment."""

    class Kind(models.TextChoices):
        DESK_REVIEW = "desk_review", _("Desk review")
        COUNTRY_VISIT = "country_visit", _("Country visit")
        FOLLOW_UP_VISIT = "follow_up_visit", _("Follow-up visit")
        SELF_ASSESSMENT = "self_assessment", _("State self-assessment")
        WORKSHOP = "workshop", _("Workshop")

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("assessment", "Draft")
        FINAL = "final", pgettext_lazy("assessment", "Final")

    state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="assessments", verbose_name=STATE_LABEL
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    conducted_on = models.DateField(
        _("date"), help_text=_("The day of the visit, or the day the review was completed.")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assessments",
        verbose_name=_("author"),
    )
    summary = models.TextField(
        _("summary"), blank=True, help_text=_("Shared with the State. Keep CTED-only remarks in notes.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.DRAFT)
    confidentiality = models.CharField(
        _("confidentiality"),
        max_length=20,
        choices=Confidentiality,
        default=Confidentiality.CTED_ONLY,
        help_text=_("CTED only: hidden from the State and coordinators. Shared: the State's focal points see it."),
    )
    is_demo = models.BooleanField(
        _("demo data"), default=False, help_text=_("Made up by seed_demo; not a real assessment.")
    )

    objects = SharedScopedQuerySet.as_manager()
    history = HistoricalRecords(historical_queryset=SharedHistoryQuerySet)

    class Meta:
        ordering = ["-conducted_on", "state"]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        indexes = [models.Index(fields=["state", "conducted_on"], name="assessment_state_date")]

    def __str__(self):
        # Translators: e.g. "Country visit of Jamaica, 01 May 2024".
        return gettext("%(kind)s of %(state)s, %(date)s") % {
            "kind": self.get_kind_display(),
            "state": self.state,
            "date": _day(self.conducted_on),
        }


class RatingRows:
    """
    Reads shared by current ratings and their history, so that a dashboard reads
    "now" and "as of a past date" (``Rating.history.as_of(moment)``) the same way.
    """

    def visible_to(self, user):
        """Rows of the States ``MemberState.objects.visible_to(user)`` returns."""
        return self.filter(state__in=MemberState.objects.visible_to(user))

    def current_edition(self):
        """Rows of measures in the catalogue edition in force."""
        return self.filter(measure__edition__is_current=True)

    def in_states(self, states):
        return self.filter(state__in=states)


class RatingQuerySet(RatingRows, models.QuerySet):
    def with_version(self):
        """
        Annotate ``version``: the id of the rating's latest history row. Every save appends
        one, so an editor who sends back the version they loaded proves nobody saved in
        between (see ``services.save_rating``).
        """
        latest = Rating.history.filter(id=OuterRef("pk")).order_by("-history_id").values("history_id")[:1]
        return self.annotate(version=Subquery(latest))

    def with_other_status(self):
        """
        Annotate ``other_status``: the status of the other kind of rating of the same State
        and measure (the self-report beside CTED's assessment), or ``None`` if there is none.
        """
        other = Rating.objects.filter(state=OuterRef("state"), measure=OuterRef("measure")).exclude(
            kind=OuterRef("kind")
        )
        return self.annotate(other_status=Subquery(other.values("status")[:1]))

    def editable_by(self, user):
        """
        Ratings ``user`` may change directly: every rating for analysts, none for anyone
        else. A focal point's report is a submission (``workflow.submit``), which changes
        the self-report only once an analyst accepts it.
        """
        return self.visible_to(user) if is_analyst(user) else self.none()


class RatingHistoryQuerySet(RatingRows, HistoricalQuerySet):
    def with_shown_reason(self, user):
        """
        Annotate ``shown_reason``: the reason for the change as ``user`` may read it. A
        row linked to an assessment ``user`` may not read gives its reason to analysts
        alone, and a neutral text to anyone else: older reasons name that assessment
        ("Set in Country visit of Jamaica, 11 Nov 2011"), and history cannot be rewritten.
        """
        if is_analyst(user):
            return self.annotate(shown_reason=F("history_change_reason"))
        hidden = Q(assessment__isnull=False) & ~Q(assessment__in=Assessment.objects.visible_to(user))
        return self.annotate(
            shown_reason=Case(
                # Translators: in place of why a rating changed, when the change is linked to a record only CTED reads.
                When(hidden, then=Value(gettext("Set in a CTED-only record"))),
                default=F("history_change_reason"),
                output_field=models.CharField(),
            )
        )

    def score_changes_by_quarter(self):
        """
        One dict per quarter, oldest first: ``quarter`` (its first day), ``score_change``
        (how much the rows moved the sum of status scores) and ``scored_change`` (how
        many ratings they brought into, or out of, the scored statuses). Summed from the
        start, they give the mean score at the end of each quarter.
        """
        Status = Rating.Status
        # A row that kept the status adds nothing to either sum; most rows are such
        # confirmations, and a partial index (migration 0004) holds only the others.
        return (
            self.exclude(status=F("previous_status"))
            .annotate(quarter=TruncQuarter("history_date"))
            .values("quarter")
            .annotate(
                score_change=Sum(Status.score_expression("status") - Status.score_expression("previous_status")),
                scored_change=Sum(Status.scored_expression("status") - Status.scored_expression("previous_status")),
            )
            .order_by("quarter")
        )


class RatingHistoryBase(models.Model):
    """Fields that each row of a rating's history has besides a copy of the rating."""

    # The status before this change, so that a row says "from" as well as "to" by
    # itself: timelines and trends read one row, not the row before it too.
    previous_status = models.CharField(max_length=20, blank=True)

    class Meta:
        abstract = True


class RatedValues(models.Model):
    """
    What a rating says besides its status: why, and on what source. Ratings have them,
    and so do the records that carry a copy of a rating's values: a focal point's
    submission, and an entry of a frozen snapshot.
    """

    explanation = models.TextField(
        _("explanation"), blank=True, help_text=_("Why this status: what is in place and what is missing.")
    )
    justification = models.TextField(
        _("why not applicable"),
        blank=True,
        help_text=_("Required for 'Not applicable', e.g. 'No drone industry and no civil UAS market'."),
    )
    source_document = models.CharField(
        _("source document"),
        max_length=300,
        blank=True,
        help_text=_("The title of the law, report or record, e.g. 'Firearms Act 2022'."),
    )
    source_reference = models.CharField(
        _("article or section"), max_length=100, blank=True, help_text=_("Where in the document, e.g. 's. 12(3)'.")
    )
    source_url = models.URLField(_("source URL"), max_length=500, blank=True)
    source_date = models.DateField(_("source date"), null=True, blank=True)

    class Meta:
        abstract = True


class Rating(RatedValues):
    """Where one State stands on one measure, as CTED assessed it or as the State reported it."""

    class Kind(models.TextChoices):
        ASSESSED = "assessed", _("CTED assessment")
        SELF_REPORTED = "self_reported", _("State self-report")

    class Status(models.TextChoices):
        IMPLEMENTED = "implemented", _("Implemented")
        LARGELY = "largely", _("Largely implemented")
        PARTIALLY = "partially", _("Partially implemented")
        NOT_IMPLEMENTED = "not_implemented", _("Not implemented")
        NO_INFORMATION = "no_information", _("No information")
        NOT_APPLICABLE = "not_applicable", _("Not applicable")

        @property
        def score(self):
            """Progress from 0 (not implemented) to 3 (implemented); ``None`` when it does not count."""
            return _STATUS_SCORES.get(self)

        @classmethod
        def score_expression(cls, field):
            """SQL for the score of the status in ``field``: 0 to 3, and 0 where it does not count."""
            return Case(*(When(**{field: status}, then=score) for status, score in _STATUS_SCORES.items()), default=0)

        @classmethod
        def scored_expression(cls, field):
            """SQL that is 1 where the status in ``field`` counts towards a score, else 0."""
            return Case(When(**{f"{field}__in": list(_STATUS_SCORES)}, then=1), default=0)

        @property
        def counts_as_implemented(self):
            return self in (self.IMPLEMENTED, self.LARGELY)

        @property
        def abbreviation(self):
            """
            One or two characters that carry the status where a cell is too small for the label:
            lazy, like ``label``, so that it reads in the language active when it is shown.
            """
            return _STATUS_ABBREVIATIONS[self]

        @property
        def colour(self):
            """A colour-blind-safe hue (Okabe–Ito), always shown beside the label, never instead of it."""
            return _STATUS_COLOURS[self]

    state = models.ForeignKey(MemberState, on_delete=models.PROTECT, related_name="ratings", verbose_name=STATE_LABEL)
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="ratings", verbose_name=_("measure"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.NO_INFORMATION)
    # explanation, justification and the source fields come from RatedValues.
    assessment = models.ForeignKey(
        Assessment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ratings",
        verbose_name=_("assessment"),
        help_text=_("The assessment that set this rating, if any."),
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("set by"),
        help_text=_("Who last set the status; empty for reference imports."),
    )
    set_at = models.DateTimeField(_("set at"), default=timezone.now, help_text=_("When the status was last set."))
    last_confirmed_at = models.DateTimeField(
        _("last confirmed at"),
        default=timezone.now,
        help_text=_("When someone last checked that the rating still holds."),
    )

    objects = RatingQuerySet.as_manager()
    # Every save appends a row: who (history_user), when (history_date), why
    # (history_change_reason) and the full rating after the change, its source included.
    # "From" is previous_status. The rows are append-only (see migration 0002).
    history = HistoricalRecords(bases=[RatingHistoryBase], historical_queryset=RatingHistoryQuerySet)

    class Meta:
        ordering = ["state", "measure", "kind"]
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(
                fields=["state", "measure", "kind"],
                name="rating_one_per_state_measure_kind",
                violation_error_message=_("This State already has a rating of this kind for this measure."),
            ),
            models.CheckConstraint(
                condition=~Q(status="not_applicable") | ~Q(justification=""),
                name="rating_not_applicable_needs_justification",
                violation_error_message=_("Say why the measure does not apply to this State."),
            ),
            models.CheckConstraint(
                condition=Q(last_confirmed_at__gte=models.F("set_at")),
                name="rating_confirmed_after_set",
                violation_error_message=_("A rating cannot be confirmed before it was set."),
            ),
            models.CheckConstraint(
                condition=Q(kind="assessed") | Q(assessment__isnull=True),
                name="rating_only_assessed_has_assessment",
                violation_error_message=_("Only CTED's assessed rating is linked to an assessment."),
            ),
        ]

    def __str__(self):
        return f"{self.state.iso3} {self.measure.code} ({self.get_kind_display()}): {self.get_status_display()}"

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        # Remembered so that the history row of the next save can say what it changed from.
        instance._loaded_status = instance.__dict__.get("status", "")
        return instance

    @property
    def is_stale(self):
        """Whether nobody has confirmed the rating for longer than ``STALE_AFTER``."""
        return self.last_confirmed_at < timezone.now() - STALE_AFTER

    @property
    def version(self):
        """The id of the latest history row (``RatingQuerySet.with_version``), or ``None`` before the first save."""
        if "version" not in self.__dict__:
            self.__dict__["version"] = (
                self.history.order_by("-history_id").values_list("history_id", flat=True).first() if self.pk else None
            )
        return self.__dict__["version"]

    @version.setter
    def version(self, value):
        # Set by the with_version() annotation, and by a save.
        self.__dict__["version"] = value

    def latest_change(self):
        """The rating's latest history row, with who made it: what an edit conflict reports."""
        return self.history.select_related("history_user").order_by("-history_id").first()

    def is_editable_by(self, user):
        """``RatingQuerySet.editable_by`` for one rating, saved or not yet saved."""
        if self.pk:
            return Rating.objects.editable_by(user).filter(pk=self.pk).exists()
        return is_analyst(user)


# A rating nobody has confirmed for this long is flagged on the dashboards.
STALE_AFTER = dt.timedelta(days=365)


@receiver(pre_create_historical_record, sender=Rating.history.model)
def _record_previous_status(sender, instance, history_instance, **kwargs):
    history_instance.previous_status = getattr(instance, "_loaded_status", "")
    instance._loaded_status = instance.status


@receiver(post_create_historical_record, sender=Rating.history.model)
def _record_version(sender, instance, history_instance, **kwargs):
    instance.version = history_instance.history_id


_STATUS_SCORES = {
    Rating.Status.IMPLEMENTED: 3,
    Rating.Status.LARGELY: 2,
    Rating.Status.PARTIALLY: 1,
    Rating.Status.NOT_IMPLEMENTED: 0,
}
_STATUS_ABBREVIATIONS = {
    # Translators: one or two characters standing for a rating status in a small heat-map cell, always
    # shown with the full label nearby: "I" for "Implemented", "L" for "Largely implemented", "P" for
    # "Partially implemented", "N" for "Not implemented", "?" for "No information", "NA" for "Not applicable".
    Rating.Status.IMPLEMENTED: pgettext_lazy("status abbreviation", "I"),
    Rating.Status.LARGELY: pgettext_lazy("status abbreviation", "L"),
    Rating.Status.PARTIALLY: pgettext_lazy("status abbreviation", "P"),
    Rating.Status.NOT_IMPLEMENTED: pgettext_lazy("status abbreviation", "N"),
    Rating.Status.NO_INFORMATION: pgettext_lazy("status abbreviation", "?"),
    Rating.Status.NOT_APPLICABLE: pgettext_lazy("status abbreviation", "NA"),
}
_STATUS_COLOURS = {
    Rating.Status.IMPLEMENTED: "#009E73",
    Rating.Status.LARGELY: "#56B4E9",
    Rating.Status.PARTIALLY: "#E69F00",
    Rating.Status.NOT_IMPLEMENTED: "#D55E00",
    Rating.Status.NO_INFORMATION: "#BBBBBB",
    Rating.Status.NOT_APPLICABLE: "#FFFFFF",
}


class Priority(models.TextChoices):
    HIGH = "high", pgettext_lazy("priority", "High")
    MEDIUM = "medium", pgettext_lazy("priority", "Medium")
    LOW = "low", pgettext_lazy("priority", "Low")

    @classmethod
    def order_expression(cls, field="priority"):
        """SQL ranking ``field`` high first: the stored values ("high", "low", "medium") do not sort that way."""
        return Case(*(When(**{field: priority}, then=rank) for rank, priority in enumerate(cls)), default=len(cls))


class Recommendation(models.Model):
    """A recommendation CTED made to one State, tied to the measures it concerns."""

    class Status(models.TextChoices):
        # Translators: the status of a recommendation not yet acted on.
        OPEN = "open", pgettext_lazy("recommendation", "Open")
        IN_PROGRESS = "in_progress", pgettext_lazy("recommendation", "In progress")
        DONE = "done", pgettext_lazy("recommendation", "Done")

    state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="recommendations", verbose_name=STATE_LABEL
    )
    measures = models.ManyToManyField(Measure, blank=True, related_name="recommendations", verbose_name=_("measures"))
    assessment = models.ForeignKey(
        Assessment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recommendations",
        verbose_name=_("assessment"),
    )
    text = models.TextField(_("text"), help_text=_("What the State is recommended to do, as sent to the State."))
    priority = models.CharField(_("priority"), max_length=10, choices=Priority, default=Priority.MEDIUM)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.OPEN)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)

    objects = ScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["state", "status", "priority"]
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")

    def __str__(self):
        return f"{self.state.iso3}: {self.text[:60]}"


class AssistanceNeed(models.Model):
    """A technical-assistance need of one State, tied to the measures it would help implement."""

    class Kind(models.TextChoices):
        LEGISLATIVE_DRAFTING = "legislative_drafting", _("Legislative drafting")
        TRAINING = "training", _("Training")
        EQUIPMENT = "equipment", _("Equipment")
        INSTITUTIONAL = "institutional", _("Institutional support")
        OTHER = "other", pgettext_lazy("kind of assistance", "Other")

    class Status(models.TextChoices):
        IDENTIFIED = "identified", pgettext_lazy("assistance need", "Identified")
        REQUESTED = "requested", pgettext_lazy("assistance need", "Requested")
        IN_DELIVERY = "in_delivery", pgettext_lazy("assistance need", "In delivery")
        DELIVERED = "delivered", pgettext_lazy("assistance need", "Delivered")
        CLOSED = "closed", pgettext_lazy("assistance need", "Closed")

    state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="assistance_needs", verbose_name=STATE_LABEL
    )
    measures = models.ManyToManyField(Measure, blank=True, related_name="assistance_needs", verbose_name=_("measures"))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind)
    description = models.TextField(_("description"))
    priority = models.CharField(_("priority"), max_length=10, choices=Priority, default=Priority.MEDIUM)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.IDENTIFIED)
    provider = models.CharField(
        _("provider"), max_length=200, blank=True, help_text=_("Who delivers it, once matched.")
    )
    is_demo = models.BooleanField(_("demo data"), default=False)

    objects = ScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["state", "status", "priority"]
        verbose_name = _("technical-assistance need")
        verbose_name_plural = _("technical-assistance needs")

    def __str__(self):
        return f"{self.state.iso3}: {self.get_kind_display()}"


class ConfidentialNoteQuerySet(models.QuerySet):
    def visible_to(self, user):
        """CTED-only notes: analysts and administrators only, whatever else the user may read."""
        if is_analyst(user):
            return self
        return self.none()


class ConfidentialNote(models.Model):
    """A CTED-only note about a State, kept apart from everything shared with the State."""

    state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="confidential_notes", verbose_name=STATE_LABEL
    )
    measure = models.ForeignKey(
        Measure,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="confidential_notes",
        verbose_name=_("measure"),
    )
    assessment = models.ForeignKey(
        Assessment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="confidential_notes",
        verbose_name=_("assessment"),
    )
    body = models.TextField(_("note"), help_text=_("Never shown to the State or to coordinators."))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("author")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ConfidentialNoteQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("CTED-only note")
        verbose_name_plural = _("CTED-only notes")

    def __str__(self):
        return gettext("Note on %(state)s (%(date)s)") % {"state": self.state.iso3, "date": _day(self.created_at)}


class SubmissionQuerySet(ScopedQuerySet):
    def pending(self):
        return self.filter(review=Submission.Review.PENDING)


class Submission(RatedValues):
    """
    A focal point's proposed self-reported rating for one measure. It changes nothing
    until an analyst accepts it; then it becomes the State's self-report (and, if the
    analyst says so, CTED's assessed rating too). A returned submission keeps the
    analyst's note, so that the focal point can see why.
    """

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
    # The self-report's version (Rating.version) when the focal point submitted: accepting
    # is refused if someone changed the self-report since, rather than overwriting it.
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
    """
    All of one State's ratings frozen at one moment, e.g. "2025 follow-up": a cycle's
    record that later changes do not touch. Entries are written once, when it is taken.
    """

    state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="snapshots", verbose_name=STATE_LABEL
    )
    label = models.CharField(_("label"), max_length=100, help_text=_("Names the cycle, e.g. '2025 follow-up'."))
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
        return f"{self.state.iso3} {self.label} ({_day(self.taken_at)})"


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
    An uploaded spreadsheet, parsed and checked, waiting for its uploader to confirm what
    it changes (implementation/spreadsheets.py). Kept in the database, not in memory,
    because the preview and the confirmation may reach different workers; deleted once
    applied, when the submissions or the rating history record what it did.
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
    # One dict per row of the file: what it adds or changes, and what it was compared
    # with, so that confirming can refuse a row whose rating changed after the preview.
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
