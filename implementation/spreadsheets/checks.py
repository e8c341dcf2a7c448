"""Checking the rows of a ``Sheet``: a form checks each row (``RowForm``), and a ``Problem`` for each bad cell."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, URLValidator
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import limits

from ..exports import FORMULA_PREFIXES
from ..models import Rating
from .columns import COLUMN_BY_FIELD, COLUMNS, VALUE_FIELDS, header_key, vocabulary
from .reading import Formula, Problem

# A check in the background reports its progress after this many rows: often enough to move the page it shows,
# rarely enough to cost nothing beside the checking.
PROGRESS_EVERY = 500

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d %B %Y", "%d %b %Y"]


def _status_names():
    return ", ".join(str(status.label) for status in Rating.Status)


class SourceDateField(forms.DateField):
    """A date: a date cell of a workbook, or text in one of ``DATE_FORMATS``."""

    def to_python(self, value):
        if isinstance(value, int | float) and not isinstance(value, bool):
            # A day number, as a workbook holds a date in a cell not formatted as one.
            return limits.date_from_serial(value)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date) or value in (None, ""):
            return super().to_python(value)
        try:
            if isinstance(value, str):
                return super().to_python(value)
        except ValidationError:
            pass
        # Day and month are not guessed: 05/01/2024 is 5 January in most of the world, 1 May in some.
        raise ValidationError(
            _("'%(value)s' is not a date; write it as 2024-05-01 (year-month-day).") % {"value": value}, code="invalid"
        )


def _validators(field):
    """The model's validators of ``field`` (its length and content limits), so that a row is held to the same."""
    model_field = Rating._meta.get_field(field)
    validators = list(model_field.validators)
    if model_field.max_length and not any(isinstance(v, MaxLengthValidator) for v in validators):
        validators.append(MaxLengthValidator(model_field.max_length))
    return validators


class RowForm(forms.Form):
    """One row of a spreadsheet, checked against the States, measures and ``statuses`` it may name."""

    state = forms.CharField(
        validators=[limits.validate_text],
        error_messages={"required": gettext_lazy("Give the State's ISO3 code, e.g. JAM.")},
    )
    code = forms.CharField(
        validators=[limits.validate_text],
        error_messages={"required": gettext_lazy("Give the measure's code, e.g. SALW-04.")},
    )
    # A status's label in any of the site's languages ("Largely implemented") or its code ("largely").
    status = forms.CharField(required=False, validators=[limits.validate_text])
    explanation = forms.CharField(required=False, validators=_validators("explanation"))
    justification = forms.CharField(required=False, validators=_validators("justification"))
    source_document = forms.CharField(required=False, validators=_validators("source_document"))
    source_reference = forms.CharField(required=False, validators=_validators("source_reference"))
    # forms.URLField checks the address itself: the model's URLValidator again would say so twice.
    source_url = forms.URLField(
        required=False, validators=[v for v in _validators("source_url") if not isinstance(v, URLValidator)]
    )
    source_date = SourceDateField(required=False, input_formats=DATE_FORMATS, validators=_validators("source_date"))

    def __init__(self, data, *, states, measures, statuses, for_state=None, columns=None):
        super().__init__(data)
        # The fields the file has a column for (``None``: all); one left out keeps its current value.
        self.columns = columns
        self.states = states
        self.measures = measures
        self.statuses = statuses
        self.for_state = for_state

    def check(self, data):
        """
        Whether row ``data`` is valid, leaving ``cleaned_data`` and ``errors`` as a form made for it would. One form
        checks every row of a file, so that its fields and bound fields are made once (docs/performance.md).
        """
        self.data = data
        self._errors = None
        return self.is_valid()

    def clean_state(self):
        iso3 = self.cleaned_data["state"].upper()
        state = self.states.get(iso3)
        if state is None:
            raise ValidationError(_("'%(iso3)s' is not the ISO3 code of a Member State.") % {"iso3": iso3})
        if self.for_state is not None and state != self.for_state:
            message = _(
                "%(iso3)s is %(name)s, but this file is %(file_state)s's (%(file_iso3)s). Upload another State's rows "
                "on that State's page."
            )
            raise ValidationError(
                message
                % {
                    "iso3": iso3,
                    "name": state.name,
                    "file_state": self.for_state.name,
                    "file_iso3": self.for_state.iso3,
                }
            )
        return state

    def clean_code(self):
        code = self.cleaned_data["code"]
        measure = self.measures.get(code.upper())
        if measure is None:
            raise ValidationError(
                _("'%(code)s' is not the code of a measure in the current catalogue.") % {"code": code}
            )
        return measure

    def clean_status(self):
        text = self.cleaned_data["status"]
        if not text:
            return ""
        status = self.statuses.get(header_key(text))
        if status is None:
            raise ValidationError(
                _("'%(text)s' is not a status; use one of %(statuses)s.")
                % {"text": text, "statuses": _status_names()},
                code="invalid_choice",
            )
        return status.value

    def clean(self):
        cleaned_data = super().clean()
        status = cleaned_data.get("status")
        if "status" not in self.errors and not status:
            self.add_error("status", _("Choose a status: %(statuses)s.") % {"statuses": _status_names()})
        elif self.columns is None or "justification" in self.columns:
            if message := justification_missing(cleaned_data):
                self.add_error("justification", message)
        return cleaned_data


def justification_missing(values):
    """The message for 'Not applicable' ``values`` with no justification, or ``None``."""
    if values.get("status") == Rating.Status.NOT_APPLICABLE and not (values.get("justification") or "").strip():
        message = _("'%(not_applicable)s' needs a justification: say why the measure does not apply.")
        return message % {"not_applicable": Rating.Status.NOT_APPLICABLE.label}
    return None


def check_kept(rows, *, fields):
    """
    The problems of compared ``rows`` once the columns missing from the file keep their current values: the
    row form checked only the values the file gives.
    """
    if "justification" in fields:
        return []
    header = COLUMN_BY_FIELD["justification"].header
    return [
        Problem(message, row=row["row"], column=header)
        for row in rows
        if "values" in row and (message := justification_missing(row["values"]))
    ]


def _cell_text(value):
    """A cell's value as the text a form field reads: numbers without '.0', dates as 2024-05-01."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    # The download writes text that a spreadsheet would run as a formula with a leading
    # apostrophe (exports.escape_formula); read back, it is the text without it.
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def check_rows(sheet, *, states, measures, for_state=None, progress=None):
    """
    ``(rows, blank, problems)``: the rows that say something, the number left empty, the bad cells. ``progress``, if
    given, is called as ``progress(rows done, rows in all)`` at the start and every ``PROGRESS_EVERY`` rows.
    """
    problems, checked, seen = [], [], {}
    blank = 0
    # The columns as the messages name them, in the uploader's language.
    headers = {column.field: column.header for column in COLUMNS}
    form = RowForm(
        {}, states=states, measures=measures, statuses=vocabulary().statuses, for_state=for_state, columns=sheet.fields
    )
    total = len(sheet.rows)
    for done, (number, raw) in enumerate(sheet.rows):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
        data, formulas = {}, set()
        for field, value in raw.items():
            if isinstance(value, Formula) or (sheet.file_format == "csv" and str(value or "").startswith("=")):
                formulas.add(field)
                message = _(
                    "holds a formula (%(formula)s); formulas are refused. Type the value itself, or start text that "
                    "begins with '=' with an apostrophe."
                )
                problems.append(
                    Problem(message % {"formula": Truncator(str(value)).chars(40)}, row=number, column=headers[field])
                )
                value = ""
            data[field] = value if field == "source_date" and not isinstance(value, str) else _cell_text(value)
        if not any(data.get(field) not in (None, "") for field in VALUE_FIELDS):
            # A measure left empty (as the download leaves those not yet reported) says nothing;
            # a wholly empty line is not a row at all.
            if any(data.get(field) for field in ("state", "code")):
                blank += 1
            continue
        if not form.check(data):
            for field, errors in form.errors.items():
                if field in formulas:
                    continue  # already said: the cell holds a formula
                problems.extend(Problem(error, row=number, column=headers.get(field)) for error in errors)
            continue
        values = form.cleaned_data
        key = (values["state"].pk, values["code"].pk)
        if key in seen:
            message = _("%(iso3)s %(code)s is already in row %(row)s; keep one of them.") % {
                "iso3": values["state"].iso3,
                "code": values["code"].code,
                "row": seen[key],
            }
            problems.append(Problem(message, row=number, column=headers["code"]))
            continue
        seen[key] = number
        checked.append((number, values))
    return checked, blank, problems
