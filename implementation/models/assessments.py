"""CTED's assessments of a State."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core import limits
from states.models import STATE_LABEL, MemberState

from .base import Confidentiality, SharedHistoryQuerySet, SharedScopedQuerySet, short_date


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
        _("summary"),
        blank=True,
        max_length=limits.NOTE,
        validators=limits.text(limits.NOTE),
        help_text=_("Shared with the State. Keep CTED-only remarks in notes."),
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
            "date": short_date(self.conducted_on),
        }
