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
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import Truncator
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from measures.models import Measure
from states.models import MemberState

from . import workflow
from .exports import FORMULA_PREFIXES, Column, Table, escape_formula
from .models import Rating, StagedUpload, Submission
from .services import EditConflict

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# A workbook is a zip: refuse one that would unpack to far more than a sheet of ratings.
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
# Every State × every measure is about 14,000 rows; twice that is not a file of ratings.
MAX_ROWS = 30_000
# Problems listed for a bad file; the rest are counted.
MAX_PROBLEMS_SHOWN = 200
# Rows per statement where the bulk import writes through Django's bulk operations.
BATCH_SIZE = 1000
# Rows of a preview shown on the page; all of them are in its CSV download.
PREVIEW_ROWS = 500
# A preview nobody confirmed is deleted after this long, at the next upload of anyone.
STAGED_FOR = dt.timedelta(days=1)

SHEET = "Ratings"
INSTRUCTIONS_SHEET = "Instructions"
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d %B %Y", "%d %b %Y"]
# What a row of the spreadsheet sets: the fields of a submission, the same as a rating's but its assessment.
VALUE_FIELDS = workflow.SUBMITTED_FIELDS
# Read once: ``Rating.history`` builds a new manager class on every access.
HistoricalRating = Rating.history.model
HISTORY_REASON_MAX_LENGTH = HistoricalRating._meta.get_field("history_change_reason").max_length


@dataclasses.dataclass(frozen=True)
class SheetColumn:
    """A column of the spreadsheet: the field it fills, its header, and other headers taken for it."""

    field: str
    header: str
    width: int
    aliases: tuple = ()
    # Filled in by the tracker for the reader's information, and ignored on upload.
    informative: bool = False

    @property
    def letter(self):
        return get_column_letter(COLUMNS.index(self) + 1)


COLUMNS = (
    SheetColumn("state", "State", 8, ("state iso3", "iso3", "state (iso3)")),
    SheetColumn("code", "Code", 11, ("measure code",)),
    SheetColumn("section", "Section", 22, informative=True),
    SheetColumn("title", "Measure", 45, ("measure title",), informative=True),
    SheetColumn("status", "Status", 22),
    SheetColumn("explanation", "Explanation", 50),
    SheetColumn("justification", "Why not applicable", 30, ("justification",)),
    SheetColumn("source_document", "Source document", 30),
    SheetColumn("source_reference", "Article or section", 16, ("source reference", "reference")),
    SheetColumn("source_url", "Source URL", 30, ("url",)),
    SheetColumn("source_date", "Source date", 13, ("date",)),
)
COLUMN_BY_FIELD = {column.field: column for column in COLUMNS}
REQUIRED_FIELDS = ("state", "code", "status")


def _header_key(text):
    return " ".join(str(text).lower().replace("_", " ").split())


HEADER_LOOKUP = {_header_key(name): column for column in COLUMNS for name in (column.header, *column.aliases)}


# Problems


@dataclasses.dataclass(frozen=True)
class Problem:
    """Why a file, or a row and column of it, cannot be used."""

    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self):
        if self.row is None:
            return self.message
        where = f"Row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


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
        raise UploadRefused([Problem(f"The file is {megabytes:.1f} MB; the limit is 5 MB.")])
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
        "The file is a zip archive but not an Excel workbook (.xlsx). Upload the workbook you downloaded, or a CSV "
        "file."
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
        raise UploadRefused([Problem("The workbook unpacks to more than 100 MB; it cannot be a sheet of ratings.")])
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds (KeyError, ValueError, XML errors) for a broken file
        raise _unreadable(error) from None
    try:
        if SHEET not in workbook.sheetnames:
            found = ", ".join(f"'{name}'" for name in workbook.sheetnames)
            raise UploadRefused(
                [Problem(f"The workbook has no sheet called '{SHEET}' (it has {found}). Fill in the '{SHEET}' sheet.")]
            )
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
        raise UploadRefused([Problem(f"The '{SHEET}' sheet is empty.")])
    return rows[0][1], rows[1:]


def _unreadable(error):
    return UploadRefused([Problem(f"The workbook could not be read ({type(error).__name__}): save it again.")])


class Formula(str):
    """The text of a formula cell, refused wherever it is found."""


def _xlsx_value(cell):
    if cell.data_type == "f":
        return Formula(cell.value if isinstance(cell.value, str) else "=…")
    return cell.value


def _csv_rows(data):
    if data.startswith(b"%PDF"):
        raise UploadRefused([Problem("The file is a PDF. Upload the XLSX workbook you downloaded, or a CSV file.")])
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UploadRefused(
            [Problem("The file is an old Excel (.xls) or password-protected workbook. Save it as .xlsx, unprotected.")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRefused(
            [
                Problem(
                    "The file is neither an XLSX workbook nor a UTF-8 CSV file. In Excel, save it as "
                    "'Excel Workbook (.xlsx)' or 'CSV UTF-8'."
                )
            ]
        ) from None
    if "\x00" in text:
        raise UploadRefused([Problem("The file is neither an XLSX workbook nor a CSV file.")])
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
        raise UploadRefused([Problem(f"The file could not be read as CSV ({error}).", row=len(rows) + 1)]) from None
    if not rows:
        raise UploadRefused([Problem("The file is empty.")])
    return rows[0][1], rows[1:]


def _to_sheet(file_format, header, rows):
    if len(rows) > MAX_ROWS:
        raise UploadRefused([Problem(f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.")])
    positions, ignored, problems = {}, [], []
    for index, name in enumerate(header):
        if name is None or not str(name).strip():
            continue
        column = HEADER_LOOKUP.get(_header_key(name))
        if column is None:
            ignored.append(str(name).strip())
        elif column.field in positions:
            problems.append(Problem(f"The column '{column.header}' appears twice; keep one.", row=1))
        else:
            positions[column.field] = index
    missing = [COLUMN_BY_FIELD[field].header for field in REQUIRED_FIELDS if field not in positions]
    if missing:
        expected = ", ".join(column.header for column in COLUMNS if not column.informative)
        problems.append(
            Problem(
                f"The first row must name the columns; missing: {', '.join(missing)}. "
                f"The columns are: {expected} (as in the downloaded workbook).",
                row=1,
            )
        )
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


STATUS_BY_NAME = {_header_key(name): status for status in Rating.Status for name in (status.label, status.value)}


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


class StatusField(SharedField, forms.CharField):
    """A status, given as its label ("Largely implemented") or its code ("largely")."""

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return ""
        status = STATUS_BY_NAME.get(_header_key(text))
        if status is None:
            raise ValidationError(f"'{text}' is not a status; use one of {_status_names()}.", code="invalid_choice")
        return status.value


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
        raise ValidationError(f"'{value}' is not a date; write it as 2024-05-01 (year-month-day).", code="invalid")


def _max_length(field):
    return Rating._meta.get_field(field).max_length


class RowForm(forms.Form):
    """
    One row of a spreadsheet. ``states`` and ``measures`` map ISO3 codes and measure codes
    to what the row may name; ``for_state`` limits the rows to one State.
    """

    state = TextField(error_messages={"required": "Give the State's ISO3 code, e.g. JAM."})
    code = TextField(error_messages={"required": "Give the measure's code, e.g. SALW-04."})
    status = StatusField(required=False)
    explanation = TextField(required=False)
    justification = TextField(required=False)
    source_document = TextField(required=False, max_length=_max_length("source_document"))
    source_reference = TextField(required=False, max_length=_max_length("source_reference"))
    source_url = URLField(required=False, max_length=_max_length("source_url"))
    source_date = SourceDateField(required=False, input_formats=DATE_FORMATS)

    def __init__(self, data, *, states, measures, for_state=None):
        super().__init__(data)
        self.states = states
        self.measures = measures
        self.for_state = for_state

    def clean_state(self):
        iso3 = self.cleaned_data["state"].upper()
        state = self.states.get(iso3)
        if state is None:
            raise ValidationError(f"'{iso3}' is not the ISO3 code of a Member State.")
        if self.for_state is not None and state != self.for_state:
            raise ValidationError(
                f"{iso3} is {state.name}, but this file is {self.for_state.name}'s ({self.for_state.iso3}). "
                "Upload another State's rows on that State's page."
            )
        return state

    def clean_code(self):
        code = self.cleaned_data["code"]
        measure = self.measures.get(code.upper())
        if measure is None:
            raise ValidationError(f"'{code}' is not the code of a measure in the current catalogue.")
        return measure

    def clean(self):
        cleaned_data = super().clean()
        status = cleaned_data.get("status")
        if "status" not in self.errors and not status:
            self.add_error("status", f"Choose a status: {_status_names()}.")
        elif status == Rating.Status.NOT_APPLICABLE and not cleaned_data.get("justification"):
            self.add_error(
                "justification", "'Not applicable' needs a justification: say why the measure does not apply."
            )
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
    for number, raw in sheet.rows:
        data, formulas = {}, set()
        for field, value in raw.items():
            if isinstance(value, Formula) or (sheet.file_format == "csv" and str(value or "").startswith("=")):
                formulas.add(field)
                problems.append(
                    Problem(
                        f"holds a formula ({Truncator(str(value)).chars(40)}); formulas are refused. Type the value "
                        "itself, or start text that begins with '=' with an apostrophe.",
                        row=number,
                        column=COLUMN_BY_FIELD[field].header,
                    )
                )
                value = ""
            data[field] = value if field == "source_date" and not isinstance(value, str) else _cell_text(value)
        if not any(data.get(field) not in (None, "") for field in VALUE_FIELDS):
            # A measure left empty (as the download leaves those not yet reported) says nothing;
            # a wholly empty line is not a row at all.
            if any(data.get(field) for field in ("state", "code")):
                blank += 1
            continue
        form = RowForm(data, states=states, measures=measures, for_state=for_state)
        if not form.is_valid():
            for field, errors in form.errors.items():
                if field in formulas:
                    continue  # already said: the cell holds a formula
                header = COLUMN_BY_FIELD[field].header if field in COLUMN_BY_FIELD else None
                problems.extend(Problem(error, row=number, column=header) for error in errors)
            continue
        values = form.cleaned_data
        key = (values["state"].pk, values["code"].pk)
        if key in seen:
            problems.append(
                Problem(
                    f"{values['state'].iso3} {values['code'].code} is already in row {seen[key]}; keep one of them.",
                    row=number,
                    column="Code",
                )
            )
            continue
        seen[key] = number
        checked.append((number, values))
    return checked, blank, problems


# Comparing with what is there


UNCHANGED = "unchanged"
ADDED = "added"
CHANGED = "changed"


LABELS = {field: COLUMN_BY_FIELD[field].header for field in VALUE_FIELDS}


def _shown(field, value):
    if value is None or value == "":
        return ""
    if field == "status":
        return str(Rating.Status(value).label)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _same(field, old, new):
    if isinstance(old, str) and isinstance(new, str):
        return old.replace("\r\n", "\n").strip() == new.strip()
    return old == new


def _compare(number, values, current, *, fields):
    """
    The staged row for ``values`` (a cleaned row) against ``current`` (a rating, a pending
    submission, or ``None``): what is added or changed, field by field, and the values
    to write. A column absent from the file keeps the current value.
    """
    state, measure = values["state"], values["code"]
    new = {}
    for field in VALUE_FIELDS:
        if field in fields:
            new[field] = values[field] or ("" if field != "source_date" else None)
        else:
            new[field] = getattr(current, field) if current is not None else ("" if field != "source_date" else None)
    labels = LABELS
    if current is None:
        action = ADDED
        changes = [[labels[f], "", _shown(f, new[f])] for f in VALUE_FIELDS if new[f] not in ("", None)]
    else:
        changes = [
            [labels[f], _shown(f, getattr(current, f)), _shown(f, new[f])]
            for f in VALUE_FIELDS
            if not _same(f, getattr(current, f), new[f])
        ]
        action = CHANGED if changes else UNCHANGED
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
        row["changes"] = changes
        row["values"] = {field: _json(value) for field, value in new.items()}
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
    """What a page shows of a staged upload: the first rows that change, and the first left unchanged."""

    changes: list
    unchanged: list
    more_changes: int
    more_unchanged: int


def preview(staged, limit=None):
    """The ``Preview`` of ``staged``: at most ``limit`` (``PREVIEW_ROWS``) rows of each kind, in file order."""
    limit = limit or PREVIEW_ROWS
    changes = [row for row in staged.rows if row["action"] != UNCHANGED]
    unchanged = [row for row in staged.rows if row["action"] == UNCHANGED]
    return Preview(changes[:limit], unchanged[:limit], max(len(changes) - limit, 0), max(len(unchanged) - limit, 0))


def changes_table(staged):
    """Every change ``staged`` would make, one line per row and field, as an export ``Table``."""
    lines = (
        {**row, "field": field, "old": old, "new": new}
        for row in staged.rows
        if row["action"] != UNCHANGED
        for field, old, new in row["changes"]
    )
    return Table(
        title=f"Changes in {staged.file_name}",
        columns=[
            Column("Row", "row"),
            Column("State", "iso3"),
            Column("Code", "code"),
            Column("Measure", "title"),
            Column("Added or changed", "action"),
            Column("Field", "field"),
            Column("Now", "old"),
            Column("From the file", "new"),
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
        raise PermissionDenied(f"Only a focal point of {state} may upload its spreadsheet.")
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
    rows = []
    for number, values in checked:
        measure = values["code"]
        current = self_reports.get(measure.pk)
        row = _compare(number, values, current, fields=sheet.fields)
        waiting = pending.get(measure.pk)
        if waiting is not None and row["action"] != UNCHANGED:
            new = _values_from(row)
            if all(_same(field, getattr(waiting, field), new[field]) for field in VALUE_FIELDS):
                # Already submitted as it is, and waiting for review: nothing new to send.
                row = {key: value for key, value in row.items() if key not in ("changes", "values")}
                row.update(action=UNCHANGED, already_pending=True)
            else:
                # Seen now, so replaced on confirming; one submitted after this preview is a conflict.
                row["pending"] = waiting.pk
                row["pending_by"] = waiting.submitted_by.get_full_name() or waiting.submitted_by.get_username()
        if row["action"] != UNCHANGED:
            row["seen"] = _seen(current)
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
            raise UploadRefused([_changed_since(row, current, "self-report")])
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
            raise UploadRefused([Problem(f"{row['code']}: {' '.join(conflict.messages)}", row=row["row"])]) from None
        except ValidationError as error:
            raise UploadRefused(_problems_of(row, error)) from None
    staged.delete()
    return len(rows)


def _lock(staged):
    locked = StagedUpload.objects.select_for_update().filter(pk=staged.pk).first()
    if locked is None:
        raise UploadRefused(
            [Problem("This upload was already applied, or replaced by a later one. Upload the file again.")]
        )
    return locked


def _changed_since(row, current, what):
    now = f" (now {current.get_status_display()})" if current is not None else ""
    return Problem(
        f"{row['iso3']} {row['code']}: the {what} changed after your preview{now}. Nothing was applied: upload the "
        "file again to see the current values.",
        row=row["row"],
    )


def _problems_of(row, error):
    if not hasattr(error, "error_dict"):
        return [Problem(f"{row['code']}: {message}", row=row["row"]) for message in error.messages]
    return [
        Problem(message, row=row["row"], column=COLUMN_BY_FIELD[field].header if field in COLUMN_BY_FIELD else None)
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
    rows = []
    for number, values in checked:
        current = ratings.get((values["state"].pk, values["code"].pk))
        row = _compare(number, values, current, fields=sheet.fields)
        if row["action"] != UNCHANGED:
            row["seen"] = _seen(current)
        rows.append(row)
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
    after the preview.
    """
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
    conflicts, updated, created = [], [], []
    for row in rows:
        rating = current.get((row["state"], row["measure"]))
        if _seen(rating) != row["seen"]:
            conflicts.append(_changed_since(row, rating, "assessed rating"))
            continue
        values = _values_from(row)
        if rating is None:
            rating = Rating(state_id=row["state"], measure_id=row["measure"], kind=Rating.Kind.ASSESSED)
            rating.previous_status, rating.set_by_id, rating.set_at = "", by.pk, at
            created.append(rating)
        else:
            rating.previous_status = rating.status
            if rating.status != values["status"]:
                rating.set_by_id, rating.set_at = by.pk, at
            updated.append(rating)
        for field, value in values.items():
            setattr(rating, field, value)
        rating.last_confirmed_at = at
    if conflicts:
        raise UploadRefused(conflicts)

    reason = Truncator(f"Bulk import {staged.file_name}").chars(HISTORY_REASON_MAX_LENGTH)
    write = _write_postgresql if connection.vendor == "postgresql" else _write_orm
    try:
        with transaction.atomic():
            write(updated, created, by=by, at=at, reason=reason)
    except IntegrityError as error:
        # A row the checks above let through and the database refused, e.g. an assessed
        # rating of the same measure created by someone else since the lock was taken.
        raise UploadRefused([Problem(f"The database refused the import, and nothing was applied: {error}")]) from None
    staged.delete()
    return len(rows)


# The rating columns an import writes, and those simple_history copies into a history row.
WRITTEN = [*VALUE_FIELDS, "set_by", "set_at", "last_confirmed_at"]
HISTORY_COPIED = [field.attname for field in HistoricalRating.tracked_fields]


def _write_orm(updated, created, *, by, at, reason):
    """Write the ratings and their history rows with Django's bulk operations: a few queries per thousand rows."""
    # An upsert on the primary key rather than bulk_update: bulk_update's CASE WHEN id = …
    # per field grows with the batch for every row, and took over a minute for 14,000
    # rows. These rows exist and are locked, so every insert turns into its update.
    Rating.objects.bulk_create(
        updated, update_conflicts=True, unique_fields=["id"], update_fields=WRITTEN, batch_size=BATCH_SIZE
    )
    Rating.objects.bulk_create(created, batch_size=BATCH_SIZE)
    HistoricalRating.objects.bulk_create(
        [
            HistoricalRating(
                **{attname: getattr(rating, attname) for attname in HISTORY_COPIED},
                previous_status=rating.previous_status,
                history_date=at,
                history_user=by,
                history_change_reason=reason,
                history_type=history_type,
            )
            for ratings, history_type in ((updated, "~"), (created, "+"))
            for rating in ratings
        ],
        batch_size=BATCH_SIZE,
    )


def _write_postgresql(updated, created, *, by, at, reason):
    """
    What ``_write_orm`` writes, in three statements whatever the number of rows: an UPDATE
    and an INSERT that read their rows from arrays (``unnest``), then an INSERT ... SELECT
    that copies each rating as it now stands into its history row. Django spent about four
    seconds of CPU building the bulk_create statements for 14,000 ratings and their history
    rows; this takes a small fraction of that (docs/performance.md, "Bulk import").
    """
    quote = connection.ops.quote_name
    rating_table, history_table = quote(Rating._meta.db_table), quote(HistoricalRating._meta.db_table)
    fields = [Rating._meta.get_field(name) for name in WRITTEN]
    columns = [quote(field.column) for field in fields]
    types = [_array_type(field) for field in fields]
    with connection.cursor() as cursor:
        if updated:
            assignments = ", ".join(f"{column} = v.{column}" for column in columns)
            cursor.execute(
                f"UPDATE {rating_table} AS r SET {assignments} "
                f"FROM unnest(%s::bigint[], {', '.join(f'%s::{t}[]' for t in types)}) AS v(id, {', '.join(columns)}) "
                "WHERE r.id = v.id",
                [[rating.pk for rating in updated], *_arrays(updated, fields)],
            )
        if created:
            keys = ["state_id", "measure_id", "kind"]
            cursor.execute(
                f"INSERT INTO {rating_table} ({', '.join(keys)}, {', '.join(columns)}) "
                f"SELECT v.state_id, v.measure_id, %s, {', '.join(f'v.{column}' for column in columns)} "
                f"FROM unnest(%s::bigint[], %s::bigint[], {', '.join(f'%s::{t}[]' for t in types)}) "
                f"AS v(state_id, measure_id, {', '.join(columns)})",
                [
                    Rating.Kind.ASSESSED.value,
                    [rating.state_id for rating in created],
                    [rating.measure_id for rating in created],
                    *_arrays(created, fields),
                ],
            )
        written = [*updated, *created]
        copied = [quote(Rating._meta.get_field(attname).column) for attname in HISTORY_COPIED]
        cursor.execute(
            f"INSERT INTO {history_table} ({', '.join(copied)}, previous_status, history_type, history_date, "
            "history_user_id, history_change_reason) "
            f"SELECT {', '.join(f'r.{column}' for column in copied)}, v.previous_status, v.history_type, %s, %s, %s "
            f"FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) WITH ORDINALITY "
            "AS v(state_id, measure_id, previous_status, history_type, position) "
            f"JOIN {rating_table} AS r ON r.state_id = v.state_id AND r.measure_id = v.measure_id AND r.kind = %s "
            "ORDER BY v.position",
            [
                at,
                by.pk,
                reason,
                [rating.state_id for rating in written],
                [rating.measure_id for rating in written],
                [rating.previous_status for rating in written],
                ["~"] * len(updated) + ["+"] * len(created),
                Rating.Kind.ASSESSED.value,
            ],
        )


def _array_type(field):
    """The PostgreSQL type of an array of ``field``'s values, as ``unnest`` reads it."""
    if field.is_relation:
        return "bigint"
    return {"DateField": "date", "DateTimeField": "timestamptz"}.get(field.get_internal_type(), "text")


def _arrays(ratings, fields):
    return [[getattr(rating, field.attname) for rating in ratings] for field in fields]


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
    statuses = DataValidation(
        type="list",
        formula1='"' + ",".join(str(status.label) for status in Rating.Status) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not a status",
        error="Choose a status from the list.",
        showInputMessage=True,
        promptTitle="Status",
        prompt="Choose from the list. 'Not applicable' needs a justification.",
    )
    sheet.add_data_validation(statuses)
    statuses.add(f"{COLUMN_BY_FIELD['status'].letter}2:{COLUMN_BY_FIELD['status'].letter}{max(last, 2)}")
    dates = DataValidation(
        type="date",
        operator="greaterThan",
        formula1="1",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Not a date",
        error="Type a date as 2024-05-01 (year-month-day).",
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

    instructions = workbook.create_sheet(INSTRUCTIONS_SHEET)
    instructions.column_dimensions["A"].width = 110
    for line in instruction_lines(state):
        instructions.append([_xlsx_text(line)])
        instructions.cell(instructions.max_row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    instructions["A1"].font = Font(bold=True, size=14)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


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
    """The text of the workbook's "Instructions" sheet, one paragraph per line."""
    statuses = [f"    {status.label}" for status in Rating.Status]
    columns = {
        "State": f"the State's ISO3 code ({state.iso3}). Filled in; leave it.",
        "Code, Section, Measure": "the measure. Filled in and grey; leave them.",
        "Status": "where your State stands on the measure. Choose from the drop-down list.",
        "Explanation": "why this status: what is in place and what is missing.",
        "Why not applicable": "required when the status is 'Not applicable', e.g. 'No drone industry and no civil "
        "UAS market'. Leave it empty otherwise.",
        "Source document": "the title of the law, report or record that shows the status, e.g. 'Firearms Act 2022'.",
        "Article or section": "where in the document, e.g. 's. 12(3)'.",
        "Source URL": "a link to the document, if it is online.",
        "Source date": "the date of the document, as 2024-05-01 (year-month-day).",
    }
    return [
        f"Self-report of {state.name} ({state.iso3}) on the SCR 2370 Technical Guidelines",
        "",
        f"Downloaded on {timezone.localdate():%d %B %Y}. The 'Ratings' sheet has one row per measure of the "
        "current catalogue, filled in with your State's self-report as it stands.",
        "",
        "How to fill it in",
        "1. In the 'Ratings' sheet, change the rows you want to update: status, explanation and source. You can do "
        "this offline.",
        "2. Leave the grey columns, the column headers and the sheet names as they are. Do not add or remove rows.",
        "3. Save the file as .xlsx (or as 'CSV UTF-8'), and upload it on your State's page in the tracker.",
        "4. The tracker shows you, row by row, what the file adds and changes. Nothing is sent until you confirm.",
        "5. Confirmed rows become submissions that a CTED analyst reviews; rows you did not change are skipped, "
        "and rows left empty are ignored.",
        "",
        "What each column means",
        *(f"{name}: {meaning}" for name, meaning in columns.items()),
        "",
        "The status scale",
        *statuses,
        "'Not applicable' needs a justification in the column 'Why not applicable'.",
        "",
        "Please note",
        "Formulas are refused: type values, not formulas. Text that starts with '=' must start with an apostrophe.",
        "A file with any mistake is not applied at all; the tracker lists each mistake by row and column, so that "
        "you can correct the file and upload it again.",
        "The sheet is protected against accidental edits of the grey columns, without a password "
        "(Review → Unprotect Sheet).",
    ]
