from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from modeltranslation.utils import get_translation_fields

from core.admin import TranslatedAdmin

from .admin_scoping import RegionFilter, ScopedAdmin, ScopedHistoryAdmin, ScopedInlineMixin
from .models import MemberState, Region, RegionMembership, Role, Workshop, is_analyst

admin.site.site_header = _("SCR 2370 implementation tracker")
admin.site.site_title = _("SCR 2370 implementation tracker")
admin.site.index_title = _("Data entry")


class MemberStateRegionFilter(RegionFilter):
    state_lookup = "pk"


class RegionMembershipInline(ScopedInlineMixin, admin.TabularInline):
    model = RegionMembership
    extra = 0
    autocomplete_fields = ("region",)
    fields = ("region", "joined_on", "left_on")


@admin.register(MemberState)
class MemberStateAdmin(ScopedAdmin, TranslatedAdmin):
    list_display = ("iso3", "name", "m49_region", "m49_subregion")
    list_display_links = ("iso3", "name")
    list_filter = (MemberStateRegionFilter, "m49_region")
    search_fields = (*get_translation_fields("name"), "iso3", "iso2", "m49")
    fieldsets = (
        (None, {"fields": ("name", "iso3", "iso2", "m49")}),
        (_("M49 geography"), {"fields": ("m49_region", "m49_subregion")}),
    )
    # implementation/admin.py adds the State's ratings to this page: they are not this app's.
    inlines = (RegionMembershipInline,)


class RegionMemberInline(ScopedInlineMixin, admin.TabularInline):
    model = RegionMembership
    extra = 0
    autocomplete_fields = ("state",)
    fields = ("state", "joined_on", "left_on")
    verbose_name = _("member State")
    verbose_name_plural = _("member States")

    def get_queryset(self, request):
        # A region lists only the members the user may read, like everything else.
        return (
            super()
            .get_queryset(request)
            .filter(state__in=MemberState.objects.visible_to(request.user))
            .select_related("state")
        )


@admin.register(Region)
class RegionAdmin(ScopedHistoryAdmin, TranslatedAdmin):
    readers = frozenset({Role.Kind.COORDINATOR})
    list_display = ("name", "kind", "member_count", "slug")
    list_filter = ("kind",)
    search_fields = (*get_translation_fields("name"), "slug")
    prepopulated_fields = {"slug": ("name",)}
    fields = ("name", "slug", "kind", "description")
    inlines = (RegionMemberInline,)

    def get_queryset(self, request):
        # Today's members, counted in the list's own query.
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

    @admin.display(description=_("members today"), ordering="member_count")
    def member_count(self, obj):
        return obj.member_count


@admin.register(Workshop)
class WorkshopAdmin(ScopedAdmin, TranslatedAdmin):
    readers = frozenset({Role.Kind.COORDINATOR})
    list_display = ("title", "region", "starts_on", "ends_on", "dates_approximate", "mode", "status")
    list_filter = ("status", "mode", "region")
    list_select_related = ("region",)
    search_fields = (*get_translation_fields("title"), "source")
    date_hierarchy = "starts_on"
    autocomplete_fields = ("region",)


class InForceFilter(admin.SimpleListFilter):
    title = _("in force today")
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("yes", _("In force")), ("no", _("Not in force"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.current()
        if self.value() == "no":
            return queryset.exclude(pk__in=Role.objects.current().values("pk"))
        return queryset


@admin.register(Role)
class RoleAdmin(ScopedHistoryAdmin):
    readers = frozenset()
    list_display = ("user", "kind", "state", "region", "is_alternate", "is_active", "starts_on", "ends_on", "in_force")
    list_filter = ("kind", InForceFilter, "is_active", "is_alternate", "region")
    list_select_related = ("user", "state", "region")
    search_fields = (
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        *get_translation_fields("state__name"),
    )
    autocomplete_fields = ("user", "state", "region")
    fieldsets = (
        (None, {"fields": ("user", "kind")}),
        (
            _("Scope"),
            {
                "fields": ("state", "is_alternate", "region"),
                "description": _(
                    "A focal point reports for one State; a coordinator follows one region. An analyst needs neither."
                ),
            },
        ),
        (_("Period"), {"fields": ("is_active", "starts_on", "ends_on")}),
    )
    actions = ["hand_over"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_in_force()

    # "Active" alone does not say whether a role grants anything: a ticked role may not
    # have started yet, or may have ended.
    @admin.display(description=_("in force today"), boolean=True, ordering="in_force")
    def in_force(self, obj):
        return obj.in_force

    @admin.action(description=_("Hand over a focal point's role to a successor"), permissions=["change"])
    def hand_over(self, request, queryset):
        roles = list(queryset.select_related("user", "state")[:2])
        if len(roles) != 1:
            self.message_user(request, gettext("Select exactly one focal point's role to hand over."), messages.ERROR)
            return None
        role = roles[0]
        form = HandOverForm(request.POST if "successor" in request.POST else None, leaving=role.user)
        if form.is_valid():
            try:
                successor_role = role.hand_over_to(form.cleaned_data["successor"], on=form.cleaned_data["on"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if role.is_active:
                    message = gettext(
                        "%(new_role)s from %(date)s. %(user)s keeps the role until the day before; "
                        "everything they did stays attributed to them."
                    )
                else:
                    message = gettext(
                        "%(new_role)s from %(date)s. %(user)s's role has ended; "
                        "everything they did stays attributed to them."
                    )
                values = {
                    "new_role": successor_role,
                    "date": formats.date_format(successor_role.starts_on, "d M Y"),
                    "user": role.user,
                }
                self.message_user(request, message % values, messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Hand over: %(role)s") % {"role": role},
            "opts": self.opts,
            "role": role,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/states/role/hand_over.html", context)


class HandOverForm(forms.Form):
    successor = forms.ModelChoiceField(
        queryset=None, label=_("Successor"), help_text=_("Who takes over the role, with the same State.")
    )
    on = forms.DateField(
        # Translators: the first day of the successor's role.
        label=pgettext_lazy("starting on", "From"),
        help_text=_(
            "The successor's first day, and the first day the leaver's role no longer applies. "
            "For a later date, the leaver keeps the role until then."
        ),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, leaving, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["successor"].queryset = get_user_model().objects.filter(is_active=True).exclude(pk=leaving.pk)


User = get_user_model()


class TrackerUserAdmin(UserAdmin):
    """Django's user admin, which analysts may also read so that they can look people up when giving roles."""

    # The role admin's person field searches users, and analysts hold no Django auth permissions.
    def has_module_permission(self, request):
        return is_analyst(request.user) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return is_analyst(request.user) or super().has_view_permission(request, obj)


admin.site.unregister(User)
admin.site.register(User, TrackerUserAdmin)
