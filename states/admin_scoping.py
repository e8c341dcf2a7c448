"""
The admin's side of the access rule: ``visible_to``, ``is_analyst`` and ``role_kinds`` turned into the
``has_*_permission`` hooks. Every account is staff and Django's model permissions are not used.
"""

import dataclasses

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper
from simple_history.utils import get_history_manager_for_model

from core.admin import LabelledDeleteFormSetMixin

from .models import MemberState, Region, Role, is_analyst, role_kinds

EVERY_ROLE = frozenset(Role.Kind)


def scoped(queryset, user):
    """``queryset`` narrowed by its ``visible_to``; reference data has none and is gated by ``readers`` alone."""
    visible_to = getattr(queryset, "visible_to", None)
    return queryset if visible_to is None else visible_to(user)


def may_read(user, readers):
    """Whether ``user`` may open an admin that analysts and the roles in ``readers`` may read."""
    return is_analyst(user) or bool(role_kinds(user) & readers)


class ScopedAdminMixin:
    """
    Analysts write, the roles in ``readers`` look, anyone else does not see the admin; rows come from
    ``visible_to(user)``, and ``analyst_only_fields`` are shown to analysts only.
    """

    readers = EVERY_ROLE
    analyst_only_fields = ()

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user)

    def get_object(self, request, object_id, from_field=None):
        # An object outside the user's States must look like one that does not exist: a 404, not a redirect.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        return obj

    def is_visible(self, request, obj):
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request):
        return may_read(request.user, self.readers)

    def has_view_permission(self, request, obj=None):
        # simple-history's history view falls back to the latest historical row when get_queryset misses.
        if not may_read(request.user, self.readers):
            return False
        return obj is None or self.is_visible(request, obj)

    def has_add_permission(self, request):
        return is_analyst(request.user)

    def has_change_permission(self, request, obj=None):
        if not is_analyst(request.user):
            return False
        return obj is None or self.is_visible(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def lookup_allowed(self, lookup, value, request):
        # A field hidden from the form must not be probed through the list's filters (?assessment__id__exact=3).
        if lookup.split("__", 1)[0] in self.analyst_only_fields and not is_analyst(request.user):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self.analyst_only_fields or is_analyst(request.user):
            return fieldsets
        return [
            (title, {**options, "fields": [f for f in options["fields"] if f not in self.analyst_only_fields]})
            for title, options in fieldsets
        ]


class ScopedAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """A ModelAdmin for a model without history."""


class ScopedHistoryAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """A ModelAdmin for a model with history, whose read-only history page lists the versions the reader may read."""

    def history_view(self, request, object_id, extra_context=None):
        self._refuse_or_not_found(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._refuse_or_not_found(request, object_id)
        # History is append-only, and simple-history saves a posted form even with its Revert button hidden.
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        # simple-history finds the version by id alone: one the reader may not read (say, written while
        # the record was CTED-only) or an id that is not a number answers as one that does not exist.
        versions = self.history_visible_to(request.user)
        try:
            get_object_or_404(versions, **{self.opts.pk.attname: unquote(object_id), "history_id": version_id})
        except (ValueError, ValidationError):
            raise Http404(f"No {self.opts.verbose_name} version with this id.") from None
        return super().history_form_view(request, object_id, version_id, extra_context)

    def history_visible_to(self, user):
        return scoped(get_history_manager_for_model(self.model).all(), user)

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        # Changes are listed between neighbouring rows of this list, so a version left out lends none of its values.
        versions = super().get_history_queryset(request, history_manager, pk_name, object_id)
        return scoped(versions, request.user)

    def _refuse_or_not_found(self, request, object_id):
        # As on the change page, a record outside the reader's States answers 404 (a 403 would confirm the id);
        # analysts keep simple-history's page for deleted records, which get_object cannot find.
        if not may_read(request.user, self.readers):
            raise PermissionDenied
        if not is_analyst(request.user):
            self.get_object(request, unquote(object_id))

    def render_history_view(self, request, template, context, **kwargs):
        # A past version reads like a view-only change form; form-only fields (a change reason) have no past value.
        adminform = context.get("adminform")
        if adminform is not None:
            declared = type(adminform.form).declared_fields
            fieldsets = [
                (title, {**options, "fields": fields})
                for title, options in adminform.fieldsets
                if (fields := [f for f in options["fields"] if f not in declared])
            ]
            context["adminform"] = helpers.AdminForm(
                adminform.form, fieldsets, {}, readonly_fields=flatten_fieldsets(fieldsets), model_admin=self
            )
        return super().render_history_view(request, template, context, **kwargs)

    def get_historical_record_context_helper(self, request, historical_record):
        # The list of changes must not show what the form hides from this reader.
        if self.analyst_only_fields and not is_analyst(request.user):
            return _ChangesWithout(self.model, historical_record, hidden=self.analyst_only_fields)
        return super().get_historical_record_context_helper(request, historical_record)


class _ChangesWithout(HistoricalRecordContextHelper):
    """A history page's list of changes, leaving out the ``hidden`` fields."""

    def __init__(self, model, historical_record, *, hidden):
        super().__init__(model, historical_record)
        self.hidden = hidden

    def context_for_delta_changes(self, delta):
        kept = [change for change in delta.changes if change.field not in self.hidden]
        return super().context_for_delta_changes(dataclasses.replace(delta, changes=kept))


class ScopedInlineMixin:
    """The same rule for inlines, whose hooks receive the parent object, already checked by the parent admin."""

    readers = EVERY_ROLE

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (LabelledDeleteFormSetMixin, formset), {})

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            # A tabular inline's inputs have no <label>; a foreign key's select sits inside the admin's wrapper.
            widget = getattr(field.widget, "widget", field.widget)
            widget.attrs.setdefault("aria-label", field.label)
        return field

    def has_view_permission(self, request, obj=None):
        return may_read(request.user, self.readers)

    def has_add_permission(self, request, obj=None):
        return is_analyst(request.user)

    def has_change_permission(self, request, obj=None):
        return is_analyst(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_analyst(request.user)


class RegionFilter(admin.SimpleListFilter):
    """Rows of the States that belong to a region today."""

    title = _("region")
    parameter_name = "region"
    state_lookup = "state"  # from the listed model to its MemberState

    def lookups(self, request, model_admin):
        return list(Region.objects.values_list("slug", "name"))

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        region = Region.objects.filter(slug=self.value()).first()
        if region is None:
            return queryset.none()
        return queryset.filter(**{f"{self.state_lookup}__in": MemberState.objects.in_region(region)})
