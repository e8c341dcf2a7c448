from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from modeltranslation.utils import get_translation_fields

from core.admin import TranslatedAdmin, TranslatedTabularInline
from states.admin_scoping import ScopedAdmin, ScopedHistoryAdmin, ScopedInlineMixin

from .models import Edition, Instrument, Measure, Section

# The catalogue is read by every role (the default ``readers``) and written by analysts.
# Its texts are stored per language (translation.py): forms show one input per language,
# and a search matches a title in any of them.


class SectionInline(ScopedInlineMixin, TranslatedTabularInline):
    model = Section
    extra = 0
    fields = ("code", "title", "position")
    show_change_link = True


@admin.register(Edition)
class EditionAdmin(ScopedAdmin, TranslatedAdmin):
    list_display = ("code", "title", "published_on", "is_current", "previous")
    list_filter = ("is_current",)
    list_select_related = ("previous",)
    search_fields = ("code", *get_translation_fields("title"))
    inlines = (SectionInline,)


@admin.register(Section)
class SectionAdmin(ScopedAdmin, TranslatedAdmin):
    list_display = ("code", "title", "edition", "position")
    list_filter = ("edition",)
    list_select_related = ("edition",)
    search_fields = ("code", *get_translation_fields("title"))


@admin.register(Instrument)
class InstrumentAdmin(ScopedAdmin, TranslatedAdmin):
    list_display = ("code", "name", "kind")
    list_filter = ("kind",)
    search_fields = ("code", *get_translation_fields("name"))


@admin.register(Measure)
class MeasureAdmin(ScopedHistoryAdmin, TranslatedAdmin):
    list_display = ("code", "title", "domain", "phase", "section", "capacity_list", "edition")
    list_display_links = ("code", "title")
    list_filter = ("edition", "section", "domain", "phase", "legislative", "strategic", "operational")
    list_select_related = ("section", "edition")
    search_fields = ("code", *get_translation_fields("title"), "basis")
    autocomplete_fields = ("instruments", "predecessor")
    fieldsets = (
        (None, {"fields": ("edition", "section", "code", "title", "description", "position")}),
        (_("Classification"), {"fields": ("domain", "phase", "legislative", "strategic", "operational")}),
        (_("Basis"), {"fields": ("basis", "instruments", "predecessor")}),
    )

    @admin.display(description=_("capacities"))
    def capacity_list(self, obj):
        return ", ".join(obj.capacities)
