"""Where each State stands on each measure: ratings, their statuses and their history."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Min, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import TruncQuarter
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.manager import HistoricalQuerySet
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record, pre_create_historical_record

from core import limits
from measures.models import Measure
from states.models import STATE_LABEL, MemberState, is_analyst

from .assessments import Assessment


class RatingRows:
    """Reads shared by ratings and their history, so that "now" and "as of a date" read alike."""

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
        """Annotate ``version``: the id of the latest history row, which every save appends (edit conflicts)."""
        latest = Rating.history.filter(id=OuterRef("pk")).order_by("-history_id").values("history_id")[:1]
        return self.annotate(version=Subquery(latest))

    def with_other_status(self):
        """Annotate ``other_status``: the other kind's status for the same State and measure, or ``None``."""
        other = Rating.objects.filter(state=OuterRef("state"), measure=OuterRef("measure")).exclude(
            kind=OuterRef("kind")
        )
        return self.annotate(other_status=Subquery(other.values("status")[:1]))

    def editable_by(self, user):
        """Ratings ``user`` may change directly: all for analysts; focal points submit (``workflow.submit``)."""
        return self.visible_to(user) if is_analyst(user) else self.none()


class RatingHistoryQuerySet(RatingRows, HistoricalQuerySet):
    def with_shown_reason(self, user):
        """
        Annotate ``shown_reason``: the change's reason, or a neutral text when it is linked to an
        assessment ``user`` may not read, since older reasons name it and history is not rewritten.
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

    def first_dates(self):
        """
        The date of each State's first row, one per State. Read from the rows that changed a status, which hold
        every rating's first row (from no status) and so each State's earliest, through the trend's index. Bound
        the dates from above only: a lower bound could cut a rating's first row off and keep a later change.
        """
        return (
            self.exclude(status=F("previous_status"))
            .order_by()
            .values("state_id")
            .annotate(first=Min("history_date"))
            .values_list("first", flat=True)
        )

    def score_changes_by_quarter(self):
        """
        Per quarter, oldest first: ``quarter``, ``score_change`` (the move in summed scores) and
        ``scored_change`` (ratings in or out of the scored statuses); their running sums give the mean.
        """
        Status = Rating.Status
        # A row that kept its status adds nothing (docs/performance.md, "The models").
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

    # So that a row says "from" as well as "to" without reading the row before it.
    previous_status = models.CharField(max_length=20, blank=True)

    class Meta:
        abstract = True


class RatedValues(models.Model):
    """What a rating says besides its status, also carried by submissions and snapshot entries."""

    explanation = models.TextField(
        _("explanation"),
        blank=True,
        max_length=limits.EXPLANATION,
        validators=limits.text(limits.EXPLANATION),
        help_text=_("Why this status: what is in place and what is missing."),
    )
    justification = models.TextField(
        _("why not applicable"),
        blank=True,
        max_length=limits.JUSTIFICATION,
        validators=limits.text(limits.JUSTIFICATION),
        help_text=_("Required for 'Not applicable', e.g. 'No drone industry and no civil UAS market'."),
    )
    source_document = models.CharField(
        _("source document"),
        max_length=limits.SOURCE_TITLE,
        blank=True,
        validators=[limits.validate_text],
        help_text=_("The title of the law, report or record, e.g. 'Firearms Act 2022'."),
    )
    source_reference = models.CharField(
        _("article or section"),
        max_length=limits.SOURCE_REFERENCE,
        blank=True,
        validators=[limits.validate_text],
        help_text=_("Where in the document, e.g. 's. 12(3)'."),
    )
    source_url = models.URLField(_("source URL"), max_length=limits.URL, blank=True, validators=[limits.validate_text])
    source_date = models.DateField(_("source date"), null=True, blank=True, validators=[limits.validate_date])

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
            """One or two characters for a cell too small for the label; lazy, like ``label``."""
            return _STATUS_ABBREVIATIONS[self]

        @property
        def colour(self):
            """A colour-blind-safe hue (Okabe–Ito), always shown beside the label, never instead of it."""
            return _STATUS_COLOURS[self]

    state = models.ForeignKey(MemberState, on_delete=models.PROTECT, related_name="ratings", verbose_name=STATE_LABEL)
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="ratings", verbose_name=_("measure"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.NO_INFORMATION)
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
    # Every save appends a row (who, when, why, the whole rating); append-only since migration 0002.
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
