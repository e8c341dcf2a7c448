"""
The catalogue's texts in every language of ``settings.LANGUAGES`` (django-modeltranslation).

Each field below gains a column per language (``title_fr``…); reading ``measure.title`` gives the
reader's language, or English where no translation exists yet. ``load_reference_data`` fills them
from ``measures/data/catalogue.<language>.json``.
"""

from modeltranslation.translator import TranslationOptions, register

from .models import Edition, Instrument, Measure, Section


@register(Edition)
class EditionTranslation(TranslationOptions):
    fields = ("title", "provenance")


@register(Section)
class SectionTranslation(TranslationOptions):
    fields = ("title",)


@register(Measure)
class MeasureTranslation(TranslationOptions):
    fields = ("title", "description")


@register(Instrument)
class InstrumentTranslation(TranslationOptions):
    fields = ("name",)
