"""
Download a dashboard table as CSV or XLSX.

A view describes its table once (``Table`` of ``Column``s over the rows it already shows, filters
applied) and returns ``export_response(table, format, filename)``, which raises ``ValueError`` for an unknown format.

Every text cell is escaped against spreadsheet formula injection (see ``escape_formula``):
the rows carry text typed by focal points and analysts, and a spreadsheet would otherwise
run ``=HYPERLINK(...)`` or ``@SUM(...)`` found in it.
"""

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, islice
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext, pgettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.limits import without_controls

from .dashboards.html import table_rows

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# OWASP's list: a spreadsheet reads a cell starting with any of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Excel's limits on a sheet title.
SHEET_TITLE_MAX = 31
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

# XLSX column widths, in characters: wide enough for a date, never wider than a short paragraph.
WIDTH_MIN = 10
WIDTH_MAX = 50
# Rows looked at to size the columns; the header alone would cut most text columns short.
WIDTH_SAMPLE_ROWS = 50


@dataclass(frozen=True)
class Column:
    """One column of an export: its header, and where each row's value comes from."""

    header: str
    # A key or attribute name, dotted to follow relations ("state.name"), or a callable taking the row.
    source: str | Callable[[Any], Any]

    def value(self, row):
        """The raw value of this column in ``row`` (a dict or an object)."""
        if callable(self.source):
            return self.source(row)
        value = row
        for part in self.source.split("."):
            value = value[part] if isinstance(value, dict) else getattr(value, part)
            if value is None:
                return None
        return value


@dataclass
class Table:
    """A titled table: its columns, and the rows to write under them (any iterable, read once)."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Any] = field(default_factory=list)

    @property
    def headers(self):
        return [column.header for column in self.columns]

    def values(self):
        """Each row as the list of its raw column values, for showing the table on a page."""
        return ([column.value(row) for column in self.columns] for row in self.rows)

    def html_rows(self):
        """The table's ``<tr>`` rows for a page (``dashboards.html.table_rows``)."""
        return table_rows(self.values())


def escape_formula(value):
    """
    ``value`` with a leading ``'`` when it is text a spreadsheet would read as a formula
    (it starts with ``= + - @``, a tab or a carriage return), and text without control or
    direction characters; anything else unchanged, so numbers, negative ones included, stay numbers.
    """
    if not isinstance(value, str):
        return value
    # Text saved before control and direction characters were refused must not carry them into a file.
    value = without_controls(value)
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def export_response(table, fmt, filename, *, notes=()):
    """
    An ``HttpResponse`` that downloads ``table`` as ``fmt`` ("csv" or "xlsx") under
    ``filename`` (reduced to ``A-Z a-z 0-9 . _ -``, the extension added).

    ``notes`` (lines of text, such as the filters applied) go to a second sheet, "About"
    (in the reader's language), in XLSX and are left out of CSV, whose file holds the table alone.
    Raises ``ValueError`` for any other format.
    """
    if fmt not in FORMATS:
        # Shown to the reader as the answer to a download link with a wrong format.
        raise ValueError(gettext("format must be csv or xlsx"))
    content = _to_csv(table) if fmt == "csv" else _to_xlsx(table, notes)
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{safe_filename(filename, fmt)}"'
    return response


def safe_filename(name, fmt):
    """``name`` reduced to ``A-Z a-z 0-9 . _ -`` (accents dropped, not the letters), ending in ``.fmt``."""
    ascii_name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("._-")[:100]
    extension = f".{fmt}"
    if stem.lower().endswith(extension):
        stem = stem[: -len(extension)].rstrip("._-")
    return f"{stem or 'export'}{extension}"


def sheet_title(title):
    """``title`` as Excel accepts a sheet title: no ``[]:*?/\\``, at most 31 characters, never empty."""
    cleaned = SHEET_TITLE_FORBIDDEN.sub(" ", str(title))
    # Excel also refuses a title that starts or ends with an apostrophe.
    cleaned = " ".join(cleaned.split())[:SHEET_TITLE_MAX].strip(" '")
    return cleaned or "Sheet1"


def _to_csv(table):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([escape_formula(str(column.header)) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(column.value(row)) for column in table.columns])
    # The byte-order mark is what makes Excel read the file as UTF-8 rather than the local code page.
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        return _as_utc(value).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return escape_formula(str(value))


def _to_xlsx(table, notes):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title(table.title))

    rows = iter(table.rows)
    sample = list(islice(rows, WIDTH_SAMPLE_ROWS))
    rows = chain(sample, rows)
    # Write-only sheets take column widths and panes only before the first row.
    for index, column in enumerate(table.columns, start=1):
        width = max([len(str(column.header)), *(_display_length(column.value(row)) for row in sample)])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, WIDTH_MIN), WIDTH_MAX)
    sheet.freeze_panes = "A2"

    bold = Font(bold=True)
    header = []
    for column in table.columns:
        cell = WriteOnlyCell(sheet, value=_xlsx_cell(str(column.header)))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_cell(column.value(row)) for column in table.columns])

    if notes:
        # Translators: the name of a spreadsheet's sheet that says how the export was made (at most 31 characters).
        about = workbook.create_sheet(sheet_title(pgettext("spreadsheet sheet", "About")))
        about.column_dimensions["A"].width = 100
        for note in notes:
            about.append([_xlsx_cell(str(note))])

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(value):
    if value is None or isinstance(value, bool | int | float | Decimal | dt.date | dt.time):
        # Excel has no time zones: an aware datetime is written as its UTC wall-clock time.
        if isinstance(value, dt.datetime) and value.tzinfo:
            return _as_utc(value).replace(tzinfo=None)
        return value
    # Control characters other than tab, newline and carriage return are not allowed in XLSX XML.
    return escape_formula(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def _as_utc(value):
    return value.astimezone(dt.UTC)


def _display_length(value):
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 19  # as Excel shows it: yyyy-mm-dd hh:mm:ss
    return max((len(line) for line in str(value).splitlines()), default=0)
