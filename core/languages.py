"""The languages of ``settings.LANGUAGES`` as django-modeltranslation stores them: one column per language."""

from django.conf import settings


def other_languages():
    """The codes of the languages other than English, which the texts are translated into."""
    return [code for code, _name in settings.LANGUAGES if code != settings.MODELTRANSLATION_DEFAULT_LANGUAGE]


def other_language_columns(*fields):
    """
    The per-language columns modeltranslation adds to ``fields`` (``name_en``…): what a copy carries over, and what
    history leaves out, since they are added after the historical model is built.
    """
    return [f"{field}_{code}" for field in fields for code, _name in settings.LANGUAGES]
