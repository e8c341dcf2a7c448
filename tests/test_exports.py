"""
Table exports: CSV and XLSX read back as a person's spreadsheet would, escaped against
formula injection. No database: the rows are plain dicts and objects.
"""

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from html import unescape
from types import SimpleNamespace

import openpyxl
import pytest

from implementation.exports import Column, Table, escape_formula, export_response, safe_filename, sheet_title

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Text that a spreadsheet would run as a formula, one per OWASP prefix.
FORMULAS = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://example.com","Click")']

# Values that must come out as they went in.
HARMLESS = ["Jamaica", "", "a=b", "email@example.org", "1-2", " =x", "'quoted"]

NAIROBI = dt.timezone(dt.timedelta(hours=3))


def naive(*args):
    """A datetime without a time zone, as Excel holds one."""
    return dt.datetime(*args, tzinfo=dt.UTC).replace(tzinfo=None)


def ratings_table(rows):
    return Table(
        title="Ratings",
        columns=[
            Column("State", "state"),
            Column("Measure", "measure"),
            Column("Count", "count"),
            Column("Set on", "set_on"),
        ],
        rows=rows,
    )


JAMAICA_ROW = {"state": "Jamaica", "measure": "1.1", "count": 3, "set_on": dt.date(2025, 3, 14)}


def read_csv(response):
    assert response.content.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def read_xlsx(response):
    return openpyxl.load_workbook(io.BytesIO(response.content))


def xlsx_rows(response):
    return [list(row) for row in read_xlsx(response).worksheets[0].iter_rows(values_only=True)]


def one_column(values, source="value"):
    return Table(title="Values", columns=[Column("Value", source)], rows=[{"value": value} for value in values])


# escape_formula


@pytest.mark.parametrize("text", FORMULAS)
def test_text_starting_like_a_formula_gets_a_leading_quote(text):
    assert escape_formula(text) == "'" + text


@pytest.mark.parametrize("text", HARMLESS)
def test_other_text_is_left_alone(text):
    assert escape_formula(text) == text


@pytest.mark.parametrize("value", [None, 0, -1, -2.5, Decimal("-3.10"), True, dt.date(2025, 1, 1)])
def test_values_that_are_not_text_are_left_alone(value):
    assert escape_formula(value) is value


# Columns


def test_a_column_reads_a_key_an_attribute_a_dotted_path_or_a_callable():
    row = SimpleNamespace(state=SimpleNamespace(name="Kenya"), status="implemented")
    assert Column("Status", "status").value(row) == "implemented"
    assert Column("State", "state.name").value(row) == "Kenya"
    assert Column("Status", lambda r: r.status.title()).value(row) == "Implemented"
    assert Column("State", "state__name").value({"state__name": "Kenya"}) == "Kenya"
    assert Column("State", "state.name").value({"state": {"name": "Kenya"}}) == "Kenya"


def test_a_dotted_path_through_a_missing_relation_reads_as_empty():
    assert Column("Workshop", "workshop.name").value(SimpleNamespace(workshop=None)) is None


# The response


@pytest.mark.parametrize(
    ("fmt", "content_type", "filename"),
    [("csv", "text/csv; charset=utf-8", "ratings.csv"), ("xlsx", XLSX, "ratings.xlsx")],
)
def test_the_response_is_a_download_of_the_right_type(fmt, content_type, filename):
    response = export_response(ratings_table([JAMAICA_ROW]), fmt, "ratings")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'


@pytest.mark.parametrize("fmt", ["pdf", "CSV", "", None, "csv "])
def test_an_unknown_format_is_refused_with_a_message_for_the_user(fmt):
    with pytest.raises(ValueError, match="^format must be csv or xlsx$"):
        export_response(ratings_table([JAMAICA_ROW]), fmt, "ratings")


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("ratings", "csv", "ratings.csv"),
        ("ratings-2025_03.v2", "xlsx", "ratings-2025_03.v2.xlsx"),
        ("Côte d'Ivoire profile", "csv", "Cote_d_Ivoire_profile.csv"),
        ('a"b;c\r\nContent-Type: text/html', "csv", "a_b_c_Content-Type_text_html.csv"),
        ("../../etc/passwd", "xlsx", "etc_passwd.xlsx"),
        ("ratings.csv", "csv", "ratings.csv"),
        ("ratings.XLSX", "xlsx", "ratings.xlsx"),
        ("مصر", "csv", "export.csv"),
        ("", "xlsx", "export.xlsx"),
        ("x" * 300, "csv", "x" * 100 + ".csv"),
    ],
)
def test_the_filename_keeps_only_safe_characters_and_gets_its_extension(name, fmt, expected):
    assert safe_filename(name, fmt) == expected


def test_the_disposition_carries_the_sanitised_filename():
    response = export_response(ratings_table([]), "csv", 'Région "Caraïbes"')
    assert response["Content-Disposition"] == 'attachment; filename="Region_Caraibes.csv"'


# CSV


def test_csv_round_trips_the_header_and_rows():
    rows = [JAMAICA_ROW, {"state": "Kenya", "measure": "2.4", "count": 0, "set_on": None}]
    assert read_csv(export_response(ratings_table(rows), "csv", "ratings")) == [
        ["State", "Measure", "Count", "Set on"],
        ["Jamaica", "1.1", "3", "2025-03-14"],
        ["Kenya", "2.4", "0", ""],
    ]


def test_csv_writes_dates_and_datetimes_as_iso_with_aware_ones_in_utc():
    values = [dt.date(2025, 3, 14), naive(2025, 3, 14, 9, 30), dt.datetime(2025, 3, 14, 9, 30, tzinfo=NAIROBI)]
    assert read_csv(export_response(one_column(values), "csv", "dates"))[1:] == [
        ["2025-03-14"],
        ["2025-03-14T09:30:00"],
        ["2025-03-14T06:30:00+00:00"],
    ]


@pytest.mark.parametrize("text", FORMULAS)
def test_csv_escapes_every_formula_prefix(text):
    assert read_csv(export_response(one_column([text]), "csv", "x"))[1] == ["'" + text]


def test_csv_leaves_plain_text_numbers_and_empty_cells_alone():
    values = [*HARMLESS, -1, -2.5, Decimal("-3.10"), 0, None]
    rows = read_csv(export_response(one_column(values), "csv", "x"))[1:]
    assert rows == [[text] for text in HARMLESS] + [["-1"], ["-2.5"], ["-3.10"], ["0"], [""]]


def test_csv_escapes_a_header_that_looks_like_a_formula():
    table = Table(title="T", columns=[Column("=cmd", "value")], rows=[])
    assert read_csv(export_response(table, "csv", "x")) == [["'=cmd"]]


def test_csv_keeps_french_and_arabic_text():
    values = ["Côte d'Ivoire", "Sécurité des armes légères", "مصر", "الجمهورية العربية السورية"]
    assert read_csv(export_response(one_column(values), "csv", "x"))[1:] == [[text] for text in values]


def test_csv_leaves_the_notes_out():
    response = export_response(ratings_table([JAMAICA_ROW]), "csv", "x", notes=["Region: Caribbean"])
    assert b"Caribbean" not in response.content
    assert len(read_csv(response)) == 2


# XLSX


def test_xlsx_round_trips_the_header_and_typed_rows():
    rows = [
        JAMAICA_ROW,
        {"state": "Kenya", "measure": "2.4", "count": -2, "set_on": None},
        {"state": "France", "measure": "3.1", "count": 1.5, "set_on": dt.date(2024, 12, 31)},
    ]
    assert xlsx_rows(export_response(ratings_table(rows), "xlsx", "ratings")) == [
        ["State", "Measure", "Count", "Set on"],
        ["Jamaica", "1.1", 3, naive(2025, 3, 14)],
        ["Kenya", "2.4", -2, None],
        ["France", "3.1", 1.5, naive(2024, 12, 31)],
    ]


def test_xlsx_writes_dates_as_real_dates_and_aware_datetimes_as_utc():
    values = [dt.date(2025, 3, 14), naive(2025, 3, 14, 9, 30), dt.datetime(2025, 3, 14, 9, 30, tzinfo=NAIROBI)]
    sheet = read_xlsx(export_response(one_column(values), "xlsx", "dates")).worksheets[0]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.is_date for cell in cells)
    assert cells[0].number_format == "yyyy-mm-dd"
    assert [cell.value for cell in cells] == [
        naive(2025, 3, 14),
        naive(2025, 3, 14, 9, 30),
        naive(2025, 3, 14, 6, 30),
    ]


@pytest.mark.parametrize("text", FORMULAS)
def test_xlsx_escapes_every_formula_prefix_and_writes_no_formula(text):
    sheet = read_xlsx(export_response(one_column([text]), "xlsx", "x")).worksheets[0]
    cell = sheet["A2"]
    assert cell.data_type == "s"
    # XML reads a bare carriage return back as a line feed; the escaping quote is what matters.
    assert cell.value == "'" + text.replace("\r", "\n")


def test_xlsx_leaves_plain_text_numbers_and_empty_cells_alone():
    values = [*HARMLESS, None, -1, -2.5, Decimal("-3.10"), 0]
    sheet = read_xlsx(export_response(one_column(values), "xlsx", "x")).worksheets[0]
    cells = [row[0] for row in sheet.iter_rows(min_row=2, max_col=1)]
    # An empty string is an empty cell in XLSX, as None is.
    assert [cell.value for cell in cells] == [text or None for text in HARMLESS] + [None, -1, -2.5, -3.1, 0]
    assert [cell.data_type for cell in cells[-4:]] == ["n"] * 4


def test_xlsx_keeps_french_and_arabic_text():
    values = ["Côte d'Ivoire", "Sécurité des armes légères", "مصر", "الجمهورية العربية السورية"]
    assert xlsx_rows(export_response(one_column(values), "xlsx", "x"))[1:] == [[text] for text in values]


def test_xlsx_drops_control_characters_that_xml_cannot_hold():
    assert xlsx_rows(export_response(one_column(["a\x00b\x0bc\x1fd"]), "xlsx", "x"))[1] == ["abcd"]


def test_xlsx_header_is_bold_and_frozen():
    sheet = read_xlsx(export_response(ratings_table([JAMAICA_ROW]), "xlsx", "x")).worksheets[0]
    assert all(cell.font.bold for cell in sheet[1])
    assert not sheet["A2"].font.bold
    assert sheet.freeze_panes == "A2"


def test_xlsx_column_widths_follow_the_content_within_bounds():
    table = Table(
        title="T",
        columns=[Column("N", "n"), Column("A header of some length", "n"), Column("Note", "note")],
        rows=[{"n": 1, "note": "word " * 40}],
    )
    widths = read_xlsx(export_response(table, "xlsx", "x")).worksheets[0].column_dimensions
    assert widths["A"].width == 10
    assert widths["B"].width == len("A header of some length") + 2
    assert widths["C"].width == 50


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Ratings", "Ratings"),
        ("Ratings: [Caribbean] 2025/03 *draft?* a\\b", "Ratings Caribbean 2025 03 draft"),
        ("Technical assistance needs by region", "Technical assistance needs by r"),
        ("'quoted'", "quoted"),
        ("?*", "Sheet1"),
        ("Côte d'Ivoire", "Côte d'Ivoire"),
    ],
)
def test_the_sheet_title_is_one_excel_accepts(title, expected):
    assert sheet_title(title) == expected
    assert len(expected) <= 31


def test_xlsx_names_its_sheet_after_the_table():
    table = Table(title="Ratings: Caribbean 2025/03", columns=[Column("A", "a")], rows=[])
    assert read_xlsx(export_response(table, "xlsx", "x")).sheetnames == ["Ratings Caribbean 2025 03"]


def test_xlsx_puts_the_notes_on_an_about_sheet():
    notes = ["Region: Caribbean", "As of 2025-03-14", "Search: =cmd"]
    workbook = read_xlsx(export_response(ratings_table([JAMAICA_ROW]), "xlsx", "x", notes=notes))
    assert workbook.sheetnames == ["Ratings", "About"]
    about = [row[0] for row in workbook["About"].iter_rows(values_only=True)]
    assert about == notes


def test_xlsx_escapes_notes_that_look_like_formulas():
    workbook = read_xlsx(export_response(ratings_table([]), "xlsx", "x", notes=["=cmd"]))
    assert workbook["About"]["A1"].value == "'=cmd"


def test_xlsx_without_notes_has_one_sheet():
    assert read_xlsx(export_response(ratings_table([JAMAICA_ROW]), "xlsx", "x")).sheetnames == ["Ratings"]


def test_an_empty_table_still_has_its_header():
    assert read_csv(export_response(ratings_table([]), "csv", "x")) == [["State", "Measure", "Count", "Set on"]]
    assert xlsx_rows(export_response(ratings_table([]), "xlsx", "x")) == [["State", "Measure", "Count", "Set on"]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_rows_from_a_generator_are_all_written_once_in_order(fmt):
    # More rows than the XLSX writer samples to size its columns.
    table = Table(title="T", columns=[Column("N", "n")], rows=({"n": n} for n in range(120)))
    response = export_response(table, fmt, "x")
    rows = read_csv(response) if fmt == "csv" else xlsx_rows(response)
    expected = [str(n) for n in range(120)] if fmt == "csv" else list(range(120))
    assert [row[0] for row in rows[1:]] == expected


def test_html_rows_escape_text_and_mark_empty_values():
    table = Table(
        title="T",
        columns=[Column("A", "a"), Column("B", "b")],
        rows=[{"a": "<b>x</b>", "b": None}, {"a": 3, "b": "y"}],
    )
    assert str(table.html_rows()) == "<tr><td>&lt;b&gt;x&lt;/b&gt;</td><td>–</td></tr><tr><td>3</td><td>y</td></tr>"


@pytest.mark.parametrize("path", ["/", "/regions/caribbean/", "/states/JAM/", "/review/"])
def test_every_link_on_a_page_that_keeps_its_query_leads_where_it_says(client, analyst, ratings, path):
    # Django's {% querystring %} writes the "?" itself: a link written "?{% querystring %}"
    # reads "??export=…", which browsers send as a parameter named "?export", so every
    # download link silently gave the page again.
    client.force_login(analyst)
    html = client.get(path, {"domain": "salw"}).content.decode()
    assert 'href="??' not in html
    downloads = [unescape(href) for href in re.findall(r'href="(\?[^"]*export=[^"]*)"', html)]
    assert downloads or path == "/review/"
    for href in downloads:
        response = client.get(path + href)
        assert response.status_code == 200, href
        assert response["Content-Disposition"].startswith("attachment"), href


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_control_and_direction_characters_saved_before_they_were_refused_stay_out_of_files(fmt):
    # A value typed before the limits came in: ESC, DEL, a C1 control and a right-to-left override.
    stored = "Act\x1b[31m 12\x7f(3)\x85 \u202eexe.txt\tand\r\nmore"
    response = export_response(one_column([stored, "\x01=cmd"]), fmt, "x")
    if fmt == "csv":
        cells = [row[0] for row in read_csv(response)[1:]]
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
        # XML reads a line break "\r\n" back as "\n".
        cells = [row[0].replace("\n", "\r\n") for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert cells == ["Act[31m 12(3) exe.txt\tand\r\nmore", "'=cmd"]
