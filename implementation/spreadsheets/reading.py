"""Reading an uploaded file, XLSX or CSV, into a ``Sheet`` of raw cell values, or refusing it (``UploadRefused``)."""

import csv
import dataclasses
import io
import math
import posixpath
import zipfile
from xml.parsers import expat

import openpyxl
from django.utils import formats
from django.utils.translation import gettext as _
from openpyxl.utils import column_index_from_string, get_column_letter

from .columns import COLUMN_BY_FIELD, COLUMNS, REQUIRED_FIELDS, SHEET, header_key, vocabulary

# The bounds of an upload, checked before anything in it is expanded. Each refusal names its limit.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# A workbook is a zip: refuse one that unpacks, by its own account or in fact, to far more than a sheet of ratings.
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024
MAX_ZIP_MEMBERS = 1_000
# Every State × every measure is about 14,000 rows; twice that is not a file of ratings.
MAX_ROWS = 30_000
# Columns a row may fill; a value to their right refuses the file before openpyxl pads rows out to it (Excel's XFD).
MAX_COLUMNS = 64
# Filled cells in the sheet: as many as a full sheet of rows has columns, so that openpyxl's work stays that of a full
# sheet however the cells are spread.
MAX_CELLS = MAX_ROWS * len(COLUMNS)
# Excel's own limit on the text of a cell, which also bounds each entry of the shared-strings table.
MAX_CELL_CHARS = 32_767
MAX_SHARED_STRINGS = 150_000
# A sheet's XML is about seven elements deep; anything much deeper is built to exhaust a parser.
MAX_XML_DEPTH = 64
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

    def as_json(self):
        return {"message": str(self.message), "row": self.row, "column": self.column and str(self.column)}


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

    def as_json(self):
        """The problems listed, as kept with the upload (``StagedUpload.problems``)."""
        return [problem.as_json() for problem in self.problems]

    @classmethod
    def from_json(cls, problems, total):
        """The refusal kept with an upload: its listed ``problems`` as JSON, and their ``total``."""
        refused = cls([Problem(**problem) for problem in problems])
        refused.total = max(total, len(refused.problems))
        return refused


# Reading a file


@dataclasses.dataclass
class Sheet:
    """The rows of an uploaded file, as raw cell values by field, before any checking."""

    file_format: str
    fields: set
    rows: list  # (row number, {field: value})
    ignored_headers: list


def refuse_if_too_large(upload):
    """``UploadRefused`` if ``upload`` is larger than ``MAX_UPLOAD_BYTES``: checked before it is kept."""
    if upload.size > MAX_UPLOAD_BYTES:
        megabytes = math.ceil(upload.size / 1024 / 1024 * 10) / 10
        message = _("The file is %(size)s MB; the limit is %(limit)s MB.") % {
            "size": formats.number_format(megabytes, 1),
            "limit": formats.number_format(MAX_UPLOAD_BYTES // 1024 // 1024),
        }
        raise UploadRefused([Problem(message)])


def read_sheet(upload):
    """
    The ``Sheet`` in ``upload``, XLSX or CSV told apart by content, or ``UploadRefused`` if it is too large, of
    another kind, or lacks the "Ratings" sheet or a required column.
    """
    refuse_if_too_large(upload)
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
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UploadRefused([not_a_workbook]) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            message = _("The workbook holds more than %(limit)s files; it cannot be a sheet of ratings.")
            raise UploadRefused([Problem(message % {"limit": formats.number_format(MAX_ZIP_MEMBERS)})])
        names = {info.filename for info in infos}
        if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
            raise UploadRefused([not_a_workbook])
        if sum(info.file_size for info in infos) > MAX_UNZIPPED_BYTES:
            raise UploadRefused([_too_large_unzipped()])
        try:
            width = _check_parts(archive, names)
        except (zipfile.BadZipFile, NotImplementedError, EOFError, expat.ExpatError, ValueError) as error:
            # A member that unpacks to more than its header says fails its checksum: zipfile stops at that size.
            raise _unreadable(error) from None
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds (KeyError, ValueError, XML errors) for a broken file
        raise _unreadable(error) from None
    try:
        sheet = workbook[SHEET]
        # Some programs write a wrong size into the file; read the rows that are there.
        sheet.reset_dimensions()
        rows = []
        try:
            for number, cells in enumerate(sheet.iter_rows(min_row=1, min_col=1, max_col=width), start=1):
                rows.append((number, [_xlsx_value(cell) for cell in cells]))
                if len(rows) > MAX_ROWS + 1:
                    break
        except Exception as error:  # as above
            raise _unreadable(error) from None
    finally:
        workbook.close()
    if not rows:
        raise UploadRefused([Problem(_("The '%(sheet)s' sheet is empty.") % {"sheet": SHEET})])
    return rows[0][1], rows[1:]


def _too_large_unzipped():
    message = _("The workbook unpacks to more than %(limit)s MB; it cannot be a sheet of ratings.")
    return Problem(message % {"limit": formats.number_format(MAX_UNZIPPED_BYTES // 1024 // 1024)})


def _check_parts(archive, names):
    """
    Scan every XML part of the workbook under the bounds above, before openpyxl expands any of it; refuse the file at
    the first bound crossed. Return how many columns the "Ratings" sheet's header spans.
    """
    budget = _Budget()
    sheets = _BookScan()
    budget.scan(archive, "xl/workbook.xml", sheets)
    sheet_part = _sheet_part(archive, names, sheets, budget)
    shared = "xl/sharedStrings.xml"
    if shared in names:
        budget.scan(archive, shared, _SharedStringsScan())
    rows = _SheetScan()
    budget.scan(archive, sheet_part, rows)
    for name in sorted(names - budget.scanned):
        budget.scan(archive, name, _Scan() if name.endswith((".xml", ".rels")) else None)
    return max(rows.width, 1)


def _sheet_part(archive, names, sheets, budget):
    """The zip member of the "Ratings" sheet, or ``UploadRefused`` if the workbook lacks it or hides it."""
    if SHEET not in sheets.found:
        found = ", ".join(f"'{name}'" for name in sheets.found)
        message = _("The workbook has no sheet called '%(sheet)s' (it has %(found)s). Fill in the '%(sheet)s' sheet.")
        raise UploadRefused([Problem(message % {"sheet": SHEET, "found": found})])
    state, relation = sheets.found[SHEET]
    if state in ("hidden", "veryHidden"):
        message = _(
            "The '%(sheet)s' sheet of the workbook is hidden, so what it holds is not what the workbook shows. Unhide "
            "it and check it, or upload the workbook you downloaded."
        )
        raise UploadRefused([Problem(message % {"sheet": SHEET})])
    relations = _RelationsScan()
    if "xl/_rels/workbook.xml.rels" in names:
        budget.scan(archive, "xl/_rels/workbook.xml.rels", relations)
    target = relations.targets.get(relation, "")
    part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    if part not in names:
        raise _unreadable(KeyError(part))
    return part


class _Budget:
    """What the scans have unpacked so far, refused as soon as it exceeds ``MAX_UNZIPPED_BYTES``."""

    def __init__(self):
        self.unzipped = 0
        self.scanned = set()

    def scan(self, archive, name, scan):
        self.scanned.add(name)
        with archive.open(name) as member:
            while chunk := member.read(64 * 1024):
                self.unzipped += len(chunk)
                if self.unzipped > MAX_UNZIPPED_BYTES:
                    raise UploadRefused([_too_large_unzipped()])
                if scan is not None:
                    scan.feed(chunk)
        if scan is not None:
            scan.feed(b"", final=True)


def _refuse_declarations(*args):
    # A workbook needs no DTD; one is how entity bombs are built.
    raise ValueError("DTD")


class _Scan:
    """An XML part streamed through expat, its depth bounded; subclasses look at the elements they care about."""

    def __init__(self):
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartDoctypeDeclHandler = _refuse_declarations
        self.parser.EntityDeclHandler = _refuse_declarations
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self.text
        self.depth = 0

    def feed(self, chunk, final=False):
        self.parser.Parse(chunk, final)

    def _start(self, name, attributes):
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            message = _("The workbook's XML is nested more than %(limit)s levels deep; save it again in Excel.")
            raise UploadRefused([Problem(message % {"limit": MAX_XML_DEPTH})])
        self.start(name.rpartition(" ")[2], attributes)

    def _end(self, name):
        self.depth -= 1
        self.end(name.rpartition(" ")[2])

    def start(self, name, attributes):
        pass

    def end(self, name):
        pass

    def text(self, data):
        pass


class _BookScan(_Scan):
    """The workbook's sheets: name → (state, relationship id)."""

    def __init__(self):
        super().__init__()
        self.found = {}

    def start(self, name, attributes):
        if name == "sheet":
            relation = next((value for key, value in attributes.items() if key.endswith(" id")), "")
            self.found[attributes.get("name", "")] = (attributes.get("state", "visible"), relation)


class _RelationsScan(_Scan):
    def __init__(self):
        super().__init__()
        self.targets = {}

    def start(self, name, attributes):
        if name == "Relationship":
            self.targets[attributes.get("Id")] = attributes.get("Target", "")


class _SharedStringsScan(_Scan):
    """The shared-strings table, each entry and the number of them bounded before openpyxl loads them all."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self.length = None

    def start(self, name, attributes):
        if name == "si":
            self.count += 1
            self.length = 0
            if self.count > MAX_SHARED_STRINGS:
                message = _("The workbook holds more than %(limit)s different texts; it cannot be a sheet of ratings.")
                limit = formats.number_format(MAX_SHARED_STRINGS, force_grouping=True)
                raise UploadRefused([Problem(message % {"limit": limit})])

    def end(self, name):
        if name == "si":
            self.length = None

    def text(self, data):
        if self.length is not None:
            self.length += len(data)
            if self.length > MAX_CELL_CHARS:
                raise UploadRefused([_cell_too_long()])


def _cell_too_long(row=None, column=None):
    message = _("a cell holds more than %(limit)s characters, the most a cell can hold.")
    if row is None:
        message = _("The workbook holds a text of more than %(limit)s characters, the most a cell can hold.")
    limit = formats.number_format(MAX_CELL_CHARS, force_grouping=True)
    return Problem(message % {"limit": limit}, row=row, column=column)


class _SheetScan(_Scan):
    """
    The "Ratings" sheet: refused at the first row past ``MAX_ROWS``, the first value right of ``MAX_COLUMNS``, the
    first cell longer than ``MAX_CELL_CHARS`` or past ``MAX_CELLS``; notes how many columns the header spans.
    """

    def __init__(self):
        super().__init__()
        self.row = 0
        self.column = 0
        self.length = 0
        self.reading = False
        self.width = 0
        self.cells = 0
        self.counted = False

    def start(self, name, attributes):
        if name == "row":
            self.row = _position(attributes.get("r"), self.row + 1)
            self.column = 0
            if self.row > MAX_ROWS + 1:
                raise UploadRefused([_too_many_rows()])
        elif name == "c":
            reference = attributes.get("r")
            letters = reference.rstrip("0123456789") if reference else ""
            try:
                self.column = column_index_from_string(letters) if letters else self.column + 1
            except ValueError:
                raise _unreadable(ValueError(reference)) from None
            self.length = 0
            self.counted = False
        elif name in ("v", "t", "f"):
            if self.column > MAX_COLUMNS:
                message = _(
                    "something is written beyond the sheet's last column, %(limit)s; delete what is right of it."
                )
                limit = get_column_letter(MAX_COLUMNS)
                raise UploadRefused([Problem(message % {"limit": limit}, self.row, get_column_letter(self.column))])
            if not self.counted:
                self.counted = True
                self.cells += 1
                if self.cells > MAX_CELLS:
                    message = _("The sheet has more than %(limit)s filled cells; it cannot be a sheet of ratings.")
                    limit = formats.number_format(MAX_CELLS, force_grouping=True)
                    raise UploadRefused([Problem(message % {"limit": limit})])
            self.reading = True

    def end(self, name):
        if name in ("v", "t", "f"):
            self.reading = False
        elif name == "c" and self.length and self.row == 1:
            self.width = max(self.width, self.column)

    def text(self, data):
        if self.reading:
            self.length += len(data)
            if self.length > MAX_CELL_CHARS:
                raise UploadRefused([_cell_too_long(self.row, get_column_letter(self.column))])


def _position(reference, default):
    try:
        return int(reference) if reference else default
    except ValueError:
        raise _unreadable(ValueError(reference)) from None


def _too_many_rows():
    message = _("The file has more than %(limit)s rows; split it into smaller files.")
    return Problem(message % {"limit": formats.number_format(MAX_ROWS, force_grouping=True)})


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
        raise UploadRefused([_too_many_rows()])
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
