"""
What the reader makes of each kind of cell in an uploaded workbook: the values openpyxl read from the same file, dates
by their number format in either date system, and day numbers that are no date refused with their row and column.
"""

import datetime as dt
import io
import zipfile

import factories
import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from test_spreadsheets import HEADER, row
from test_text_limits import refused, stage  # noqa: F401 (a fixture)

from devtools import hostile_files
from implementation import spreadsheets
from implementation.spreadsheets.reading import Formula

EXPLANATION = HEADER.index("Explanation") + 1
SOURCE_DATE = HEADER.index("Source date") + 1


def moment(year, month, day, *time):
    """A date and time as a spreadsheet holds it: of no time zone."""
    return dt.datetime.combine(dt.date(year, month, day), dt.time(*time))


# (value, number format), each written in the Explanation column of a row of its own.
CELLS = [
    ("Marking law adopted", None),
    (42, None),
    (2.5, None),
    (-3, None),
    (True, None),
    (False, None),
    (0.25, "0%"),
    (moment(2024, 5, 1, 13, 30, 15), None),
    (dt.date(2023, 6, 30), "yyyy-mm-dd"),
    (45413, "dd/mm/yyyy"),
    (45413.75, "d mmmm yyyy h:mm"),
    (45413, "[Red][$-409]d-mmm-yy;@"),
    (45413, '0 "days"'),
    (45413, "14"),
    (59, "yyyy-mm-dd"),
    (61, "yyyy-mm-dd"),
    (dt.timedelta(hours=30, minutes=15), "[h]:mm"),
    ("=1+1", None),
    ('=IF(1,"Implemented","")', None),
    ("#N/A", None),
    ("#DIV/0!", None),
    (CellRichText(TextBlock(InlineFont(b=True), "Marking "), "law"), None),
]


def workbook_of(cells, epoch=None):
    """A workbook whose "Ratings" sheet has the header, then each of ``cells`` in the Explanation column of a row."""
    workbook = openpyxl.Workbook()
    if epoch is not None:
        workbook.epoch = epoch
    sheet = workbook.active
    sheet.title = "Ratings"
    sheet.append(HEADER)
    for number, (value, number_format) in enumerate(cells, start=2):
        sheet.cell(number, 1, "JAM")
        cell = sheet.cell(number, EXPLANATION, value)
        if number_format == "14":
            cell.number_format = openpyxl.styles.numbers.BUILTIN_FORMATS[14]
        elif number_format:
            cell.number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read(data):
    return spreadsheets.read_sheet(SimpleUploadedFile("ratings.xlsx", data))


def explanations(data):
    """Each row's Explanation, with its type, as the reader reads it."""
    return [(type(values["explanation"]), values["explanation"]) for _, values in read(data).rows]


def explanations_by_openpyxl(data):
    """The same, as openpyxl read them (a formula's text as a ``Formula``)."""
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    values = []
    for (cell,) in workbook["Ratings"].iter_rows(min_row=2, min_col=EXPLANATION, max_col=EXPLANATION):
        value = Formula(cell.value) if cell.data_type == "f" else cell.value
        values.append((type(value), value))
    workbook.close()
    return values


def test_a_workbook_reads_the_values_openpyxl_read():
    data = workbook_of(CELLS)
    assert explanations(data) == explanations_by_openpyxl(data)


def test_a_workbook_reads_each_kind_of_cell():
    values = [value for _, value in explanations(workbook_of(CELLS))]
    assert values[:7] == ["Marking law adopted", 42, 2.5, -3, True, False, 0.25]
    assert values[7:12] == [
        moment(2024, 5, 1, 13, 30, 15),
        moment(2023, 6, 30),
        moment(2024, 5, 1),
        moment(2024, 5, 1, 18, 0),
        moment(2024, 5, 1),
    ]
    assert values[12] == 45413  # a number format with "days" in quotes shows no date
    assert values[13:16] == [moment(2024, 5, 1), moment(1900, 2, 28), moment(1900, 3, 1)]
    assert values[16] == dt.timedelta(hours=30, minutes=15)
    assert values[17:19] == ["=1+1", '=IF(1,"Implemented","")']
    assert all(isinstance(value, Formula) for value in values[17:19])
    assert values[19:] == ["#N/A", "#DIV/0!", "Marking law"]


def test_a_1904_workbook_reads_its_dates():
    cells = [(dt.date(2025, 1, 1), "yyyy-mm-dd"), (moment(1904, 1, 2, 12), "yyyy-mm-dd h:mm"), (2, None)]
    data = workbook_of(cells, epoch=CALENDAR_MAC_1904)
    assert explanations(data) == explanations_by_openpyxl(data)
    assert [value for _, value in explanations(data)] == [moment(2025, 1, 1), moment(1904, 1, 2, 12), 2]


def test_shared_strings_read_with_their_rich_text_joined():
    main = hostile_files.MAIN
    shared = (
        f'<sst xmlns="{main}"><si><t>JAM</t></si>'
        '<si><r><t xml:space="preserve">Marking </t></r><r><rPr><b/></rPr><t>law</t></r>'
        '<rPh sb="0" eb="1"><t>ignored</t></rPh></si>'
        "<si><t>Line one_x000D_\nLine two</t></si></sst>"
    ).encode()
    cells = (
        f'<row r="{number}"><c r="A{number}" t="s"><v>0</v></c>'
        f'<c r="{hostile_files.EXPLANATION}{number}" t="s"><v>{number - 1}</v></c></row>'.encode()
        for number in (2, 3)
    )
    data = hostile_files.with_parts(
        hostile_files.good_workbook(),
        {"xl/sharedStrings.xml": shared, hostile_files.SHEET_PART: hostile_files.sheet_xml(cells)},
    )
    sheet = read(data)
    assert [values["state"] for _, values in sheet.rows] == ["JAM", "JAM"]
    # Excel writes a carriage return as _x000D_; openpyxl left it so.
    assert [values["explanation"] for _, values in sheet.rows] == ["Marking law", "Line one\r\nLine two"]


def test_a_workbook_without_shared_strings_reads_as_libreoffice_writes_it():
    # Inline strings, a formula's text result (t="str"), no cell or row references, and a namespace prefix.
    main = hostile_files.MAIN
    header = "".join(f'<x:c t="inlineStr"><x:is><x:t>{name}</x:t></x:is></x:c>' for name in HEADER)
    values = [
        '<x:c t="inlineStr"><x:is><x:t>JAM</x:t></x:is></x:c>',
        '<x:c t="str"><x:v>SALW-04</x:v></x:c>',
        "<x:c/>",
        "<x:c/>",
        '<x:c t="inlineStr"><x:is><x:r><x:t>Largely </x:t></x:r><x:r><x:t>implemented</x:t></x:r></x:is></x:c>',
        '<x:c t="b"><x:v>1</x:v></x:c>',
    ]
    sheet_xml = (
        f'<x:worksheet xmlns:x="{main}"><x:sheetData><x:row>{header}</x:row>'
        f"<x:row>{''.join(values)}</x:row></x:sheetData></x:worksheet>"
    ).encode()
    data = hostile_files.with_parts(hostile_files.good_workbook(), {hostile_files.SHEET_PART: sheet_xml})
    sheet = read(data)
    assert sheet.rows == [
        (
            2,
            {
                "state": "JAM",
                "code": "SALW-04",
                "status": "Largely implemented",
                "explanation": True,
                "justification": None,
                "source_document": None,
                "source_reference": None,
                "source_url": None,
                "source_date": None,
            },
        )
    ]


def dated_upload(serial, number_format="yyyy-mm-dd", epoch=None):
    """A workbook of one row whose Source date is ``serial`` in a cell formatted as a date."""
    workbook = openpyxl.Workbook()
    if epoch is not None:
        workbook.epoch = epoch
    sheet = workbook.active
    sheet.title = "Ratings"
    sheet.append(HEADER)
    sheet.append(row())
    sheet.cell(2, SOURCE_DATE, serial).number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("ratings.xlsx", buffer.getvalue())


@pytest.mark.parametrize(
    ("serial", "message"),
    [
        (60, "Day 60 is 29 February 1900, a day that never was"),
        (60.5, "Day 60 is 29 February 1900, a day that never was"),
        (0, "0 is not a date: spreadsheets count days from 1"),
        (0.5, "0.5 is not a date: spreadsheets count days from 1"),
        (-6, "-6 is not a date: spreadsheets count days from 1"),
    ],
)
def test_a_date_cell_that_is_no_date_is_refused_naming_row_and_column(stage, serial, message):  # noqa: F811
    (problem,) = refused(stage, dated_upload(serial))
    assert problem.startswith("Row 2, column Source date:"), problem
    assert message in problem, problem


def test_a_date_cell_past_the_calendar_is_refused_naming_row_and_column(stage):  # noqa: F811
    (problem,) = refused(stage, dated_upload(3_000_000, "dd/mm/yyyy"))
    assert problem.startswith("Row 2, column Source date:") and "not a plausible date" in problem, problem


@pytest.mark.parametrize(
    ("serial", "number_format", "epoch"),
    [(45658, "dd/mm/yyyy", None), (45658, "14", None), (44196, "yyyy-mm-dd", CALENDAR_MAC_1904)],
)
def test_a_date_cell_reads_as_its_date(world, ratings, analyst, serial, number_format, epoch):
    if number_format == "14":
        number_format = openpyxl.styles.numbers.BUILTIN_FORMATS[14]
    staged = factories.staged_upload(upload=dated_upload(serial, number_format, epoch), by=analyst)
    (changed,) = [row for row in staged.rows if row.get("values")]
    assert changed["values"]["source_date"] == "2025-01-01"


def test_a_workbook_whose_compressed_sheet_is_broken_is_refused():
    data = bytearray(hostile_files.good_workbook([["JAM", "SALW-04"]]))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(hostile_files.SHEET_PART)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for offset in range(start + 5, start + 40):
        data[offset] ^= 0xFF
    with pytest.raises(spreadsheets.UploadRefused) as refusal:
        read(bytes(data))
    assert str(refusal.value.problems[0]).startswith("The workbook could not be read ("), refusal.value.problems
