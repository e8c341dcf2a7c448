from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, F
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from modeltranslation.utils import get_translation_fields

from core.admin import ReadOnlyAdminMixin, TranslatedAdmin, TranslatedTabularInline
from measures.models import Edition, Instrument, Measure, Section
from states import admin as states_admin
from states.admin_scoping import RegionFilter, ScopedAdmin, ScopedHistoryAdmin, ScopedInlineMixin
from states.models import MemberState

from .models import (
    Assessment,
    AssistanceNeed,
    ConfidentialNote,
    Rating,
    Recommendation,
    Snapshot,
    SnapshotEntry,
    Submission,
)
from .ratings import EditConflict, check_version, save_rating

# Rating history keeps at most this many characters of a change reason.
REASON_MAX_LENGTH = Rating.history.model._meta.get_field("history_change_reason").max_length

# The reason recorded for a rating set in an assessment's form.
SET_IN_AN_ASSESSMENT = "Set in an assessment"

COMPACT_TEXT = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 40})}}


class RatingForm(forms.ModelForm):
    change_reason = forms.CharField(
        label=_("Reason for this change"),
        max_length=REASON_MAX_LENGTH,
        help_text=_(
            "Kept in the rating's history with your name, e.g. 'Firearms Act 2024 adopted' or "
            "'Checked at the 2025 Caribbean workshop: still holds'."
        ),
    )
    # The rating's version when the form was drawn. Sent back, it tells a save that
    # nobody else saved in between; otherwise the save is refused (ratings.check_version).
    version = forms.IntegerField(label=_("version"), widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["version"].initial = self.instance.version

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk is not None:
            # The admin saves inside the transaction this check opens the lock in, so
            # nobody can save between the check and this form's save.
            try:
                check_version(self.instance, cleaned_data.get("version"))
            except EditConflict as conflict:
                self.add_error(None, conflict)
        return cleaned_data


class DivergenceFilter(admin.SimpleListFilter):
    title = _("self-report and assessment")
    parameter_name = "differs"

    def lookups(self, request, model_admin):
        return (
            # Translators: the self-reported and the assessed rating of a measure differ.
            ("yes", _("Differ")),
            ("no", _("Agree")),
            ("missing", _("Only one of the two")),
        )

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(other_status__isnull=False).exclude(other_status=F("status"))
        if self.value() == "no":
            return queryset.filter(other_status=F("status"))
        if self.value() == "missing":
            return queryset.filter(other_status__isnull=True)
        return queryset


@admin.register(Rating)
class RatingAdmin(ScopedHistoryAdmin):
    """
    Analysts change ratings here. Focal points only read them: what they report goes
    through /my-state/ or the API as a submission, and changes nothing until an analyst
    accepts it (implementation/workflow.py).
    """

    form = RatingForm
    list_display = (
        "state",
        "measure_label",
        "kind",
        "status_label",
        "differs",
        "set_by",
        "set_at",
        "last_confirmed_at",
    )
    list_filter = (
        RegionFilter,
        DivergenceFilter,
        ("measure__section", admin.RelatedOnlyFieldListFilter),
        "measure__domain",
        "status",
        "kind",
    )
    list_select_related = ("state", "measure", "set_by")
    search_fields = (
        *get_translation_fields("state__name"),
        "state__iso3",
        "measure__code",
        *get_translation_fields("measure__title"),
    )
    autocomplete_fields = ("state", "measure", "assessment")
    # A CTED-only assessment must not be named to a focal point or coordinator through
    # the rating it set.
    analyst_only_fields = ("assessment",)
    fieldsets = (
        (None, {"fields": ("state", "measure", "kind", "other_rating", "assessment")}),
        (_("Status"), {"fields": ("status", "explanation", "justification")}),
        (
            _("Source"),
            {
                "fields": ("source_document", "source_reference", "source_url", "source_date"),
                "description": _("The document that shows the status: a law, a report, a record of a visit."),
            },
        ),
        (_("Provenance"), {"fields": ("set_by", "set_at", "last_confirmed_at")}),
    )

    @admin.display(description=_("measure"), ordering="measure__code")
    def measure_label(self, obj):
        # Titles run to a hundred characters and would push the status off the screen.
        return f"{obj.measure.code} {Truncator(obj.measure.title).chars(48)}"

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj):
        status = Rating.Status(obj.status)
        return format_html(
            # An SVG swatch rather than a styled span: the pages allow no inline styles.
            '<svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="{}" stroke="#666"/>'
            "</svg> {}",
            status.colour,
            status.label,
        )

    @admin.display(description=_("other kind differs"), boolean=True)
    def differs(self, obj):
        # None (no other rating yet) shows as "unknown", not as agreement.
        if obj.other_status is None:
            return None
        return obj.other_status != obj.status

    def get_queryset(self, request):
        return super().get_queryset(request).with_other_status()

    @admin.display(description=_("the other rating of this measure"))
    def other_rating(self, obj):
        # Ratings are visible by State, whatever their kind, so whoever sees this rating
        # may see the other one: a focal point reads CTED's status beside their own.
        if obj.state_id is None or obj.measure_id is None:
            return "-"
        other = Rating.objects.filter(state=obj.state_id, measure=obj.measure_id).exclude(kind=obj.kind).first()
        if other is None:
            return gettext("None yet")
        url = reverse("admin:implementation_rating_change", args=[other.pk])
        return format_html('<a href="{}">{}: {}</a>', url, other.get_kind_display(), other.get_status_display())

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        # The reason is asked only of someone who can save; it is not a field of the
        # rating but of the history row the save appends.
        if obj is None or self.has_change_permission(request, obj):
            fieldsets = [*fieldsets, (_("This change"), {"fields": ("change_reason", "version")})]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = ["other_rating", "set_by", "set_at", "last_confirmed_at"]
        if obj is not None:
            # A rating stays one State x measure x kind; to rate another, add a rating.
            readonly += ["state", "measure", "kind"]
        return readonly

    def has_delete_permission(self, request, obj=None):
        # A rating is never deleted, by anyone: set its status instead. The database
        # refuses it too (migration 0002).
        return False

    def save_model(self, request, obj, form, change):
        # save_rating stamps who and when and appends the one history row, with the reason.
        save_rating(obj, by=request.user, reason=form.cleaned_data["change_reason"])

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        versions = super().get_history_queryset(request, history_manager, pk_name, object_id)
        return versions.with_shown_reason(request.user)

    def render_history_view(self, request, template, context, **kwargs):
        # simple-history's list prints each row's history_change_reason: print the reason
        # as this reader may read it instead (RatingHistoryQuerySet.with_shown_reason).
        # The rows are only displayed; history itself is never written to.
        for record in context.get("page_obj") or ():
            record.history_change_reason = record.shown_reason
        return super().render_history_view(request, template, context, **kwargs)


class AssessedRatingForm(forms.ModelForm):
    def clean(self):
        cleaned_data = super().clean()
        # The inline's own "assessment" field holds the assessment being edited, saved or
        # not: its State is the rating's State, and what an assessment sets is CTED's rating.
        assessment = cleaned_data.get("assessment")
        if self.instance.pk is None and assessment is not None:
            self.instance.state_id = assessment.state_id
            self.instance.kind = Rating.Kind.ASSESSED
        if self.instance.pk is not None and "measure" in self.changed_data:
            self.add_error("measure", gettext("A rating's measure cannot change; add a rating for the other measure."))
        return cleaned_data

    def validate_constraints(self):
        super().validate_constraints()
        # Django skips constraints on fields that are not inputs, and the State and kind
        # are set above rather than typed: check "one rating per State, measure and kind"
        # here, so that a clash is shown on the form instead of failing at save.
        if self.instance.state_id is None or "measure" in self.errors:
            return
        others = {field.name for field in Rating._meta.fields} - {"state", "measure", "kind"}
        try:
            self.instance.validate_constraints(exclude=others)
        except ValidationError as error:
            self.add_error(None, error)


class AssessedRatingInline(ScopedInlineMixin, admin.TabularInline):
    model = Rating
    form = AssessedRatingForm
    fields = ("measure", "status", "explanation", "justification", "source_document", "source_reference")
    autocomplete_fields = ("measure",)
    formfield_overrides = COMPACT_TEXT
    show_change_link = True
    can_delete = False
    extra = 0
    verbose_name = _("rating set in this assessment")
    verbose_name_plural = _("ratings set in this assessment")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("state", "measure")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Assessment)
class AssessmentAdmin(ScopedHistoryAdmin):
    list_display = ("state", "kind", "conducted_on", "status", "confidentiality", "author")
    list_filter = (RegionFilter, "kind", "status", "confidentiality", "is_demo")
    list_select_related = ("state", "author")
    search_fields = (*get_translation_fields("state__name"), "state__iso3", "summary")
    autocomplete_fields = ("state", "author")
    date_hierarchy = "conducted_on"
    fields = ("state", "kind", "conducted_on", "status", "confidentiality", "author", "summary", "is_demo")
    inlines = (AssessedRatingInline,)

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

    def save_formset(self, request, form, formset, change):
        if formset.model is not Rating:
            return super().save_formset(request, form, formset, change)
        # Ratings set here are saved like any other rating change: stamped, with one
        # history row each. The reason does not name the assessment: whoever reads the
        # rating's history may not read the assessment, and the row links it anyway
        # (shown to those who may). Stored in English, like a reason typed by CTED.
        for rating in formset.save(commit=False):
            save_rating(rating, by=request.user, reason=SET_IN_AN_ASSESSMENT)
        formset.save_m2m()
        return None


@admin.register(Recommendation)
class RecommendationAdmin(ScopedHistoryAdmin):
    list_display = ("state", "excerpt", "priority", "status", "due_on")
    list_filter = (RegionFilter, "status", "priority", "is_demo")
    list_select_related = ("state",)
    search_fields = ("text", *get_translation_fields("state__name"), "state__iso3")
    autocomplete_fields = ("state", "measures", "assessment")
    analyst_only_fields = ("assessment",)
    fields = ("state", "assessment", "text", "measures", "priority", "status", "due_on", "is_demo")

    @admin.display(description=_("recommendation"))
    def excerpt(self, obj):
        return Truncator(obj.text).chars(80)


@admin.register(AssistanceNeed)
class AssistanceNeedAdmin(ScopedHistoryAdmin):
    list_display = ("state", "kind", "excerpt", "priority", "status", "provider")
    list_filter = (RegionFilter, "status", "priority", "kind", "is_demo")
    list_select_related = ("state",)
    search_fields = ("description", "provider", *get_translation_fields("state__name"), "state__iso3")
    autocomplete_fields = ("state", "measures")
    fields = ("state", "kind", "description", "measures", "priority", "status", "provider", "is_demo")

    @admin.display(description=pgettext_lazy("assistance", "need"))
    def excerpt(self, obj):
        return Truncator(obj.description).chars(80)


@admin.register(ConfidentialNote)
class ConfidentialNoteAdmin(ScopedHistoryAdmin):
    readers = frozenset()
    list_display = ("state", "measure", "excerpt", "author", "created_at")
    list_filter = (RegionFilter, "created_at")
    list_select_related = ("state", "measure", "author")
    search_fields = ("body", *get_translation_fields("state__name"), "state__iso3", "measure__code")
    autocomplete_fields = ("state", "measure", "assessment")
    fields = ("state", "measure", "assessment", "body", "author", "created_at")
    readonly_fields = ("author", "created_at")

    @admin.display(description=_("note"))
    def excerpt(self, obj):
        return Truncator(obj.body).chars(80)

    def save_model(self, request, obj, form, change):
        # The author is whoever writes the note, not a choice on the form.
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdminMixin, ScopedHistoryAdmin):
    list_display = ("state", "measure", "status", "review", "submitted_by", "submitted_at", "reviewed_by", "channel")
    list_filter = (RegionFilter, "review", "channel", "status")
    list_select_related = ("state", "measure", "submitted_by", "reviewed_by")
    search_fields = (
        *get_translation_fields("state__name"),
        "state__iso3",
        "measure__code",
        "explanation",
        "review_note",
    )
    date_hierarchy = "submitted_at"
    fieldsets = (
        (None, {"fields": ("state", "measure", "channel", "submitted_by", "submitted_at", "replaces")}),
        (_("Proposed self-report"), {"fields": ("status", "explanation", "justification")}),
        (_("Source"), {"fields": ("source_document", "source_reference", "source_url", "source_date")}),
        (_("Review"), {"fields": ("review", "reviewed_by", "reviewed_at", "review_note", "assessed_updated")}),
    )


class SnapshotEntryInline(ReadOnlyAdminMixin, ScopedInlineMixin, admin.TabularInline):
    model = SnapshotEntry
    fields = ("measure", "kind", "status", "explanation", "source_document", "set_at", "last_confirmed_at")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        # Entries have no State of their own; the snapshot's admin has already scoped it.
        return SnapshotEntry.objects.select_related("measure", "snapshot__state")


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdminMixin, ScopedAdmin):
    list_display = ("state", "label", "edition", "taken_by", "taken_at")
    list_filter = (RegionFilter, "edition")
    list_select_related = ("state", "edition", "taken_by")
    search_fields = (*get_translation_fields("state__name"), "state__iso3", "label")
    fields = ("state", "label", "edition", "assessment", "taken_by", "taken_at")
    analyst_only_fields = ("assessment",)
    inlines = (SnapshotEntryInline,)


# How many ratings a State's page lists; the full list is one click away in Ratings.
LATEST_RATINGS_SHOWN = 25


def _latest_ratings_title():
    return ngettext(
        "Latest %(count)s rating set (open it to change it)",
        "Latest %(count)s ratings set (open a rating to change it)",
        LATEST_RATINGS_SHOWN,
    ) % {"count": LATEST_RATINGS_SHOWN}


class LatestRatingsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # A State has up to ~140 ratings; its page lists only the latest ones. The slice
        # is kept so that the formset's len() and indexing reuse one query.
        if not hasattr(self, "_latest"):
            self._latest = super().get_queryset()[:LATEST_RATINGS_SHOWN]
        return self._latest


# Read-only: ratings change one at a time through their own form, which records a reason.
class LatestRatingsInline(ReadOnlyAdminMixin, ScopedInlineMixin, admin.TabularInline):
    model = Rating
    formset = LatestRatingsFormSet
    verbose_name = _("recently set rating")
    # Translated when the page is drawn, in the reader's language, not once at import.
    verbose_name_plural = lazy(_latest_ratings_title, str)()
    fields = ("measure", "kind", "status", "set_at", "last_confirmed_at")
    readonly_fields = fields
    ordering = ("-set_at", "measure__code", "kind")
    show_change_link = True
    can_delete = False
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("measure", "state")


class MemberStateAdmin(states_admin.MemberStateAdmin):
    """A State's page in Data entry, with its ratings: added here, as states/ knows nothing of ratings."""

    fieldsets = (*states_admin.MemberStateAdmin.fieldsets, (_("Ratings"), {"fields": ("ratings_overview",)}))
    readonly_fields = ("ratings_overview",)
    inlines = (*states_admin.MemberStateAdmin.inlines, LatestRatingsInline)

    @admin.display(description=_("ratings"))
    def ratings_overview(self, obj):
        if obj.pk is None:
            return "-"
        counts = {
            (row["kind"], row["status"]): row["n"]
            for row in Rating.objects.filter(state=obj).values("kind", "status").annotate(n=Count("pk"))
        }
        url = reverse("admin:implementation_rating_changelist") + "?" + urlencode({"state__id__exact": obj.pk})
        lines = format_html_join(
            "",
            "<li>{}: {}</li>",
            (
                (
                    kind.label,
                    ", ".join(
                        # Translators: how many ratings have a status, e.g. "3 partially implemented".
                        gettext("%(count)s %(status)s")
                        % {"count": counts[kind, status], "status": status.label.lower()}
                        for status in Rating.Status
                        if (kind, status) in counts
                    )
                    or gettext("none yet"),
                )
                for kind in Rating.Kind
            ),
        )
        total = sum(counts.values())
        link = ngettext("Open the %(count)s rating of %(state)s", "Open all %(count)s ratings of %(state)s", total) % {
            "count": total,
            "state": obj,
        }
        return format_html('<ul>{}</ul><a href="{}">{}</a>', lines, url, link)


admin.site.unregister(MemberState)
admin.site.register(MemberState, MemberStateAdmin)


# The catalogue (measures/), registered here because its admin needs the access rule of states/.
# Every role reads it (the default ``readers``) and analysts write it; a search matches a title
# in any language.


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
