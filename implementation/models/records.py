"""What CTED follows up with a State: recommendations, technical-assistance needs and CTED-only notes."""

from django.conf import settings
from django.db import models
from django.db.models import Case, When
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core import limits
from measures.models import Measure
from states.models import STATE_LABEL, MemberState, is_analyst

from .assessments import Assessment
from .base import ScopedQuerySet, short_date


class Priority(models.TextChoices):
    HIGH = "high", pgettext_lazy("priority", "High")
    MEDIUM = "medium", pgettext_lazy("priority", "Medium")
    LOW = "low", pgettext_lazy("priority", "Low")

    @classmethod
    def order_expression(cls, field="priority"):
        """SQL ranking ``field`` high first: the stored values ("high", "low", "medium") do not sort that way."""
        return Case(*(When(**{field: priority}, then=rank) for rank, priority in enumerate(cls)), default=len(cls))


class FollowUp(models.Model):
    """What a State is to act on, tied to the measures it concerns: a recommendation or an assistance need."""

    # Their fields stay on each model: a base's fields would come first in _meta.fields, and so
    # reorder the changes the admin's history lists. State and measures differ in related_name.
    objects = ScopedQuerySet.as_manager()
    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True
        ordering = ["state", "status", "priority"]


class Recommendation(FollowUp):
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
    text = models.TextField(
        _("text"),
        max_length=limits.NOTE,
        validators=limits.text(limits.NOTE),
        help_text=_("What the State is recommended to do, as sent to the State."),
    )
    priority = models.CharField(_("priority"), max_length=10, choices=Priority, default=Priority.MEDIUM)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.OPEN)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Meta(FollowUp.Meta):
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")

    def __str__(self):
        return f"{self.state.iso3}: {self.text[:60]}"


class AssistanceNeed(FollowUp):
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
    description = models.TextField(_("description"), max_length=limits.NOTE, validators=limits.text(limits.NOTE))
    priority = models.CharField(_("priority"), max_length=10, choices=Priority, default=Priority.MEDIUM)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.IDENTIFIED)
    provider = models.CharField(
        _("provider"),
        max_length=200,
        blank=True,
        validators=[limits.validate_text],
        help_text=_("Who delivers it, once matched."),
    )
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Meta(FollowUp.Meta):
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
    body = models.TextField(
        _("note"),
        max_length=limits.NOTE,
        validators=limits.text(limits.NOTE),
        help_text=_("Never shown to the State or to coordinators."),
    )
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
        return gettext("Note on %(state)s (%(date)s)") % {
            "state": self.state.iso3,
            "date": short_date(self.created_at),
        }
