from django.contrib import admin

from states.admin_scoping import ScopedAdmin, ScopedHistoryAdmin, ScopedInlineMixin

from .models import Edition, Instrument, Measure, Section

# The catalogue is read by every role (the default ``readers``) and written by analysts.


class SectionInline(ScopedInlineMixin, admin.TabularInline):
    model = Section
    extra = 0
    fields = ("code", "title", "position")
    show_change_link = True


@admin.register(Edition)
class EditionAdmin(ScopedAdmin):
    list_display = ("code", "title", "published_on", "is_current", "previous")
    list_filter = ("is_current",)
    list_select_related = ("previous",)
    search_fields = ("code", "title")
    inlines = (SectionInline,)


@admin.register(Section)
class SectionAdmin(ScopedAdmin):
    list_display = ("code", "title", "edition", "position")
    list_filter = ("edition",)
    list_select_related = ("edition",)
    search_fields = ("code", "title")


@admin.register(Instrument)
class InstrumentAdmin(ScopedAdmin):
    list_display = ("code", "name", "kind")
    list_filter = ("kind",)
    search_fields = ("code", "name")


@admin.register(Measure)
class MeasureAdmin(ScopedHistoryAdmin):
    list_display = ("code", "title", "domain", "phase", "section", "capacity_list", "edition")
    list_display_links = ("code", "title")
    list_filter = ("edition", "section", "domain", "phase", "legislative", "strategic", "operational")
    list_select_related = ("section", "edition")
    search_fields = ("code", "title", "basis")
    autocomplete_fields = ("instruments", "predecessor")
    fieldsets = (
        (None, {"fields": ("edition", "section", "code", "title", "description", "position")}),
        ("Classification", {"fields": ("domain", "phase", "legislative", "strategic", "operational")}),
        ("Basis", {"fields": ("basis", "instruments", "predecessor")}),
    )

    @admin.display(description="capacities")
    def capacity_list(self, obj):
        return ", ".join(obj.capacities)
