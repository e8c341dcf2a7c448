from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from implementation.models import Rating

from .admin_scoping import RegionFilter, ScopedAdmin, ScopedHistoryAdmin, ScopedInlineMixin
from .models import MemberState, Region, RegionMembership, Role, Workshop, is_analyst

admin.site.site_header = "SCR 2370 implementation tracker"
admin.site.site_title = "SCR 2370 implementation tracker"
admin.site.index_title = "Data entry"

# How many ratings a State's page lists; the full list is one click away in Ratings.
LATEST_RATINGS_SHOWN = 25


class MemberStateRegionFilter(RegionFilter):
    state_lookup = "pk"


class RegionMembershipInline(ScopedInlineMixin, admin.TabularInline):
    model = RegionMembership
    extra = 0
    autocomplete_fields = ("region",)
    fields = ("region", "joined_on", "left_on")


class LatestRatingsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        # A State has up to ~140 ratings; its page lists only the latest ones. The slice
        # is kept so that the formset's len() and indexing reuse one query.
        if not hasattr(self, "_latest"):
            self._latest = super().get_queryset()[:LATEST_RATINGS_SHOWN]
        return self._latest


class LatestRatingsInline(ScopedInlineMixin, admin.TabularInline):
    model = Rating
    formset = LatestRatingsFormSet
    verbose_name = "recently set rating"
    verbose_name_plural = f"Latest {LATEST_RATINGS_SHOWN} ratings set (open a rating to change it)"
    fields = ("measure", "kind", "status", "set_at", "last_confirmed_at")
    readonly_fields = fields
    ordering = ("-set_at", "measure__code", "kind")
    show_change_link = True
    can_delete = False
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("measure", "state")

    # Ratings change one at a time through their own form, which records a reason.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MemberState)
class MemberStateAdmin(ScopedAdmin):
    list_display = ("iso3", "name", "m49_region", "m49_subregion")
    list_display_links = ("iso3", "name")
    list_filter = (MemberStateRegionFilter, "m49_region")
    search_fields = ("name", "iso3", "iso2", "m49")
    fieldsets = (
        (None, {"fields": ("name", "iso3", "iso2", "m49")}),
        ("M49 geography", {"fields": ("m49_region", "m49_subregion")}),
        ("Ratings", {"fields": ("ratings_overview",)}),
    )
    readonly_fields = ("ratings_overview",)
    inlines = (RegionMembershipInline, LatestRatingsInline)

    @admin.display(description="ratings")
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
                        f"{counts[kind, status]} {status.label.lower()}"
                        for status in Rating.Status
                        if (kind, status) in counts
                    )
                    or "none yet",
                )
                for kind in Rating.Kind
            ),
        )
        total = sum(counts.values())
        return format_html('<ul>{}</ul><a href="{}">Open all {} ratings of {}</a>', lines, url, total, obj)


class RegionMemberInline(ScopedInlineMixin, admin.TabularInline):
    model = RegionMembership
    extra = 0
    autocomplete_fields = ("state",)
    fields = ("state", "joined_on", "left_on")
    verbose_name = "member State"
    verbose_name_plural = "member States"

    def get_queryset(self, request):
        # A region lists only the members the user may read, like everything else.
        return (
            super()
            .get_queryset(request)
            .filter(state__in=MemberState.objects.visible_to(request.user))
            .select_related("state")
        )


@admin.register(Region)
class RegionAdmin(ScopedHistoryAdmin):
    readers = frozenset({Role.Kind.COORDINATOR})
    list_display = ("name", "kind", "member_count", "slug")
    list_filter = ("kind",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    fields = ("name", "slug", "kind", "description")
    inlines = (RegionMemberInline,)

    def get_queryset(self, request):
        # Today's members only, counted in the same query as the list (RegionMembership's
        # own current() decides who is a member).
        members = (
            RegionMembership.objects.current()
            .filter(region=OuterRef("pk"))
            .order_by()
            .values("region")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(member_count=Coalesce(Subquery(members), 0, output_field=IntegerField()))
        )

    @admin.display(description="members today", ordering="member_count")
    def member_count(self, obj):
        return obj.member_count


@admin.register(Workshop)
class WorkshopAdmin(ScopedAdmin):
    readers = frozenset({Role.Kind.COORDINATOR})
    list_display = ("title", "region", "starts_on", "ends_on", "dates_approximate", "mode", "status")
    list_filter = ("status", "mode", "region")
    list_select_related = ("region",)
    search_fields = ("title", "source")
    date_hierarchy = "starts_on"
    autocomplete_fields = ("region",)


@admin.register(Role)
class RoleAdmin(ScopedHistoryAdmin):
    readers = frozenset()
    list_display = ("user", "kind", "state", "region", "is_alternate", "is_active", "starts_on", "ends_on")
    list_filter = ("kind", "is_active", "is_alternate", "region")
    list_select_related = ("user", "state", "region")
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email", "state__name")
    autocomplete_fields = ("user", "state", "region")
    fieldsets = (
        (None, {"fields": ("user", "kind")}),
        (
            "Scope",
            {
                "fields": ("state", "is_alternate", "region"),
                "description": "A focal point reports for one State; a coordinator follows one region. "
                "An analyst needs neither.",
            },
        ),
        ("Period", {"fields": ("is_active", "starts_on", "ends_on")}),
    )
    actions = ["hand_over"]

    @admin.action(description="Hand over a focal point's role to a successor", permissions=["change"])
    def hand_over(self, request, queryset):
        roles = list(queryset.select_related("user", "state")[:2])
        if len(roles) != 1:
            self.message_user(request, "Select exactly one focal point's role to hand over.", messages.ERROR)
            return None
        role = roles[0]
        form = HandOverForm(request.POST if "successor" in request.POST else None, leaving=role.user)
        if form.is_valid():
            try:
                successor_role = role.hand_over_to(form.cleaned_data["successor"], on=form.cleaned_data["on"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    f"{successor_role} from {successor_role.starts_on:%d %b %Y}. {role.user}'s role has ended; "
                    "everything they did stays attributed to them.",
                    messages.SUCCESS,
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Hand over: {role}",
            "opts": self.opts,
            "role": role,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/states/role/hand_over.html", context)


class HandOverForm(forms.Form):
    successor = forms.ModelChoiceField(queryset=None, help_text="Who takes over the role, with the same State.")
    on = forms.DateField(
        label="From", initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, leaving, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["successor"].queryset = get_user_model().objects.filter(is_active=True).exclude(pk=leaving.pk)


User = get_user_model()


class TrackerUserAdmin(UserAdmin):
    """Django's user admin, which analysts may also read so that they can look people up when giving roles."""

    # The role admin's person field searches users; analysts assign roles without holding
    # Django's own auth permissions, so they may read (not change) accounts.
    def has_module_permission(self, request):
        return is_analyst(request.user) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return is_analyst(request.user) or super().has_view_permission(request, obj)


admin.site.unregister(User)
admin.site.register(User, TrackerUserAdmin)
