"""Forms of the workflow pages; what happens to their input is decided in workflow.py."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core import limits
from states.models import MemberState, Region

from .models import Rating, Submission
from .workflow import RETURN_NEEDS_A_NOTE, SUBMITTED_FIELDS


def _constraint_message(model, name):
    return next(c.violation_error_message for c in model._meta.constraints if c.name == name)


class WorkflowErrors:
    @property
    def labels_in_error(self):
        """The labels of the fields with an error, for a summary above a long form."""
        return [field.label for field in self.visible_fields() if field.errors]

    def add_workflow_error(self, error):
        """Show a ``ValidationError`` from workflow.py beside its field, or above the form."""
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        else:
            self.add_error(None, error)


class SubmissionForm(WorkflowErrors, forms.ModelForm):
    """A proposed self-report for one measure, with the pending submission the focal point was shown."""

    # What the page showed when the form was opened: anything newer is a conflict, not overruled unread.
    replaces = forms.IntegerField(required=False, widget=forms.HiddenInput)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Submission
        fields = SUBMITTED_FIELDS
        widgets = {
            "explanation": forms.Textarea(attrs={"rows": 4}),
            "justification": forms.Textarea(attrs={"rows": 2}),
            "source_url": forms.URLInput(attrs={"placeholder": "https://"}),
            "source_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {"source_date": _("The day the document was adopted or published (YYYY-MM-DD).")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = list(Rating.Status.choices)

    def clean(self):
        cleaned = super().clean()
        # As the model's constraint, but beside the missing field.
        if cleaned.get("status") == Rating.Status.NOT_APPLICABLE and not cleaned.get("justification", "").strip():
            self.add_error(
                "justification",
                _constraint_message(Submission, "submission_not_applicable_needs_justification"),
            )
        return cleaned

    @classmethod
    def initial_from(cls, record, *, replaces, reported):
        """Initial values copied from ``record`` (a pending submission or a rating), or none."""
        initial = {"replaces": replaces.pk if replaces else None, "version": reported.version if reported else None}
        if record is not None:
            initial |= {field: getattr(record, field) for field in SUBMITTED_FIELDS}
        return initial

    @property
    def values(self):
        """The submitted values, as ``workflow.submit`` takes them."""
        return {field: self.cleaned_data[field] for field in SUBMITTED_FIELDS}


class AcceptForm(forms.Form):
    """An analyst accepts a submission."""

    update_assessed = forms.BooleanField(required=False, label=_("Also update CTED's assessed rating"))
    note = forms.CharField(
        required=False,
        label=_("Note to the State (optional)"),
        widget=forms.Textarea({"rows": 2}),
        max_length=limits.NOTE,
        validators=[limits.validate_text],
    )


class ReturnForm(forms.Form):
    """An analyst returns a submission, saying why."""

    note = forms.CharField(
        label=_("Why it is returned"),
        widget=forms.Textarea({"rows": 2}),
        max_length=limits.NOTE,
        validators=[limits.validate_text],
        error_messages={"required": RETURN_NEEDS_A_NOTE},
    )


class ReviewFilterForm(forms.Form):
    """Narrows the review queue to a region or a State."""

    region = forms.ModelChoiceField(
        Region.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label=_("All regions"),
        label=pgettext_lazy("filter", "Region"),
    )
    state = forms.ModelChoiceField(
        MemberState.objects.none(),
        to_field_name="iso3",
        required=False,
        empty_label=_("All States"),
        label=pgettext_lazy("filter", "State"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].queryset = MemberState.objects.visible_to(user).order_by("name")


# Translators: the choice of no assessment for a snapshot.
NO_ASSESSMENT = pgettext_lazy("assessment", "None")


class FreezeForm(WorkflowErrors, forms.Form):
    """An analyst freezes a State's current ratings into a snapshot."""

    label = forms.CharField(
        max_length=100,
        validators=[limits.validate_text],
        label=pgettext_lazy("snapshot", "Label"),
        help_text=_("Names the cycle, e.g. '2025 follow-up'."),
    )
    assessment = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label=pgettext_lazy("snapshot", "Assessment"),
        empty_label=NO_ASSESSMENT,
        help_text=_("The assessment this snapshot records, if any."),
    )

    def __init__(self, *args, assessments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assessment"].queryset = assessments


class CompareForm(forms.Form):
    """Two snapshots of one State to set side by side; ``snapshots`` is the list the page already has."""

    a = forms.TypedChoiceField(coerce=int, label=pgettext_lazy("snapshot", "Before"))
    b = forms.TypedChoiceField(coerce=int, label=pgettext_lazy("snapshot", "After"))
    changed = forms.BooleanField(required=False, label=_("Changed measures only"))

    def __init__(self, *args, snapshots, **kwargs):
        super().__init__(*args, **kwargs)
        self.snapshots = {snapshot.pk: snapshot for snapshot in snapshots}
        choices = [
            (s.pk, f"{s.label} ({formats.date_format(timezone.localtime(s.taken_at), 'd M Y')})") for s in snapshots
        ]
        self.fields["a"].choices = self.fields["b"].choices = choices

    def clean(self):
        cleaned = super().clean()
        if "a" in cleaned and "b" in cleaned:
            if cleaned["a"] == cleaned["b"]:
                raise ValidationError(_("Choose two different snapshots to compare."), code="same_snapshot")
            # Earlier first, whichever way round they were chosen: a revised measure is matched
            # with the one it replaced, which only works forwards.
            cleaned["earlier"], cleaned["later"] = sorted(
                (self.snapshots[cleaned["a"]], self.snapshots[cleaned["b"]]), key=lambda s: (s.taken_at, s.pk)
            )
        return cleaned
