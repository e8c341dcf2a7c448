"""
Workbooks made to exhaust a server that reads them, each small enough to upload: the corpus that
``tests/test_hostile_files.py`` refuses and ``bench_hostile_files`` times (docs/performance.md, "Hostile files").
"""

import io
import struct
import zipfile

import openpyxl
from openpyxl.utils import get_column_letter

from implementation.spreadsheets import COLUMN_BY_FIELD, COLUMNS, SHEET

HEADER = [column.header for column in COLUMNS]
SHEET_PART = "xl/worksheets/sheet1.xml"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
EXPLANATION = COLUMN_BY_FIELD["explanation"].letter


def good_workbook(rows=(), title=SHEET):
    """The bytes of a workbook whose one sheet, named ``title``, holds the header and ``rows``."""
    workbook = openpyxl.Workbook()
    workbook.active.title = title
    workbook.active.append(HEADER)
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_parts(data, replaced):
    """``data``, a workbook, with the zip members named in ``replaced`` given new bytes (or added)."""
    parts = dict(replaced)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, parts.pop(item.filename, None) or source.read(item.filename))
        for name, content in parts.items():
            target.writestr(name, content)
    return buffer.getvalue()


def sheet_xml(rows_xml, header=True):
    """A worksheet whose rows are ``rows_xml`` (an iterable of bytes), after the header row unless told otherwise."""
    head = b""
    if header:
        cells = "".join(
            f'<c r="{column.letter}1" t="inlineStr"><is><t>{column.header}</t></is></c>' for column in COLUMNS
        )
        head = f'<row r="1">{cells}</row>'.encode()
    return b"".join([f'<worksheet xmlns="{MAIN}"><sheetData>'.encode(), head, *rows_xml, b"</sheetData></worksheet>"])


def wide_rows(count):
    """``count`` rows each of one cell, in the last column Excel has (XFD)."""
    return with_parts(
        good_workbook(),
        {
            SHEET_PART: sheet_xml(
                f'<row r="{number}"><c r="XFD{number}"><v>1</v></c></row>'.encode() for number in range(2, count + 2)
            )
        },
    )


def empty_cells_far_right(count):
    """``count`` rows each ending in an empty, formatted cell at XFD: harmless, and never padded out to it."""
    return with_parts(
        good_workbook(),
        {
            SHEET_PART: sheet_xml(
                (
                    f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>JAM</t></is></c>'
                    f'<c r="XFD{number}" s="0"/></row>'
                ).encode()
                for number in range(2, count + 2)
            )
        },
    )


def shared_string_bomb():
    """Twenty rows whose explanation is one shared string of 5 MB."""
    workbook = good_workbook([["JAM", "SALW-04"] for _ in range(20)])
    return with_parts(
        workbook,
        {
            "xl/sharedStrings.xml": (
                f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>'.encode()
                + b"A" * 5_000_000
                + b"</t></si></sst>"
            ),
            SHEET_PART: sheet_xml(
                f'<row r="{number}"><c r="{EXPLANATION}{number}" t="s"><v>0</v></c></row>'.encode()
                for number in range(2, 22)
            ),
        },
    )


def too_many_shared_strings():
    """A shared-strings table of 200,000 one-letter texts."""
    entries = b"<si><t>a</t></si>" * 200_000
    return with_parts(
        good_workbook(), {"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">'.encode() + entries + b"</sst>"}
    )


def long_cell():
    """A cell whose text is 40,000 characters, written in the sheet itself."""
    cell = f'<row r="2"><c r="{EXPLANATION}2" t="inlineStr"><is><t>'.encode() + b"A" * 40_000 + b"</t></is></c></row>"
    return with_parts(good_workbook(), {SHEET_PART: sheet_xml([cell])})


def zip_bomb(megabytes=200):
    """A workbook with a member that unpacks to ``megabytes`` MB of spaces, as its header honestly says."""
    buffer = io.BytesIO(good_workbook())
    buffer.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("xl/padding.xml", "w") as member:
        for _ in range(megabytes):
            member.write(b" " * 1024 * 1024)
    return buffer.getvalue()


def lying_zip_bomb():
    """The same, but its headers say the member unpacks to 1 KB."""
    return declare_size(zip_bomb(), "xl/padding.xml", 1024)


def declare_size(data, name, size):
    """``data``, a zip, whose local and central headers for ``name`` declare ``size`` bytes unpacked."""
    data = bytearray(data)
    encoded = name.encode()
    for signature, size_at, name_length_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            (length,) = struct.unpack_from("<H", data, start + name_length_at)
            if data[start + name_at : start + name_at + length] == encoded:
                struct.pack_into("<I", data, start + size_at, size)
            start += 4
    return bytes(data)


def deep_xml(depth=100_000):
    """A cell whose text is nested ``depth`` elements deep."""
    cell = (
        b'<row r="2"><c r="D2" t="inlineStr"><is>'
        + b"<r>" * depth
        + b"<t>x</t>"
        + b"</r>" * depth
        + b"</is></c></row>"
    )
    return with_parts(good_workbook(), {SHEET_PART: sheet_xml([cell])})


def empty_rows(count=1_000_000):
    """``count`` empty rows after the header."""
    return with_parts(
        good_workbook(),
        {SHEET_PART: sheet_xml(f'<row r="{number}"/>'.encode() for number in range(2, count + 2))},
    )


def dense_sheet(rows=30_000, columns=64):
    """Every cell of ``rows`` × ``columns`` filled: within every other bound, and slow for openpyxl to read."""
    letters = [get_column_letter(index) for index in range(1, columns + 1)]

    def row(number):
        cells = "".join(f'<c r="{letter}{number}"><v>1</v></c>' for letter in letters)
        return f'<row r="{number}">{cells}</row>'.encode()

    return with_parts(good_workbook(), {SHEET_PART: sheet_xml(row(number) for number in range(2, rows + 2))})


def hidden_sheet():
    """The visible sheet renamed, and a hidden "Ratings" sheet holding other rows."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "Mine"
    workbook.active.append(HEADER)
    hidden = workbook.create_sheet(SHEET)
    hidden.append(HEADER)
    hidden.append(["JAM", "SALW-04", "", "", "Implemented", "Not what the workbook shows."])
    hidden.sheet_state = "hidden"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def missing_sheet():
    return good_workbook([["JAM", "SALW-04", "", "", "Implemented", "Fine."]], title="Sheet1")


def far_unpacked(megabytes=20):
    """A part of ``megabytes`` MB of spaces, as its header says: within the 50 MB, but 800 times the file's size."""
    return with_parts(good_workbook(), {"xl/padding.xml": b" " * megabytes * 1024 * 1024})


def empty_cells(rows=30_000, columns=60):
    """``rows`` rows of ``columns`` empty cells each: no value to count, but an element each for the parser."""
    letters = [get_column_letter(index) for index in range(1, columns + 1)]

    def row(number):
        cells = "".join(f'<c r="{letter}{number}" s="1"/>' for letter in letters)
        return f'<row r="{number}">{cells}</row>'.encode()

    return with_parts(good_workbook(), {SHEET_PART: sheet_xml(row(number) for number in range(2, rows + 2))})


# Name → how to make it; each made on demand, since a few take a second. All are refused.
CORPUS = {
    "wide rows (30,001 at XFD)": lambda: wide_rows(30_001),
    "shared-string bomb": shared_string_bomb,
    "too many shared strings": too_many_shared_strings,
    "long cell": long_cell,
    "zip bomb": zip_bomb,
    "zip bomb with lying headers": lying_zip_bomb,
    "deep XML": deep_xml,
    "dense sheet (30,000 × 64)": dense_sheet,
    "a million empty rows": empty_rows,
    "hidden sheet": hidden_sheet,
    "missing sheet": missing_sheet,
    "unpacked 800 times its size": far_unpacked,
    "empty cells (30,000 × 60)": empty_cells,
}

# Files a reader must get through quickly and accept, hostile as they look.
HARMLESS = {
    "empty cells at XFD (8,000 rows)": lambda: empty_cells_far_right(8_000),
}
