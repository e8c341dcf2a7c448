"""
Files made to exhaust the server that reads them: each is refused by the first bound it crosses, with a message naming
the bound, before anything in it is expanded, and nothing is written but the refusal kept for the uploader to read.
"""

import io
import zipfile

import pytest
from background import run_tasks
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl.reader.excel import ExcelReader

from devtools import hostile_files
from implementation.models import Rating, StagedUpload, Submission
from implementation.spreadsheets import read_sheet

REFUSALS = {
    "wide rows (30,001 at XFD)": "Row 2, column XFD: something is written beyond the sheet's last column, BL;",
    "shared-string bomb": "The workbook holds a text of more than 32,767 characters, the most a cell can hold.",
    "too many shared strings": "The workbook holds more than 150,000 different texts;",
    "long cell": "Row 2, column F: a cell holds more than 32,767 characters, the most a cell can hold.",
    "zip bomb": "The workbook unpacks to more than 50 MB; it cannot be a sheet of ratings.",
    "zip bomb with lying headers": "The workbook could not be read (BadZipFile): save it again.",
    "deep XML": "The workbook's XML is nested more than 64 levels deep;",
    "dense sheet (30,000 × 64)": "The sheet has more than 330,000 filled cells; it cannot be a sheet of ratings.",
    "a million empty rows": "The file has more than 30,000 rows; split it into smaller files.",
    "hidden sheet": "The 'Ratings' sheet of the workbook is hidden, so what it holds is not what the workbook shows.",
    "missing sheet": "The workbook has no sheet called 'Ratings' (it has 'Sheet1').",
    "unpacked 800 times its size": "The workbook unpacks to more than 100 times its size;",
    "empty cells (30,000 × 60)": "The workbook's XML holds more than 1,100,000 elements;",
}


@pytest.fixture(scope="module")
def corpus():
    """Every hostile file, made once for the module."""
    return {name: make() for name, make in hostile_files.CORPUS.items()}


def test_every_hostile_file_has_its_refusal():
    assert set(REFUSALS) == set(hostile_files.CORPUS)


def refusal(client, response):
    """The problems listed by the page of an upload refused in the background; the upload is kept, without its file."""
    assert response.status_code == 302
    run_tasks()
    staged = StagedUpload.objects.get()
    assert (staged.status, staged.file) == (StagedUpload.Status.REFUSED, None)
    return [str(problem) for problem in client.get(response["Location"]).context["refused"].problems]


def counts():
    """Everything an upload or an import could write."""
    return (Submission.objects.count(), Rating.objects.count(), Rating.history.count(), StagedUpload.objects.count())


@pytest.mark.parametrize("case", REFUSALS)
def test_a_hostile_workbook_is_refused_on_the_states_page(client, focal_jam, ratings, corpus, case):
    client.force_login(focal_jam)
    before = counts()
    response = client.post(
        reverse("my_state_upload", args=["JAM"]), {"file": SimpleUploadedFile("ratings.xlsx", corpus[case])}
    )
    problems = refusal(client, response)
    assert any(problem.startswith(REFUSALS[case]) for problem in problems), problems
    assert counts() == (*before[:3], before[3] + 1)


@pytest.mark.parametrize("case", ["wide rows (30,001 at XFD)", "shared-string bomb", "hidden sheet"])
def test_a_hostile_workbook_is_refused_by_the_bulk_import(client, analyst, ratings, corpus, case):
    client.force_login(analyst)
    before = counts()
    response = client.post(reverse("bulk_import"), {"file": SimpleUploadedFile("cted.xlsx", corpus[case])})
    problems = refusal(client, response)
    assert any(problem.startswith(REFUSALS[case]) for problem in problems), problems
    assert counts() == (*before[:3], before[3] + 1)


def test_rows_are_read_only_as_wide_as_the_header():
    # Right of the header, a cell naming a shared string that does not exist: read, it would make the file unreadable.
    cells = (
        f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>JAM</t></is></c>'
        f'<c r="M{number}" t="s"><v>999</v></c><c r="XFD{number}" s="0"/></row>'.encode()
        for number in range(2, 202)
    )
    workbook = hostile_files.with_parts(
        hostile_files.good_workbook(), {hostile_files.SHEET_PART: hostile_files.sheet_xml(cells)}
    )
    sheet = read_sheet(SimpleUploadedFile("x.xlsx", workbook))
    assert len(sheet.rows) == 200
    assert {row["state"] for _, row in sheet.rows} == {"JAM"}


def test_an_upload_is_read_without_openpyxl(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl opened the upload")

    # However openpyxl would be called, it reads a workbook through ExcelReader.
    monkeypatch.setattr(ExcelReader, "read", refuse)
    sheet = read_sheet(SimpleUploadedFile("x.xlsx", hostile_files.empty_cells_far_right(200)))
    assert len(sheet.rows) == 200
    assert {row["state"] for _, row in sheet.rows} == {"JAM"}


def test_a_hidden_sheet_other_than_ratings_is_left_alone():
    workbook = hostile_files.hidden_sheet()
    # The same workbook with its sheets' names swapped: "Ratings" visible, "Mine" hidden.
    swapped = hostile_files.with_parts(
        workbook,
        {
            "xl/workbook.xml": _part(workbook, "xl/workbook.xml")
            .replace(b'name="Mine"', b'name="Ratings-"')
            .replace(b'name="Ratings"', b'name="Mine"')
            .replace(b'name="Ratings-"', b'name="Ratings"')
        },
    )
    sheet = read_sheet(SimpleUploadedFile("x.xlsx", swapped))
    assert sheet.rows == []


def test_a_cell_at_the_length_limit_is_read():
    cell = (
        f'<row r="2"><c r="{hostile_files.EXPLANATION}2" t="inlineStr"><is><t>'.encode()
        + b"A" * 32_767
        + b"</t></is></c></row>"
    )
    workbook = hostile_files.with_parts(
        hostile_files.good_workbook(), {hostile_files.SHEET_PART: hostile_files.sheet_xml([cell])}
    )
    sheet = read_sheet(SimpleUploadedFile("x.xlsx", workbook))
    assert [len(row["explanation"]) for _, row in sheet.rows] == [32_767]


def _part(data, name):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)
