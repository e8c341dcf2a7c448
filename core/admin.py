"""Admin building blocks that know nothing of who may read what, which ``states.admin_scoping`` decides."""

from django.utils.translation import get_language_info
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline


class LanguageInputsMixin:
    """Marks each per-language input with its language and direction, whatever the page's, for typing and spelling."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        language = getattr(db_field, "language", None)
        if field is not None and language is not None:
            field.widget.attrs.update(lang=language, dir="rtl" if get_language_info(language)["bidi"] else "ltr")
        return field


class TranslatedAdmin(LanguageInputsMixin, TranslationAdmin):
    """
    One input per language for each translated field, English required. Not modeltranslation's tabs: they load
    jQuery UI from a CDN, and pages load nothing from elsewhere (``SECURE_CSP``).
    """


class TranslatedTabularInline(LanguageInputsMixin, TranslationTabularInline):
    """The same, for a tabular inline: one column per language."""


class LabelledDeleteFormSetMixin:
    """An inline formset whose "Delete" boxes are named, as the column header alone does not name them."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs.setdefault("aria-label", form.fields["DELETE"].label)


class ReadOnlyAdminMixin:
    """Records made through their own pages (the review queue, the snapshot pages): the admin only lists them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
