"""What the State-linked records share: the access rule as QuerySets, and the confidentiality levels."""

from django.db import models
from django.utils import formats
from django.utils.translation import gettext_lazy as _
from simple_history.manager import HistoricalQuerySet

from states.models import MemberState, is_analyst


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


def short_date(value):
    """A date in a record's name, e.g. "01 May 2024", with the month in the active language."""
    return formats.date_format(value, "d M Y")
