"""Reading an uploaded file, XLSX or CSV, into a ``Sheet`` of raw cell values, or refusing it (``UploadRefused``)."""

import csv
import dataclasses
import datetime as dt
import io
import math
import posixpath
import re
import zipfile
import zlib
from xml.parsers import expat

from django.utils import formats
from django.utils.translation import gettext as _

from core import limits

from .columns import COLUMN_BY_FIELD, COLUMNS, REQUIRED_FIELDS, SHEET, header_key, vocabulary

# The bounds of an upload, checked as the workbook is read, each before what it bounds is expanded. Each refusal names
# its limit.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# A workbook is a zip: refuse one that unpacks, by its own account or in fact, to far more than a sheet of ratings.
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024
# ... or to far more than its own size: workbooks unpack to 3 to 15 times theirs (docs/performance.md), so that the
# work a file costs follows its size. A file may always unpack to the size of the largest upload.
MAX_UNZIPPED_RATIO = 100
MAX_ZIP_MEMBERS = 1_000
# Every State × every measure is about 14,000 rows; twice that is not a file of ratings.
MAX_ROWS = 30_000
# Columns a row may fill; a value to their right refuses the file (Excel's last column is XFD).
MAX_COLUMNS = 64
# Filled cells in the sheet: as many as a full sheet of rows has columns.
MAX_CELLS = MAX_ROWS * len(COLUMNS)
# Elements in the XML parts read: each costs a call into Python, so this bounds the time a file takes however small
# its elements are. A full sheet, 30,000 rows of 11 cells in inline strings, has 1,020,000.
MAX_XML_ELEMENTS = 1_100_000
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
            rows = _read_parts(archive, names, len(data))
        except _UNREADABLE as error:
            raise _unreadable(error) from None
    if not rows:
        raise UploadRefused([Problem(_("The '%(sheet)s' sheet is empty.") % {"sheet": SHEET})])
    return rows[0][1], rows[1:]


# What a broken workbook raises. A member that unpacks to more than its header says fails its checksum (BadZipFile):
# zipfile stops at that size. RuntimeError: a member encrypted; zlib.error: a member's compressed data broken.
_UNREADABLE = (
    zipfile.BadZipFile,
    NotImplementedError,
    EOFError,
    RuntimeError,
    zlib.error,
    expat.ExpatError,
    ValueError,
    IndexError,
)


def _too_large_unzipped():
    message = _("The workbook unpacks to more than %(limit)s MB; it cannot be a sheet of ratings.")
    return Problem(message % {"limit": formats.number_format(MAX_UNZIPPED_BYTES // 1024 // 1024)})


def _read_parts(archive, names, size):
    """
    The rows of the "Ratings" sheet as ``(row number, [value by column])``, as wide as its header, read in one pass
    over each part needed and refused at the first bound crossed; the other parts are only unpacked, which checks them.
    """
    budget = _Budget(size)
    book = _BookScan()
    budget.scan(archive, "xl/workbook.xml", book)
    relation = _ratings_relation(book)
    relations = _RelationsScan()
    if "xl/_rels/workbook.xml.rels" in names:
        budget.scan(archive, "xl/_rels/workbook.xml.rels", relations)
    sheet_part = _part_name(relations.targets.get(relation, ""))
    if sheet_part not in names:
        raise _unreadable(KeyError(sheet_part))
    strings = _SharedStringsScan()
    shared = _part_name(relations.by_type.get("sharedStrings", "sharedStrings.xml"))
    if shared in names:
        budget.scan(archive, shared, strings)
    styles = _StylesScan()
    styles_part = _part_name(relations.by_type.get("styles", "styles.xml"))
    if styles_part in names:
        budget.scan(archive, styles_part, styles)
    sheet = _SheetScan(strings.strings, styles.date_formats(), book.date1904)
    budget.scan(archive, sheet_part, sheet)
    for name in sorted(names - budget.scanned):
        budget.scan(archive, name, None)
    return sheet.rows


def _ratings_relation(book):
    """The relationship id of the "Ratings" sheet, or ``UploadRefused`` if the workbook lacks it or hides it."""
    if SHEET not in book.found:
        found = ", ".join(f"'{name}'" for name in book.found)
        message = _("The workbook has no sheet called '%(sheet)s' (it has %(found)s). Fill in the '%(sheet)s' sheet.")
        raise UploadRefused([Problem(message % {"sheet": SHEET, "found": found})])
    state, relation = book.found[SHEET]
    if state in ("hidden", "veryHidden"):
        message = _(
            "The '%(sheet)s' sheet of the workbook is hidden, so what it holds is not what the workbook shows. Unhide "
            "it and check it, or upload the workbook you downloaded."
        )
        raise UploadRefused([Problem(message % {"sheet": SHEET})])
    return relation


def _part_name(target):
    """The zip member a target of the workbook's relationships names."""
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


class _Budget:
    """What the scans have unpacked and parsed so far, refused as soon as it exceeds a bound."""

    def __init__(self, size):
        self.unzipped = 0
        self.elements = 0
        self.allowed = max(MAX_UNZIPPED_RATIO * size, MAX_UPLOAD_BYTES)
        self.scanned = set()

    def scan(self, archive, name, scan):
        self.scanned.add(name)
        with archive.open(name) as member:
            while chunk := member.read(64 * 1024):
                self.unzipped += len(chunk)
                if self.unzipped > MAX_UNZIPPED_BYTES:
                    raise UploadRefused([_too_large_unzipped()])
                if self.unzipped > self.allowed:
                    message = _(
                        "The workbook unpacks to more than %(ratio)s times its size; it cannot be a sheet of ratings."
                    )
                    raise UploadRefused([Problem(message % {"ratio": MAX_UNZIPPED_RATIO})])
                if scan is not None:
                    # Counted before expat sees them: "<" opens every tag, "</" closes an element.
                    self.elements += chunk.count(b"<") - chunk.count(b"</")
                    if self.elements > MAX_XML_ELEMENTS:
                        message = _(
                            "The workbook's XML holds more than %(limit)s elements; it cannot be a sheet of ratings."
                        )
                        limit = formats.number_format(MAX_XML_ELEMENTS, force_grouping=True)
                        raise UploadRefused([Problem(message % {"limit": limit})])
                    scan.feed(chunk)
        if scan is not None:
            scan.feed(b"", final=True)


# The elements of a spreadsheet's main namespace, by the name expat gives them ("namespace local").
_LOCAL_NAMES = {
    f"http://schemas.openxmlformats.org/spreadsheetml/2006/main {name}": name
    for name in ("row", "c", "v", "f", "is", "t", "r", "rPr", "rPh", "si")
}


def _too_deep():
    message = _("The workbook's XML is nested more than %(limit)s levels deep; save it again in Excel.")
    return UploadRefused([Problem(message % {"limit": MAX_XML_DEPTH})])


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
        # A text comes in one piece rather than split at every line and entity.
        self.parser.buffer_text = True
        self.depth = 0

    def feed(self, chunk, final=False):
        self.parser.Parse(chunk, final)

    def _start(self, name, attributes):
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            raise _too_deep()
        self.start(_LOCAL_NAMES.get(name) or name.rpartition(" ")[2], attributes)

    def _end(self, name):
        self.depth -= 1
        self.end(_LOCAL_NAMES.get(name) or name.rpartition(" ")[2])

    def start(self, name, attributes):
        pass

    def end(self, name):
        pass

    def text(self, data):
        pass


class _BookScan(_Scan):
    """The workbook's sheets, name → (state, relationship id), and its date system."""

    def __init__(self):
        super().__init__()
        self.found = {}
        self.date1904 = False

    def start(self, name, attributes):
        if name == "sheet":
            relation = next((value for key, value in attributes.items() if key.endswith(" id")), "")
            self.found[attributes.get("name", "")] = (attributes.get("state", "visible"), relation)
        elif name == "workbookPr":
            self.date1904 = attributes.get("date1904", "").lower() in ("1", "true")


class _RelationsScan(_Scan):
    """The targets of the workbook's relationships, by id and by type (the first of each)."""

    def __init__(self):
        super().__init__()
        self.targets = {}
        self.by_type = {}

    def start(self, name, attributes):
        if name == "Relationship":
            target = attributes.get("Target", "")
            self.targets[attributes.get("Id")] = target
            self.by_type.setdefault(attributes.get("Type", "").rpartition("/")[2], target)


class _SharedStringsScan(_Scan):
    """
    The shared-strings table, each entry's text (its rich-text runs joined, its phonetic guide left out), each entry
    and the number of them bounded.
    """

    def __init__(self):
        super().__init__()
        self.strings = []
        self.parts = None
        self.length = 0
        self.reading = False
        self.phonetic = False

    def start(self, name, attributes):
        if name == "si":
            if len(self.strings) >= MAX_SHARED_STRINGS:
                message = _("The workbook holds more than %(limit)s different texts; it cannot be a sheet of ratings.")
                limit = formats.number_format(MAX_SHARED_STRINGS, force_grouping=True)
                raise UploadRefused([Problem(message % {"limit": limit})])
            self.parts = []
            self.length = 0
        elif name == "t":
            self.reading = not self.phonetic
        elif name == "rPh":
            self.phonetic = True

    def end(self, name):
        if name == "si":
            self.strings.append(_unescape("".join(self.parts)))
            self.parts = None
        elif name == "t":
            self.reading = False
        elif name == "rPh":
            self.phonetic = False

    def text(self, data):
        if self.parts is not None:
            self.length += len(data)
            if self.length > MAX_CELL_CHARS:
                raise UploadRefused([_cell_too_long()])
            if self.reading:
                self.parts.append(data)


# The number formats Excel has built in that show a date or a time: 27 to 36 and 50 to 58 are those of its East Asian
# versions. 46 ([h]:mm:ss) is a duration.
BUILTIN_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
BUILTIN_DURATION_FORMAT = 46
# In a custom number format, text in quotes and bracketed colours or locales say nothing of dates; a date or time code
# (d, m, y, h, s) not escaped does; [h], [m] or [s] make a duration.
_FORMAT_LITERAL = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_CODE = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_DURATION_CODE = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.IGNORECASE)


class _StylesScan(_Scan):
    """The number format of each cell format, from the styles part."""

    def __init__(self):
        super().__init__()
        self.custom = {}
        self.cell_formats = []
        self.in_cell_formats = False

    def start(self, name, attributes):
        if name == "numFmt":
            self.custom[_number_format_id(attributes.get("numFmtId"))] = attributes.get("formatCode", "")
        elif name == "cellXfs":
            self.in_cell_formats = True
        elif name == "xf" and self.in_cell_formats:
            self.cell_formats.append(_number_format_id(attributes.get("numFmtId")))

    def end(self, name):
        if name == "cellXfs":
            self.in_cell_formats = False

    def date_formats(self):
        """The cell formats that show a date, by their index as a cell's ``s`` names it: ``True`` for a duration."""
        dates = {}
        for index, format_id in enumerate(self.cell_formats):
            if format_id in self.custom:
                # Only the format of positive numbers, the first of up to four.
                code = _FORMAT_LITERAL.sub("", self.custom[format_id].split(";")[0])
                if _DATE_CODE.search(code):
                    dates[str(index)] = _DURATION_CODE.search(code) is not None
            elif format_id in BUILTIN_DATE_FORMATS:
                dates[str(index)] = format_id == BUILTIN_DURATION_FORMAT
        return dates


def _number_format_id(value):
    try:
        return int(value or 0)
    except ValueError:
        return None


def _cell_too_long(row=None, column=None):
    message = _("a cell holds more than %(limit)s characters, the most a cell can hold.")
    if row is None:
        message = _("The workbook holds a text of more than %(limit)s characters, the most a cell can hold.")
    limit = formats.number_format(MAX_CELL_CHARS, force_grouping=True)
    return Problem(message % {"limit": limit}, row=row, column=column)


class _SheetScan(_Scan):
    """
    The "Ratings" sheet's rows, each cell's value converted as it is read, every row as wide as the header. Refused at
    the first row past ``MAX_ROWS``, the first value right of ``MAX_COLUMNS``, the first cell longer than
    ``MAX_CELL_CHARS`` or past ``MAX_CELLS``.
    """

    def __init__(self, strings, dates, date1904):
        super().__init__()
        self.strings = strings
        self.dates = dates
        self.date1904 = date1904
        self.rows = []
        # How many columns the header spans: counted in row 1, then every row is read that wide.
        self.width = None
        self.header_width = 0
        self.cells = 0
        self.row = 0
        self.values = {}
        # The cell being read: its column, type, style, and the texts of its value, formula and inline string.
        self.column = 0
        self.kind = "n"
        self.style = None
        self.value = None
        self.formula = None
        self.inline = None
        self.target = None
        self.length = 0
        self.counted = False
        self.reading = False
        self.phonetic = False

    # The start and end of each element, in place of start() and end(): called for every element of the sheet.
    def _start(self, name, attributes):
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            raise _too_deep()
        name = _LOCAL_NAMES.get(name) or name.rpartition(" ")[2]
        if name == "c":
            reference = attributes.get("r")
            if reference:
                letters = reference.rstrip("0123456789")
                column = _COLUMN_NUMBERS.get(letters)
                if column is None:
                    try:
                        column = _column_index(letters) if letters else self.column + 1
                    except ValueError:
                        raise _unreadable(ValueError(reference)) from None
                self.column = column
            else:
                self.column += 1
            self.kind = attributes.get("t", "n")
            self.style = attributes.get("s")
            self.value = self.formula = self.inline = None
            self.length = 0
            self.counted = False
        elif name == "v" or name == "t" or name == "f":
            if self.column > MAX_COLUMNS:
                message = _(
                    "something is written beyond the sheet's last column, %(limit)s; delete what is right of it."
                )
                limit = _column_letter(MAX_COLUMNS)
                raise UploadRefused([Problem(message % {"limit": limit}, self.row, _column_letter(self.column))])
            if not self.counted:
                self.counted = True
                self.cells += 1
                if self.cells > MAX_CELLS:
                    message = _("The sheet has more than %(limit)s filled cells; it cannot be a sheet of ratings.")
                    limit = formats.number_format(MAX_CELLS, force_grouping=True)
                    raise UploadRefused([Problem(message % {"limit": limit})])
            self.reading = True
            if name == "v":
                self.target = self.value = []
            elif name == "f":
                self.target = self.formula = []
            elif self.inline is not None and not self.phonetic:
                self.target = self.inline
        elif name == "row":
            self.row = _position(attributes.get("r"), self.row + 1)
            if self.row > MAX_ROWS + 1:
                raise UploadRefused([_too_many_rows()])
            self.column = 0
            self.values = {}
        elif name == "is":
            self.inline = []
        elif name == "rPh":
            self.phonetic = True

    def _end(self, name):
        self.depth -= 1
        name = _LOCAL_NAMES.get(name) or name.rpartition(" ")[2]
        if name == "c":
            # A cell with neither value, formula nor text (only a format) is empty.
            if (self.counted or self.inline is not None) and (self.width is None or self.column <= self.width):
                if self.row == 1 and self.length:
                    self.header_width = max(self.header_width, self.column)
                value = self._value()
                if value is not None:
                    self.values[self.column] = value
        elif name == "v" or name == "t" or name == "f":
            self.reading = False
            self.target = None
        elif name == "row":
            self._add_row()
        elif name == "rPh":
            self.phonetic = False

    def text(self, data):
        if self.reading:
            self.length += len(data)
            if self.length > MAX_CELL_CHARS:
                raise UploadRefused([_cell_too_long(self.row, _column_letter(self.column))])
            if self.target is not None:
                self.target.append(data)

    def _add_row(self):
        if self.width is None:
            self.width = max(self.header_width, 1) if self.row == 1 else 1
        rows = self.rows
        if self.row <= len(rows):
            return  # a row out of order or repeated, which no spreadsheet program writes: left out
        # Rows missing from the file are empty, as a spreadsheet shows them.
        while len(rows) + 1 < self.row:
            rows.append((len(rows) + 1, [None] * self.width))
        values = self.values
        rows.append((self.row, [values.get(column) for column in range(1, self.width + 1)]))

    def _value(self):
        """The cell's value as a spreadsheet shows it: text, a number, a date, ``True`` or ``False``, a ``Formula``."""
        if self.formula is not None:
            # Formulas are refused wherever they are; a cell filled down from another has no text of its own.
            return Formula("=" + "".join(self.formula) if self.formula else "=…")
        kind = self.kind
        if kind == "inlineStr":
            return None if self.inline is None else _unescape("".join(self.inline))
        text = "".join(self.value) if self.value else ""
        if not text:
            return None
        if kind == "n":
            number = _number(text)
            if self.style in self.dates:
                return _date(number, duration=self.dates[self.style], date1904=self.date1904)
            return number
        if kind == "s":
            index = int(text)
            if index < 0:
                raise IndexError(index)
            return self.strings[index]
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return _iso_date(text)
        # "str" (a formula's text), "e" (an error, "#N/A": refused by the checks with its row and column)
        return text


def _number(text):
    number = float(text) if "." in text or "e" in text or "E" in text else int(text)
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(text)
    return number


def _date(serial, *, duration, date1904):
    """
    The date and time of a day number in a cell formatted as a date, or the number itself if it is no date: before
    day 1, Excel's 29 February 1900 (day 60), or past 9999. The checks refuse such a number, naming its row and column.
    """
    if duration:
        try:
            return dt.timedelta(milliseconds=round(serial * 86_400_000))
        except OverflowError:
            return serial
    if date1904:
        if serial < 0:
            return serial
        start = _EPOCH_1904
    elif serial < 1 or int(serial) == limits.EXCEL_LEAP_DAY:
        return serial
    else:
        start = _EPOCH_1900
    days, fraction = divmod(serial, 1)
    if not date1904 and serial < limits.EXCEL_LEAP_DAY:
        # Excel counts 29 February 1900, the day that never was: only from day 61 on is it one day ahead.
        days += 1
    try:
        return start + dt.timedelta(days=days, milliseconds=round(fraction * 86_400_000))
    except OverflowError:
        return serial


# A cell's date and time are of no time zone.
_EPOCH_1900 = dt.datetime.combine(limits.EXCEL_EPOCH, dt.time())
_EPOCH_1904 = dt.datetime.combine(dt.date(1904, 1, 1), dt.time())


def _iso_date(text):
    """A cell of type "d": a date, a time or both in ISO 8601."""
    if "-" not in text:
        return dt.time.fromisoformat(text)
    if "T" in text or " " in text:
        return dt.datetime.fromisoformat(text)
    return dt.date.fromisoformat(text)


_ESCAPED = re.compile("_x([0-9A-Fa-f]{4})_")


def _unescape(text):
    """``text`` with the characters Excel writes as _xHHHH_ (a carriage return as _x000D_) restored."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(_escaped_character, text)


def _escaped_character(match):
    code = int(match.group(1), 16)
    # Half of a surrogate pair is no character: left as written.
    return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)


def _column_index(letters):
    """The number of a column from its letters (A is 1), or ``ValueError``; "ZZZ" is the last."""
    if not 0 < len(letters) <= 3 or not letters.isascii() or not letters.isalpha():
        raise ValueError(letters)
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index


def _column_letter(index):
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# The columns of one and two letters (A to ZZ) by their letters; the rest are worked out.
_COLUMN_NUMBERS = {_column_letter(index): index for index in range(1, 703)}


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
