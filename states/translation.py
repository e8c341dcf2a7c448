"""
State, region and workshop names in every language of ``settings.LANGUAGES``
(django-modeltranslation), from ``states/data/names.i18n.json``; English where a name is missing.
"""

from modeltranslation.translator import TranslationOptions, register

from .models import MemberState, Region, Workshop


@register(MemberState)
class MemberStateTranslation(TranslationOptions):
    fields = ("name",)


@register(Region)
class RegionTranslation(TranslationOptions):
    fields = ("name",)


@register(Workshop)
class WorkshopTranslation(TranslationOptions):
    fields = ("title",)
