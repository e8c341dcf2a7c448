from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.languages import other_language_columns


class EditionQuerySet(models.QuerySet):
    def current(self):
        """The edition in force, or ``None`` before any catalogue is loaded."""
        return self.filter(is_current=True).first()


class Edition(models.Model):
    """One version of the guideline catalogue; the guidelines are a living document."""

    code = models.SlugField(_("code"), unique=True, help_text=_("Short and stable, e.g. 2022-working."))
    title = models.CharField(_("title"), max_length=200)
    published_on = models.DateField(_("published on"), null=True, blank=True)
    is_current = models.BooleanField(
        _("current"), default=False, help_text=_("The edition that new ratings use. Exactly one edition is current.")
    )
    provenance = models.TextField(
        _("provenance"),
        blank=True,
        help_text=_("Where the measures come from, e.g. 'Derived from SCR 2370 and related instruments'."),
    )
    previous = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next",
        verbose_name=_("previous edition"),
        help_text=_("The edition revised."),
    )

    objects = EditionQuerySet.as_manager()
    # The dashboards' cache keys on each table's latest history row (implementation/caching.py).
    history = HistoricalRecords(excluded_fields=other_language_columns("title", "provenance"))

    class Meta:
        ordering = ["-published_on", "code"]
        verbose_name = _("edition")
        verbose_name_plural = _("editions")
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=Q(is_current=True),
                name="edition_one_current",
                violation_error_message=_("Another edition is already current; only one can be."),
            ),
        ]

    def __str__(self):
        return self.title


class Section(models.Model):
    """A chapter of an edition, grouping related measures (e.g. 'B. SALW and ammunition')."""

    edition = models.ForeignKey(Edition, on_delete=models.PROTECT, related_name="sections", verbose_name=_("edition"))
    code = models.CharField(_("code"), max_length=10, help_text=_("A letter or short code, e.g. B."))
    title = models.CharField(_("title"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0, help_text=_("Order within the edition."))

    # The dashboards' cache keys on each table's latest history row (implementation/caching.py).
    history = HistoricalRecords(excluded_fields=other_language_columns("title"))

    class Meta:
        ordering = ["edition", "position", "code"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        constraints = [
            models.UniqueConstraint(
                fields=["edition", "code"],
                name="section_code_unique_in_edition",
                violation_error_message=_("This edition already has a section with this code."),
            ),
        ]

    def __str__(self):
        return f"{self.code}. {self.title}"


class Instrument(models.Model):
    """An international instrument a measure draws on, such as SCR 2370 or the Arms Trade Treaty."""

    class Kind(models.TextChoices):
        RESOLUTION = "resolution", _("Security Council resolution")
        TREATY = "treaty", _("Treaty or convention")
        POLITICAL = "political", _("Politically binding instrument")
        REGIME = "regime", _("Export-control regime")
        GUIDANCE = "guidance", _("Standard, guidance or good practice")
        REGIONAL = "regional", _("Regional instrument")

    code = models.CharField(_("code"), max_length=20, unique=True, help_text=_("Short code, e.g. SCR2370, ATT, FP."))
    name = models.CharField(_("name"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)

    class Meta:
        ordering = ["code"]
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")

    def __str__(self):
        return self.code


class MeasureQuerySet(models.QuerySet):
    def current(self):
        """Measures of the edition in force."""
        return self.filter(edition__is_current=True)


class Measure(models.Model):
    """A measure of the Technical Guidelines that a State can implement, in one edition of the catalogue."""

    class Domain(models.TextChoices):
        SALW = "salw", _("Small arms and light weapons")
        IED = "ied", _("IED components")
        UAS = "uas", _("Unmanned aircraft systems")
        CROSS_CUTTING = "cross", _("Cross-cutting")

    class Phase(models.TextChoices):
        UPSTREAM = "upstream", _("Upstream prevention")
        DOWNSTREAM = "downstream", _("Downstream response")
        # Translators: a measure's phase: both upstream prevention and downstream response.
        BOTH = "both", pgettext_lazy("phase", "Both")

    edition = models.ForeignKey(Edition, on_delete=models.PROTECT, related_name="measures", verbose_name=_("edition"))
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="measures", verbose_name=_("section"))
    code = models.CharField(
        _("code"), max_length=20, help_text=_("Stable code, e.g. SALW-04. Keep it when the wording changes.")
    )
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    domain = models.CharField(_("weapon domain"), max_length=10, choices=Domain)
    phase = models.CharField(_("phase"), max_length=10, choices=Phase)
    legislative = models.BooleanField(_("legislative"), default=False, help_text=_("Calls for laws or regulations."))
    strategic = models.BooleanField(
        _("strategic"), default=False, help_text=_("Calls for strategies, plans or institutions.")
    )
    operational = models.BooleanField(
        _("operational"), default=False, help_text=_("Calls for practice on the ground.")
    )
    instruments = models.ManyToManyField(
        Instrument, blank=True, related_name="measures", verbose_name=_("instruments")
    )
    basis = models.CharField(
        _("basis"),
        max_length=200,
        blank=True,
        help_text=_("The provision that drives the measure, e.g. 'SCR 2370 OP12'."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0, help_text=_("Order within the section."))
    predecessor = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="successors",
        verbose_name=_("predecessor"),
        help_text=_("The same measure in the previous edition, so that ratings carry over."),
    )

    objects = MeasureQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=other_language_columns("title", "description"))

    class Meta:
        ordering = ["edition", "section__position", "position", "code"]
        verbose_name = _("measure")
        verbose_name_plural = _("measures")
        constraints = [
            models.UniqueConstraint(
                fields=["edition", "code"],
                name="measure_code_unique_in_edition",
                violation_error_message=_("This edition already has a measure with this code."),
            ),
            models.CheckConstraint(
                condition=Q(legislative=True) | Q(strategic=True) | Q(operational=True),
                name="measure_has_a_capacity",
                violation_error_message=_("Tick at least one capacity: legislative, strategic or operational."),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"

    @property
    def capacities(self):
        """The capacity labels that apply, in the guidelines' order, in the active language."""
        return [
            label
            for label, flag in (
                (gettext("Legislative"), self.legislative),
                (gettext("Strategic"), self.strategic),
                (gettext("Operational"), self.operational),
            )
            if flag
        ]

    def clean(self):
        # A measure's section must belong to its edition; this spans two tables, so the
        # database cannot check it and the services and admin form do.
        if self.section_id and self.edition_id and self.section.edition_id != self.edition_id:
            raise ValidationError({"section": gettext("Choose a section of the same edition.")})
