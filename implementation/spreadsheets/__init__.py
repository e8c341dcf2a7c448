"""
Ratings in a spreadsheet: the State's workbook that focal points fill in offline, and the
analysts' bulk import of CTED's assessed ratings.

Both read the same columns (``COLUMNS``) from an XLSX or CSV file, and go in two steps:

1. ``stage_self_report`` / ``stage_assessed`` read the file, check every row with a form
   (``RowForm``), compare it with the rating it would change, and keep the result in a
   ``StagedUpload``, so that the uploader sees exactly what will change. Nothing else is
   written. A bad file raises ``UploadRefused`` with one ``Problem`` per row and column.
2. ``apply_self_report`` / ``apply_assessed`` apply the staged rows in one transaction:
   focal points' rows become submissions (``workflow.submit``), analysts' rows assessed
   ratings with one history row each. A row whose rating changed after the preview
   refuses the whole file (``UploadRefused``), naming the row.

The bulk import does not call ``services.set_rating`` per row: a full catalogue for every
State is some 14,000 rows, to be applied in under 5 s. It writes all rows at once, on
PostgreSQL in three statements (``_write_postgresql``), elsewhere with Django's bulk
operations (``_write_orm``), and stamps who and when and writes the history rows
(``previous_status`` included) as ``services.save_rating`` does. The figures are in
docs/performance.md, "Bulk import".

django-import-export was considered and not used: its flow is built around the admin, it
saves row by row (a query or more per row, and a history row each through simple_history's
signals), which does not fit 14,000 rows in 5 s, and it knows nothing of submissions. What
is needed here (read a sheet with openpyxl or ``csv``, a form per row, a preview) is a few
hundred lines.
"""

import csv
import dataclasses
import datetime as dt
import io
import math
import zipfile
from collections import Counter

import openpyxl
from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import formats, timezone, translation
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from measures.models import Measure
from states.models import MemberState, is_analyst

from .. import workflow
from ..exports import FORMULA_PREFIXES, Column, Table, escape_formula, sheet_title
from ..models import Rating, StagedUpload, Submission
from ..ratings import REASON_MAX_LENGTH, EditConflict, write_many

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# A workbook is a zip: refuse one that would unpack to far more than a sheet of ratings.
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
# Every State × every measure is about 14,000 rows; twice that is not a file of ratings.
MAX_ROWS = 30_000
# Problems listed for a bad file; the rest are counted.
MAX_PROBLEMS_SHOWN = 200
# Rows of a preview shown on the page; all of them are in its CSV download.
PREVIEW_ROWS = 500
# A preview nobody confirmed is deleted after this long, at the next upload of anyone.
STAGED_FOR = dt.timedelta(days=1)

# The sheet an upload reads, found by this name in whatever language the workbook was
# downloaded: it is a key, like the measure codes, and is not translated.
SHEET = "Ratings"
INSTRUCTIONS_SHEET = gettext_lazy("Instructions")
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d %B %Y", "%d %b %Y"]
# What a row of the spreadsheet sets: the fields of a submission, the same as a rating's but its assessment.
VALUE_FIELDS = workflow.SUBMITTED_FIELDS


@dataclasses.dataclass(frozen=True, eq=False)
class SheetColumn:
    """
    A column of the spreadsheet: the field it fills, its header (``title``, translated), and
    other headers taken for it (``aliases``, in English, as people name the columns of their
    own files).
    """

    field: str
    title: str
    width: int
    aliases: tuple = ()
    # Filled in by the tracker for the reader's information, and ignored on upload.
    informative: bool = False

    @property
    def header(self):
        """The header in the active language, as the download writes it and messages name the column."""
        return str(self.title)

    @property
    def letter(self):
        return get_column_letter(COLUMNS.index(self) + 1)


COLUMNS = (
    SheetColumn("state", pgettext_lazy("spreadsheet column", "State"), 8, ("state iso3", "iso3", "state (iso3)")),
    SheetColumn("code", pgettext_lazy("spreadsheet column", "Code"), 11, ("measure code",)),
    SheetColumn("section", pgettext_lazy("spreadsheet column", "Section"), 22, informative=True),
    SheetColumn("title", pgettext_lazy("spreadsheet column", "Measure"), 45, ("measure title",), informative=True),
    SheetColumn("status", pgettext_lazy("spreadsheet column", "Status"), 22),
    SheetColumn("explanation", pgettext_lazy("spreadsheet column", "Explanation"), 50),
    SheetColumn("justification", pgettext_lazy("spreadsheet column", "Why not applicable"), 30, ("justification",)),
    SheetColumn("source_document", pgettext_lazy("spreadsheet column", "Source document"), 30),
    SheetColumn(
        "source_reference",
        pgettext_lazy("spreadsheet column", "Article or section"),
        16,
        ("source reference", "reference"),
    ),
    SheetColumn("source_url", pgettext_lazy("spreadsheet column", "Source URL"), 30, ("url",)),
    SheetColumn("source_date", pgettext_lazy("spreadsheet column", "Source date"), 13, ("date",)),
)
COLUMN_BY_FIELD = {column.field: column for column in COLUMNS}
REQUIRED_FIELDS = ("state", "code", "status")


def _header_key(text):
    return " ".join(str(text).lower().replace("_", " ").split())


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """What an upload reads as a column header or a status, by ``_header_key``."""

    columns: dict  # → SheetColumn
    statuses: dict  # → Rating.Status
    # Names that the translations give to two different columns or statuses: each keeps its
    # first meaning (English before the translations), and a test fails on any.
    clashes: list


def vocabulary():
    """
    The headers and status names an upload understands: the machine names (field names, the
    English aliases, status codes), then the headers and status labels in every language of
    the site, English first. A file downloaded from a page in French therefore reads the same
    when it is uploaded from a page in English, and the other way round. Built per upload: a
    few dozen look-ups in catalogues already loaded.
    """
    columns, statuses, clashes = {}, {}, []

    def add(names, name, meaning):
        key = _header_key(name)
        if key and names.setdefault(key, meaning) is not meaning:
            clashes.append(key)

    for column in COLUMNS:
        for name in (column.field, *column.aliases):
            add(columns, name, column)
    for status in Rating.Status:
        add(statuses, status.value, status)
    languages = [settings.LANGUAGE_CODE, *(code for code, _name in settings.LANGUAGES)]
    for language in dict.fromkeys(languages):
        with translation.override(language):
            for column in COLUMNS:
                add(columns, column.header, column)
            for status in Rating.Status:
                add(statuses, status.label, status)
    return Vocabulary(columns, statuses, clashes)


# Problems


@dataclasses.dataclass(frozen=True)
class Problem:
    """Why a file, or a row and column of it, cannot be used."""

    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self):
        if self.row is None:
            return str(self.message)
        if self.column:
            # Translators: a problem in an uploaded file, e.g. "Row 12, column Status: 'Mostly' is not a status".
            pattern = _("Row %(row)s, column %(column)s: %(message)s")
        else:
            pattern = _("Row %(row)s: %(message)s")
        return pattern % {"row": self.row, "column": self.column, "message": self.message}


class UploadRefused(Exception):
    """The upload cannot be applied; ``problems`` say where and why. Nothing was written."""

    def __init__(self, problems):
        self.problems = list(problems)[:MAX_PROBLEMS_SHOWN]
        self.total = len(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems[:3]))

    @property
    def more(self):
        """How many problems were found beyond those listed."""
        return self.total - len(self.problems)


# Reading a file


@dataclasses.dataclass
class Sheet:
    """The rows of an uploaded file, as raw cell values by field, before any checking."""

    file_format: str
    fields: set
    rows: list  # (row number, {field: value})
    ignored_headers: list


def read_sheet(upload):
    """
    The ``Sheet`` in ``upload`` (an uploaded file: XLSX or CSV, told apart by content, not
    by name), or ``UploadRefused`` if it is too large, of another kind, has no "Ratings"
    sheet or lacks a required column. Formula cells are marked (``Formula``) for the checks.
    """
    if upload.size > MAX_UPLOAD_BYTES:
        megabytes = math.ceil(upload.size / 1024 / 1024 * 10) / 10
        message = _("The file is %(size)s MB; the limit is %(limit)s MB.") % {
            "size": formats.number_format(megabytes, 1),
            "limit": formats.number_format(MAX_UPLOAD_BYTES // 1024 // 1024),
        }
        raise UploadRefused([Problem(message)])
    upload.seek(0)
    data = upload.read()
    if data.startswith(b"PK\x03\x04"):
        header, rows = _xlsx_rows(data)
        file_format = "xlsx"
    else:
        header, rows = _csv_rows(data)
        file_format = "csv"
    return _to_sheet(file_format, header, rows)


def _xlsx_rows(data):
    not_a_workbook = Problem(
        _(
            "The file is a zip archive but not an Excel workbook (.xlsx). Upload the workbook you downloaded, or a "
            "CSV file."
        )
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unzipped = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise UploadRefused([not_a_workbook]) from None
    if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
        raise UploadRefused([not_a_workbook])
    if unzipped > MAX_UNZIPPED_BYTES:
        message = _("The workbook unpacks to more than %(limit)s MB; it cannot be a sheet of ratings.") % {
            "limit": formats.number_format(MAX_UNZIPPED_BYTES // 1024 // 1024)
        }
        raise UploadRefused([Problem(message)])
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds (KeyError, ValueError, XML errors) for a broken file
        raise _unreadable(error) from None
    try:
        if SHEET not in workbook.sheetnames:
            found = ", ".join(f"'{name}'" for name in workbook.sheetnames)
            message = _(
                "The workbook has no sheet called '%(sheet)s' (it has %(found)s). Fill in the '%(sheet)s' sheet."
            )
            raise UploadRefused([Problem(message % {"sheet": SHEET, "found": found})])
        sheet = workbook[SHEET]
        # Some programs write a wrong size into the file; read the rows that are there.
        sheet.reset_dimensions()
        rows = []
        try:
            for number, cells in enumerate(sheet.iter_rows(min_row=1, min_col=1), start=1):
                rows.append((number, [_xlsx_value(cell) for cell in cells]))
                if len(rows) > MAX_ROWS + 1:
                    break
        except Exception as error:  # as above; defusedxml's refusal of entities among them
            raise _unreadable(error) from None
    finally:
        workbook.close()
    if not rows:
        raise UploadRefused([Problem(_("The '%(sheet)s' sheet is empty.") % {"sheet": SHEET})])
    return rows[0][1], rows[1:]


def _unreadable(error):
    message = _("The workbook could not be read (%(error)s): save it again.") % {"error": type(error).__name__}
    return UploadRefused([Problem(message)])


class Formula(str):
    """The text of a formula cell, refused wherever it is found."""


def _xlsx_value(cell):
    if cell.data_type == "f":
        return Formula(cell.value if isinstance(cell.value, str) else "=…")
    return cell.value


def _csv_rows(data):
    if data.startswith(b"%PDF"):
        raise UploadRefused([Problem(_("The file is a PDF. Upload the XLSX workbook you downloaded, or a CSV file."))])
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        message = _("The file is an old Excel (.xls) or password-protected workbook. Save it as .xlsx, unprotected.")
        raise UploadRefused([Problem(message)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRefused(
            [
                Problem(
                    # Translators: 'Excel Workbook (.xlsx)' and 'CSV UTF-8' are the names Excel gives these
                    # file types in its "Save as" dialog, in the translated Excel where it has one.
                    _(
                        "The file is neither an XLSX workbook nor a UTF-8 CSV file. In Excel, save it as "
                        "'Excel Workbook (.xlsx)' or 'CSV UTF-8'."
                    )
                )
            ]
        ) from None
    if "\x00" in text:
        raise UploadRefused([Problem(_("The file is neither an XLSX workbook nor a CSV file."))])
    first_line = text.split("\n", 1)[0]
    # Excel writes ";" between cells where the decimal separator is a comma.
    delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for number, cells in enumerate(reader, start=1):
            rows.append((number, cells))
            if len(rows) > MAX_ROWS + 1:
                break
    except csv.Error as error:
        message = _("The file could not be read as CSV (%(error)s).") % {"error": error}
        raise UploadRefused([Problem(message, row=len(rows) + 1)]) from None
    if not rows:
        raise UploadRefused([Problem(_("The file is empty."))])
    return rows[0][1], rows[1:]


def _to_sheet(file_format, header, rows):
    if len(rows) > MAX_ROWS:
        message = _("The file has more than %(limit)s rows; split it into smaller files.") % {
            "limit": formats.number_format(MAX_ROWS, force_grouping=True)
        }
        raise UploadRefused([Problem(message)])
    columns = vocabulary().columns
    positions, ignored, problems = {}, [], []
    for index, name in enumerate(header):
        if name is None or not str(name).strip():
            continue
        column = columns.get(_header_key(name))
        if column is None:
            ignored.append(str(name).strip())
        elif column.field in positions:
            message = _("The column '%(column)s' appears twice; keep one.") % {"column": column.header}
            problems.append(Problem(message, row=1))
        else:
            positions[column.field] = index
    missing = [COLUMN_BY_FIELD[field].header for field in REQUIRED_FIELDS if field not in positions]
    if missing:
        expected = ", ".join(column.header for column in COLUMNS if not column.informative)
        message = _(
            "The first row must name the columns; missing: %(missing)s. The columns are: %(expected)s (as in the "
            "downloaded workbook)."
        )
        problems.append(Problem(message % {"missing": ", ".join(missing), "expected": expected}, row=1))
    if problems:
        raise UploadRefused(problems)
    values = []
    for number, cells in rows:
        row = {
            field: (cells[index] if index < len(cells) else None)
            for field, index in positions.items()
            if not COLUMN_BY_FIELD[field].informative
        }
        values.append((number, row))
    fields = {field for field in positions if not COLUMN_BY_FIELD[field].informative}
    return Sheet(file_format, fields, values, ignored)


# Checking a row


def _status_names():
    return ", ".join(str(status.label) for status in Rating.Status)


class SharedField:
    """
    A form field that the forms of all rows share rather than copy. A form deep-copies its
    fields for each instance, and for 14,000 rows that copying took longer than the checks;
    these fields are never changed after the form class is made, so one copy serves all.
    """

    def __deepcopy__(self, memo):
        return self


class TextField(SharedField, forms.CharField):
    pass


class URLField(SharedField, forms.URLField):
    pass


class SourceDateField(SharedField, forms.DateField):
    """A date: a date cell of a workbook, or text in one of ``DATE_FORMATS``."""

    def to_python(self, value):
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


def _max_length(field):
    return Rating._meta.get_field(field).max_length


class RowForm(forms.Form):
    """
    One row of a spreadsheet. ``states`` and ``measures`` map ISO3 codes and measure codes
    to what the row may name, ``statuses`` status names (``Vocabulary.statuses``) to
    statuses; ``for_state`` limits the rows to one State.
    """

    state = TextField(error_messages={"required": gettext_lazy("Give the State's ISO3 code, e.g. JAM.")})
    code = TextField(error_messages={"required": gettext_lazy("Give the measure's code, e.g. SALW-04.")})
    # A status's label in any of the site's languages ("Largely implemented") or its code ("largely").
    status = TextField(required=False)
    explanation = TextField(required=False)
    justification = TextField(required=False)
    source_document = TextField(required=False, max_length=_max_length("source_document"))
    source_reference = TextField(required=False, max_length=_max_length("source_reference"))
    source_url = URLField(required=False, max_length=_max_length("source_url"))
    source_date = SourceDateField(required=False, input_formats=DATE_FORMATS)

    def __init__(self, data, *, states, measures, statuses, for_state=None):
        super().__init__(data)
        self.states = states
        self.measures = measures
        self.statuses = statuses
        self.for_state = for_state

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
        status = self.statuses.get(_header_key(text))
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
        elif status == Rating.Status.NOT_APPLICABLE and not cleaned_data.get("justification"):
            message = _("'%(not_applicable)s' needs a justification: say why the measure does not apply.")
            self.add_error("justification", message % {"not_applicable": Rating.Status.NOT_APPLICABLE.label})
        return cleaned_data


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


def _check_rows(sheet, *, states, measures, for_state=None):
    """
    ``(rows, blank, problems)``: the rows that say something, each ``(number, cleaned
    values)``; the number of rows left empty; and a ``Problem`` for each bad cell.
    """
    problems, checked, seen = [], [], {}
    blank = 0
    # The columns as the messages name them, in the uploader's language.
    headers = {column.field: column.header for column in COLUMNS}
    statuses = vocabulary().statuses
    for number, raw in sheet.rows:
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
        form = RowForm(data, states=states, measures=measures, statuses=statuses, for_state=for_state)
        if not form.is_valid():
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


# Comparing with what is there


UNCHANGED = "unchanged"
ADDED = "added"
CHANGED = "changed"


def _labels():
    """The value columns' headers in the active language, read once for a whole file's rows."""
    return {field: COLUMN_BY_FIELD[field].header for field in VALUE_FIELDS}


def _shown(field, value):
    # Dates stay year-month-day, as the file has them and as its instructions ask for them.
    if value is None or value == "":
        return ""
    if field == "status":
        return str(Rating.Status(value).label)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _changed_fields(seen, new):
    """The fields whose value in ``new`` differs from ``seen`` (``None``: nothing there yet, so every value given)."""
    if seen is None:
        return [field for field in VALUE_FIELDS if new[field] not in ("", None)]
    return [field for field in VALUE_FIELDS if not _same(field, seen[field], new[field])]


def _changes(row, labels):
    """
    What a staged ``row`` that adds or changes would change, as ``[column, now, from the
    file]`` per field, in the active language: worked out from the values kept in the row
    (``seen`` and ``values``) each time it is shown, so that a preview reads in the language
    of whoever reads it, whatever the language of the upload.
    """
    seen, new = row["seen"], row["values"]
    return [
        [labels[field], _shown(field, seen[field] if seen else None), _shown(field, new[field])]
        for field in _changed_fields(seen, new)
    ]


def _same(field, old, new):
    if isinstance(old, str) and isinstance(new, str):
        return old.replace("\r\n", "\n").strip() == new.strip()
    return old == new


def _compare(number, values, current, *, fields, labels):
    """
    The staged row for ``values`` (a cleaned row) against ``current`` (a rating or ``None``):
    whether it adds, changes or leaves the rating, and if it adds or changes, the values
    the preview compared it with (``seen``), the values to write and the ``changes`` as the
    uploader was shown them. A column absent from the file keeps the current value.
    """
    state, measure = values["state"], values["code"]
    new = {}
    for field in VALUE_FIELDS:
        if field in fields:
            value = values[field] or ("" if field != "source_date" else None)
        else:
            value = getattr(current, field) if current is not None else ("" if field != "source_date" else None)
        new[field] = _json(value)
    seen = _seen(current)
    if current is None:
        action = ADDED
    else:
        action = CHANGED if _changed_fields(seen, new) else UNCHANGED
    row = {
        "row": number,
        "action": action,
        "state": state.pk,
        "iso3": state.iso3,
        "measure": measure.pk,
        "code": measure.code,
        "title": measure.title,
    }
    if action != UNCHANGED:
        row.update(seen=seen, values=new)
        row["changes"] = _changes(row, labels)
    return row


def _seen(rating):
    """
    What the preview compared a row with: ``rating``'s values, or ``None`` when there was no
    rating. Confirming checks them again rather than the rating's version (its latest history
    row): that lookup, made for one rating at a time, ran for minutes over 14,000 ratings
    where PostgreSQL had no statistics yet, and it is the values that a change would overwrite.
    """
    if rating is None:
        return None
    return {field: _json(getattr(rating, field)) for field in VALUE_FIELDS}


def _json(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def _values_from(row):
    values = dict(row["values"])
    if values.get("source_date"):
        values["source_date"] = dt.date.fromisoformat(values["source_date"])
    return values


def _summary(sheet, rows, blank):
    counts = Counter(row["action"] for row in rows)
    missing = [COLUMN_BY_FIELD[f].header for f in VALUE_FIELDS if f not in sheet.fields]
    return {
        "added": counts[ADDED],
        "changed": counts[CHANGED],
        "unchanged": counts[UNCHANGED],
        "blank": blank,
        "states": len({row["state"] for row in rows}),
        "file_format": sheet.file_format,
        "ignored_columns": sheet.ignored_headers,
        "missing_columns": missing,
    }


@dataclasses.dataclass
class Preview:
    """
    What a page shows of a staged upload: the first rows that change (their ``changes`` in the
    reader's language), the first left unchanged, and the columns the file left out.
    """

    changes: list
    unchanged: list
    more_changes: int
    more_unchanged: int
    missing_columns: list


def preview(staged, limit=None):
    """The ``Preview`` of ``staged``: at most ``limit`` (``PREVIEW_ROWS``) rows of each kind, in file order."""
    limit = limit or PREVIEW_ROWS
    labels = _labels()
    changes = [row for row in staged.rows if row["action"] != UNCHANGED]
    unchanged = [row for row in staged.rows if row["action"] == UNCHANGED]
    # The summary names the columns left out as the uploader read them; shown in the reader's language.
    columns = vocabulary().columns
    missing = [
        columns[_header_key(name)].header if _header_key(name) in columns else name
        for name in staged.summary.get("missing_columns", [])
    ]
    return Preview(
        [{**row, "changes": _changes(row, labels)} for row in changes[:limit]],
        unchanged[:limit],
        max(len(changes) - limit, 0),
        max(len(unchanged) - limit, 0),
        missing,
    )


def changes_table(staged):
    """Every change ``staged`` would make, one line per row and field, as an export ``Table``."""
    labels = _labels()
    actions = {ADDED: pgettext("upload change", "added"), CHANGED: pgettext("upload change", "changed")}
    lines = (
        {**row, "field": field, "old": old, "new": new}
        for row in staged.rows
        if row["action"] != UNCHANGED
        for field, old, new in _changes(row, labels)
    )
    return Table(
        title=_("Changes in %(file)s") % {"file": staged.file_name},
        columns=[
            Column(pgettext("upload preview", "Row"), "row"),
            Column(COLUMN_BY_FIELD["state"].header, "iso3"),
            Column(COLUMN_BY_FIELD["code"].header, "code"),
            Column(COLUMN_BY_FIELD["title"].header, "title"),
            Column(_("Added or changed"), lambda line: actions[line["action"]]),
            Column(pgettext("upload preview", "Field"), "field"),
            Column(pgettext("upload preview", "Now"), "old"),
            Column(pgettext("upload preview", "From the file"), "new"),
        ],
        rows=lines,
    )


def _refuse_if(problems):
    if problems:
        problems.sort(key=lambda problem: (problem.row or 0))
        raise UploadRefused(problems)


def _stage(*, kind, state, file_name, rows, summary, by):
    # One preview per uploader and file kind: a new upload replaces the one not confirmed.
    StagedUpload.objects.filter(uploaded_by=by, kind=kind).delete()
    StagedUpload.objects.filter(uploaded_at__lt=timezone.now() - STAGED_FOR).delete()
    return StagedUpload.objects.create(
        kind=kind, state=state, file_name=file_name[:255], uploaded_by=by, rows=rows, summary=summary
    )


def _current_measures():
    return {measure.code.upper(): measure for measure in Measure.objects.current()}


# A State's spreadsheet: focal points' self-reports, as submissions


def stage_self_report(*, state, upload, by):
    """
    Read and check ``upload``, ``state``'s spreadsheet, and keep what it would submit, row
    by row, compared with the State's current self-report. Returns the ``StagedUpload``;
    raises ``UploadRefused`` for a bad file and ``PermissionDenied`` unless ``by`` is a
    focal point of ``state``.
    """
    if not workflow.may_submit(by, state):
        raise PermissionDenied(_("Only a focal point of %(state)s may upload its spreadsheet.") % {"state": state})
    sheet = read_sheet(upload)
    # Every State, so that a row of another State is named as such rather than called unknown.
    states = {member.iso3: member for member in MemberState.objects.only("iso3", "name")}
    checked, blank, problems = _check_rows(sheet, states=states, measures=_current_measures(), for_state=state)
    _refuse_if(problems)
    self_reports = {
        rating.measure_id: rating
        for rating in Rating.objects.filter(state=state, kind=Rating.Kind.SELF_REPORTED).current_edition()
    }
    pending = {
        submission.measure_id: submission
        for submission in Submission.objects.filter(state=state).pending().select_related("submitted_by")
    }
    rows, labels = [], _labels()
    for number, values in checked:
        measure = values["code"]
        current = self_reports.get(measure.pk)
        row = _compare(number, values, current, fields=sheet.fields, labels=labels)
        waiting = pending.get(measure.pk)
        if waiting is not None and row["action"] != UNCHANGED:
            new = _values_from(row)
            if all(_same(field, getattr(waiting, field), new[field]) for field in VALUE_FIELDS):
                # Already submitted as it is, and waiting for review: nothing new to send.
                row = {key: value for key, value in row.items() if key not in ("changes", "values", "seen")}
                row.update(action=UNCHANGED, already_pending=True)
            else:
                # Seen now, so replaced on confirming; one submitted after this preview is a conflict.
                row["pending"] = waiting.pk
                row["pending_by"] = waiting.submitted_by.get_full_name() or waiting.submitted_by.get_username()
        rows.append(row)
    return _stage(
        kind=StagedUpload.Kind.SELF_REPORT,
        state=state,
        file_name=upload.name,
        rows=rows,
        summary=_summary(sheet, rows, blank),
        by=by,
    )


@transaction.atomic
def apply_self_report(staged, *, by):
    """
    Submit every added or changed row of ``staged`` for review, in one transaction, and
    delete it. Returns the number of submissions. Raises ``UploadRefused`` naming the row,
    with nothing submitted, if a row's self-report or pending submission changed after
    the preview.
    """
    staged = _lock(staged)
    state = staged.state
    rows = [row for row in staged.rows if row["action"] != UNCHANGED]
    measures = Measure.objects.select_related("edition").in_bulk([row["measure"] for row in rows])
    self_reports = {
        rating.measure_id: rating
        for rating in Rating.objects.filter(
            state=state, kind=Rating.Kind.SELF_REPORTED, measure__in=list(measures)
        ).select_for_update()
    }
    for row in rows:
        current = self_reports.get(row["measure"])
        if _seen(current) != row["seen"]:
            raise UploadRefused([_changed_since(row, current)])
        try:
            workflow.submit(
                state=state,
                measure=measures[row["measure"]],
                by=by,
                channel=Submission.Channel.SPREADSHEET,
                replaces=row.get("pending"),
                **_values_from(row),
            )
        except EditConflict as conflict:
            message = _about_measure(row, " ".join(conflict.messages))
            raise UploadRefused([Problem(message, row=row["row"])]) from None
        except ValidationError as error:
            raise UploadRefused(_problems_of(row, error)) from None
    staged.delete()
    return len(rows)


def _lock(staged):
    locked = StagedUpload.objects.select_for_update().filter(pk=staged.pk).first()
    if locked is None:
        raise UploadRefused(
            [Problem(_("This upload was already applied, or replaced by a later one. Upload the file again."))]
        )
    return locked


CHANGED_SINCE = {
    # (assessed, still there): whole sentences, as "self-report" and "assessed rating" differ in gender.
    (False, True): gettext_lazy(
        "%(iso3)s %(code)s: the self-report changed after your preview (now %(status)s). Nothing was applied: upload "
        "the file again to see the current values."
    ),
    (False, False): gettext_lazy(
        "%(iso3)s %(code)s: the self-report changed after your preview. Nothing was applied: upload the file again to "
        "see the current values."
    ),
    (True, True): gettext_lazy(
        "%(iso3)s %(code)s: the assessed rating changed after your preview (now %(status)s). Nothing was applied: "
        "upload the file again to see the current values."
    ),
    (True, False): gettext_lazy(
        "%(iso3)s %(code)s: the assessed rating changed after your preview. Nothing was applied: upload the file "
        "again to see the current values."
    ),
}


def _changed_since(row, current, *, assessed=False):
    message = CHANGED_SINCE[assessed, current is not None] % {
        "iso3": row["iso3"],
        "code": row["code"],
        "status": current.get_status_display() if current is not None else "",
    }
    return Problem(message, row=row["row"])


def _about_measure(row, message):
    # Translators: a problem with one measure of an uploaded file, e.g. "SALW-04: the self-report changed".
    return _("%(code)s: %(message)s") % {"code": row["code"], "message": message}


def _problems_of(row, error):
    if not hasattr(error, "error_dict"):
        return [Problem(_about_measure(row, message), row=row["row"]) for message in error.messages]
    headers = {column.field: column.header for column in COLUMNS}
    return [
        Problem(message, row=row["row"], column=headers.get(field))
        for field, messages in error.message_dict.items()
        for message in messages
    ]


# The bulk import: CTED's assessed ratings, many States at once


def stage_assessed(*, upload, by):
    """
    Read and check ``upload``, a file of assessed ratings of any States, and keep what it
    would set, row by row, compared with CTED's current assessed ratings. Returns the
    ``StagedUpload``; raises ``UploadRefused`` for a bad file.
    """
    sheet = read_sheet(upload)
    states = {state.iso3: state for state in MemberState.objects.only("iso3", "name")}
    checked, blank, problems = _check_rows(sheet, states=states, measures=_current_measures())
    _refuse_if(problems)
    state_ids = {values["state"].pk for _, values in checked}
    ratings = {
        (rating.state_id, rating.measure_id): rating
        for rating in Rating.objects.filter(kind=Rating.Kind.ASSESSED, state__in=state_ids).current_edition()
    }
    rows, labels = [], _labels()
    for number, values in checked:
        current = ratings.get((values["state"].pk, values["code"].pk))
        rows.append(_compare(number, values, current, fields=sheet.fields, labels=labels))
    return _stage(
        kind=StagedUpload.Kind.ASSESSED,
        state=None,
        file_name=upload.name,
        rows=rows,
        summary=_summary(sheet, rows, blank),
        by=by,
    )


@transaction.atomic
def apply_assessed(staged, *, by, at=None):
    """
    Set CTED's assessed rating for every added or changed row of ``staged``, with one
    history row each ("Bulk import <file name>"), in one transaction and a fixed number of
    queries per thousand rows, and delete it. Returns the number of ratings set. Raises
    ``UploadRefused`` naming the rows, with nothing set, if any of their ratings changed
    after the preview, and ``PermissionDenied`` unless ``by`` is an analyst.
    """
    # ratings.write_many checks no permission: the whole file is the analyst's.
    if not is_analyst(by):
        raise PermissionDenied(_("Only CTED analysts import assessed ratings."))
    staged = _lock(staged)
    at = at or timezone.now()
    rows = [row for row in staged.rows if row["action"] != UNCHANGED]
    if not rows:
        staged.delete()
        return 0
    # State and measure ids rather than a join, so that only ratings are locked.
    current = {
        (rating.state_id, rating.measure_id): rating
        for rating in Rating.objects.select_for_update().filter(
            kind=Rating.Kind.ASSESSED,
            state_id__in={row["state"] for row in rows},
            measure_id__in={row["measure"] for row in rows},
        )
    }
    conflicts, changes = [], []
    for row in rows:
        rating = current.get((row["state"], row["measure"]))
        if _seen(rating) != row["seen"]:
            conflicts.append(_changed_since(row, rating, assessed=True))
            continue
        changes.append((rating, row["state"], row["measure"], _values_from(row)))
    if conflicts:
        raise UploadRefused(conflicts)

    reason = Truncator(f"Bulk import {staged.file_name}").chars(REASON_MAX_LENGTH)
    try:
        write_many(changes, kind=Rating.Kind.ASSESSED, by=by, at=at, reason=reason)
    except IntegrityError as error:
        # A row the checks above let through and the database refused, e.g. an assessed
        # rating of the same measure created by someone else since the lock was taken.
        message = _("The database refused the import, and nothing was applied: %(error)s") % {"error": error}
        raise UploadRefused([Problem(message)]) from None
    staged.delete()
    return len(rows)


# The State's workbook


GREY = PatternFill("solid", fgColor="E7E6E6")
LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")


def workbook_for(state):
    """
    ``state``'s spreadsheet as XLSX bytes: a "Ratings" sheet with a row for each measure of
    the current catalogue, filled with the State's self-report, and an "Instructions" sheet.
    The measure columns are grey and locked; the status column has a drop-down list.
    """
    measures = Measure.objects.current().select_related("section").order_by("section__position", "position", "code")
    reports = {
        rating.measure_id: rating
        for rating in Rating.objects.filter(state=state, kind=Rating.Kind.SELF_REPORTED).current_edition()
    }
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append([column.header for column in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = GREY
        cell.protection = LOCKED
    for measure in measures:
        rating = reports.get(measure.pk)
        sheet.append([_xlsx_text(value) for value in _workbook_row(state, measure, rating)])
    last = sheet.max_row
    for column in COLUMNS:
        sheet.column_dimensions[column.letter].width = column.width
        editable = column.field not in ("state", "code") and not column.informative
        for (cell,) in sheet.iter_rows(min_row=2, max_row=max(last, 2), min_col=COLUMNS.index(column) + 1,
                                       max_col=COLUMNS.index(column) + 1):  # fmt: skip
            cell.protection = UNLOCKED if editable else LOCKED
            cell.alignment = WRAP if column.width >= 30 else TOP
            if not editable:
                cell.fill = GREY
            if column.field == "source_date":
                cell.number_format = "yyyy-mm-dd"
    not_applicable = Rating.Status.NOT_APPLICABLE.label
    statuses = DataValidation(
        type="list",
        formula1=status_list_formula(),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=_validation_text(_("Not a status"), TITLE_MAX),
        error=_validation_text(_("Choose a status from the list."), MESSAGE_MAX),
        showInputMessage=True,
        promptTitle=_validation_text(COLUMN_BY_FIELD["status"].header, TITLE_MAX),
        prompt=_validation_text(
            _("Choose from the list. '%(not_applicable)s' needs a justification.")
            % {"not_applicable": not_applicable},
            MESSAGE_MAX,
        ),
    )
    sheet.add_data_validation(statuses)
    statuses.add(f"{COLUMN_BY_FIELD['status'].letter}2:{COLUMN_BY_FIELD['status'].letter}{max(last, 2)}")
    dates = DataValidation(
        type="date",
        operator="greaterThan",
        formula1="1",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=_validation_text(_("Not a date"), TITLE_MAX),
        error=_validation_text(_("Type a date as 2024-05-01 (year-month-day)."), MESSAGE_MAX),
    )
    sheet.add_data_validation(dates)
    dates.add(f"{COLUMN_BY_FIELD['source_date'].letter}2:{COLUMN_BY_FIELD['source_date'].letter}{max(last, 2)}")
    sheet.freeze_panes = "C2"
    # Locked cells stay locked only while the sheet is protected. No password: it guards
    # against slips, not people, and the upload checks every cell anyway.
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    sheet.protection.autoFilter = False
    sheet.protection.sort = False
    sheet.auto_filter.ref = f"A1:{COLUMNS[-1].letter}{max(last, 2)}"

    instructions = workbook.create_sheet(sheet_title(INSTRUCTIONS_SHEET))
    instructions.column_dimensions["A"].width = 110
    if translation.get_language_bidi():
        sheet.sheet_view.rightToLeft = instructions.sheet_view.rightToLeft = True
    for line in instruction_lines(state):
        instructions.append([_xlsx_text(line)])
        instructions.cell(instructions.max_row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    instructions["A1"].font = Font(bold=True, size=14)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Excel's limits on a drop-down's texts; a longer one makes it call the file damaged.
TITLE_MAX = 32
MESSAGE_MAX = 255
LIST_FORMULA_MAX = 255


def _validation_text(text, limit):
    return Truncator(str(text)).chars(limit)


def status_list_formula():
    """
    The status drop-down's list, as Excel reads it: the labels in the active language
    between quotes, separated by commas. A label must not hold a comma, and the whole at
    most ``LIST_FORMULA_MAX`` characters (tests/test_workflow_i18n.py checks every language).
    """
    return '"' + ",".join(str(status.label) for status in Rating.Status) + '"'


def _workbook_row(state, measure, rating):
    values = {"state": state.iso3, "code": measure.code, "section": str(measure.section), "title": measure.title}
    if rating is not None:
        values.update({field: getattr(rating, field) for field in VALUE_FIELDS})
        values["status"] = rating.get_status_display()
    return [values.get(column.field) for column in COLUMNS]


def _xlsx_text(value):
    if isinstance(value, str):
        return escape_formula(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def instruction_lines(state):
    """The text of the workbook's "Instructions" sheet in the active language, one paragraph per line."""
    header = {column.field: column.header for column in COLUMNS}
    not_applicable = Rating.Status.NOT_APPLICABLE.label
    statuses = [f"    {status.label}" for status in Rating.Status]
    columns = [
        (header["state"], _("the State's ISO3 code (%(iso3)s). Filled in; leave it.") % {"iso3": state.iso3}),
        (
            ", ".join([header["code"], header["section"], header["title"]]),
            _("the measure. Filled in and grey; leave them."),
        ),
        (header["status"], _("where your State stands on the measure. Choose from the drop-down list.")),
        (header["explanation"], _("why this status: what is in place and what is missing.")),
        (
            header["justification"],
            _(
                "required when the status is '%(not_applicable)s', e.g. 'No drone industry and no civil UAS market'. "
                "Leave it empty otherwise."
            )
            % {"not_applicable": not_applicable},
        ),
        (
            header["source_document"],
            _("the title of the law, report or record that shows the status, e.g. 'Firearms Act 2022'."),
        ),
        (header["source_reference"], _("where in the document, e.g. 's. 12(3)'.")),
        (header["source_url"], _("a link to the document, if it is online.")),
        (header["source_date"], _("the date of the document, as 2024-05-01 (year-month-day).")),
    ]
    names = {"sheet": SHEET, "state": state.name, "iso3": state.iso3}
    return [
        _("Self-report of %(state)s (%(iso3)s) on the SCR 2370 Technical Guidelines") % names,
        "",
        _(
            "Downloaded on %(date)s. The '%(sheet)s' sheet has one row per measure of the current catalogue, filled "
            "in with your State's self-report as it stands."
        )
        % {**names, "date": formats.date_format(timezone.localdate(), "j F Y")},
        "",
        _("How to fill it in"),
        _(
            "1. In the '%(sheet)s' sheet, change the rows you want to update: status, explanation and source. You can "
            "do this offline."
        )
        % names,
        _("2. Leave the grey columns, the column headers and the sheet names as they are. Do not add or remove rows."),
        # Translators: 'CSV UTF-8' is the name of the file type in Excel's "Save as" dialog.
        _("3. Save the file as .xlsx (or as 'CSV UTF-8'), and upload it on your State's page in the tracker."),
        _("4. The tracker shows you, row by row, what the file adds and changes. Nothing is sent until you confirm."),
        _(
            "5. Confirmed rows become submissions that a CTED analyst reviews; rows you did not change are skipped, "
            "and rows left empty are ignored."
        ),
        "",
        _("What each column means"),
        # Translators: a column of the spreadsheet and what it holds, e.g. "Status: where your State stands…".
        *(_("%(column)s: %(meaning)s") % {"column": name, "meaning": meaning} for name, meaning in columns),
        "",
        _("The status scale"),
        *statuses,
        _("'%(not_applicable)s' needs a justification in the column '%(column)s'.")
        % {"not_applicable": not_applicable, "column": header["justification"]},
        "",
        _("Please note"),
        _("Formulas are refused: type values, not formulas. Text that starts with '=' must start with an apostrophe."),
        _(
            "A file with any mistake is not applied at all; the tracker lists each mistake by row and column, so that "
            "you can correct the file and upload it again."
        ),
        # Translators: "Review → Unprotect Sheet" is the menu command in Excel; use the translated Excel's name.
        _(
            "The sheet is protected against accidental edits of the grey columns, without a password "
            "(Review → Unprotect Sheet)."
        ),
    ]
