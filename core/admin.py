"""
Admin building blocks that know nothing of who may read what (``states.admin_scoping`` decides that):
one input per language for translated texts, named delete boxes, and admins that only list.
"""

from django.utils.translation import get_language_info
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline


class LanguageInputsMixin:
    """
    Marks each per-language input (``title_fr``, ``name_ar``…) with its language and
    direction, whatever the page's: Arabic is typed right to left on an English page,
    and English left to right on an Arabic one, with the right spell-checker.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        # modeltranslation's per-language fields carry the language they hold.
        language = getattr(db_field, "language", None)
        if field is not None and language is not None:
            field.widget.attrs.update(lang=language, dir="rtl" if get_language_info(language)["bidi"] else "ltr")
        return field


class TranslatedAdmin(LanguageInputsMixin, TranslationAdmin):
    """
    An admin showing a translated field as one input per language (``title [en]``,
    ``title [fr]``…); English is required, the others fall back to it while empty.

    modeltranslation's tabbed variant is not used: its tabs need jQuery UI, which it
    loads from a CDN, and pages load nothing from elsewhere (see ``SECURE_CSP``).
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
