from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from states.models import other_language_columns


class EditionQuerySet(models.QuerySet):
    def current(self):
        """The edition in force, or ``None`` before any catalogue is loaded."""
        return self.filter(is_current=True).first()


class Edition(models.Model):
    """One version of the guideline catalogue; the guidelines are a living document."""

    code = models.SlugField(unique=True, help_text="Short and stable, e.g. 2022-working.")
    title = models.CharField(max_length=200)
    published_on = models.DateField(null=True, blank=True)
    is_current = models.BooleanField(
        default=False, help_text="The edition that new ratings use. Exactly one edition is current."
    )
    provenance = models.TextField(
        blank=True, help_text="Where the measures come from, e.g. 'Derived from SCR 2370 and related instruments'."
    )
    previous = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="next", help_text="The edition revised."
    )

    objects = EditionQuerySet.as_manager()

    class Meta:
        ordering = ["-published_on", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=Q(is_current=True),
                name="edition_one_current",
                violation_error_message="Another edition is already current; only one can be.",
            ),
        ]

    def __str__(self):
        return self.title


class Section(models.Model):
    """A chapter of an edition, grouping related measures (e.g. 'B. SALW and ammunition')."""

    edition = models.ForeignKey(Edition, on_delete=models.PROTECT, related_name="sections")
    code = models.CharField(max_length=10, help_text="A letter or short code, e.g. B.")
    title = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the edition.")

    class Meta:
        ordering = ["edition", "position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["edition", "code"],
                name="section_code_unique_in_edition",
                violation_error_message="This edition already has a section with this code.",
            ),
        ]

    def __str__(self):
        return f"{self.code}. {self.title}"


class Instrument(models.Model):
    """An international instrument a measure draws on, such as SCR 2370 or the Arms Trade Treaty."""

    class Kind(models.TextChoices):
        RESOLUTION = "resolution", "Security Council resolution"
        TREATY = "treaty", "Treaty or convention"
        POLITICAL = "political", "Politically binding instrument"
        REGIME = "regime", "Export-control regime"
        GUIDANCE = "guidance", "Standard, guidance or good practice"
        REGIONAL = "regional", "Regional instrument"

    code = models.CharField(max_length=20, unique=True, help_text="Short code, e.g. SCR2370, ATT, FP.")
    name = models.CharField(max_length=300)
    kind = models.CharField(max_length=20, choices=Kind)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class MeasureQuerySet(models.QuerySet):
    def current(self):
        """Measures of the edition in force."""
        return self.filter(edition__is_current=True)


class Measure(models.Model):
    """A measure of the Technical Guidelines that a State can implement, in one edition of the catalogue."""

    class Domain(models.TextChoices):
        SALW = "salw", "Small arms and light weapons"
        IED = "ied", "IED components"
        UAS = "uas", "Unmanned aircraft systems"
        CROSS_CUTTING = "cross", "Cross-cutting"

    class Phase(models.TextChoices):
        UPSTREAM = "upstream", "Upstream prevention"
        DOWNSTREAM = "downstream", "Downstream response"
        BOTH = "both", "Both"

    edition = models.ForeignKey(Edition, on_delete=models.PROTECT, related_name="measures")
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="measures")
    code = models.CharField(max_length=20, help_text="Stable code, e.g. SALW-04. Keep it when the wording changes.")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    domain = models.CharField("weapon domain", max_length=10, choices=Domain)
    phase = models.CharField(max_length=10, choices=Phase)
    legislative = models.BooleanField(default=False, help_text="Calls for laws or regulations.")
    strategic = models.BooleanField(default=False, help_text="Calls for strategies, plans or institutions.")
    operational = models.BooleanField(default=False, help_text="Calls for practice on the ground.")
    instruments = models.ManyToManyField(Instrument, blank=True, related_name="measures")
    basis = models.CharField(
        max_length=200, blank=True, help_text="The provision that drives the measure, e.g. 'SCR 2370 OP12'."
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the section.")
    predecessor = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="successors",
        help_text="The same measure in the previous edition, so that ratings carry over.",
    )

    objects = MeasureQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=other_language_columns("title", "description"))

    class Meta:
        ordering = ["edition", "section__position", "position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["edition", "code"],
                name="measure_code_unique_in_edition",
                violation_error_message="This edition already has a measure with this code.",
            ),
            models.CheckConstraint(
                condition=Q(legislative=True) | Q(strategic=True) | Q(operational=True),
                name="measure_has_a_capacity",
                violation_error_message="Tick at least one capacity: legislative, strategic or operational.",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.title}"

    @property
    def capacities(self):
        """The capacity labels that apply, in the guidelines' order."""
        return [
            label
            for label, flag in (
                ("Legislative", self.legislative),
                ("Strategic", self.strategic),
                ("Operational", self.operational),
            )
            if flag
        ]

    def clean(self):
        # A measure's section must belong to its edition; this spans two tables, so the
        # database cannot check it and the services and admin form do.
        if self.section_id and self.edition_id and self.section.edition_id != self.edition_id:
            raise ValidationError({"section": "Choose a section of the same edition."})
