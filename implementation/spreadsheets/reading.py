"""Reading an uploaded file, XLSX or CSV, into a ``Sheet`` of raw cell values, or refusing it (``UploadRefused``)."""

import csv
import dataclasses
import io
import math
import zipfile

import openpyxl
from django.utils import formats
from django.utils.translation import gettext as _

from .columns import COLUMN_BY_FIELD, COLUMNS, REQUIRED_FIELDS, SHEET, header_key, vocabulary

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# A workbook is a zip: refuse one that would unpack to far more than a sheet of ratings.
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
# Every State × every measure is about 14,000 rows; twice that is not a file of ratings.
MAX_ROWS = 30_000
# Problems listed for a bad file; the rest are counted.
MAX_PROBLEMS_SHOWN = 200


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
    The ``Sheet`` in ``upload``, XLSX or CSV told apart by content, or ``UploadRefused`` if it is too large, of
    another kind, or lacks the "Ratings" sheet or a required column.
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
    header = rows[0][1]
    # A short row is refused, not padded: a lost separator would shift its cells into the wrong columns.
    width = max((index + 1 for index, name in enumerate(header) if name.strip()), default=0)
    short = [
        Problem(
            _("The row has %(cells)s cells but the first row names %(columns)s columns; a separator is missing.")
            % {"cells": len(cells), "columns": width},
            row=number,
        )
        for number, cells in rows[1:]
        if cells and len(cells) < width
    ]
    if short:
        raise UploadRefused(short)
    return header, rows[1:]


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
        column = columns.get(header_key(name))
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
