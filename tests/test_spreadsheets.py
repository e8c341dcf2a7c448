"""
A State's spreadsheet: download it, fill it in offline, upload it, check the preview,
confirm. Focal points' rows become submissions; a bad file changes nothing.
"""

import csv
import datetime as dt
import io
import zipfile

import factories
import openpyxl
import pytest
from background import run_tasks
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from implementation import spreadsheets
from implementation.models import Rating, StagedUpload, Submission
from implementation.spreadsheets import COLUMNS
from implementation.spreadsheets.checks import check_rows
from implementation.spreadsheets.comparison import values_from
from measures.models import Measure
from states.models import Role

SELF = Rating.Kind.SELF_REPORTED
# Applying a confirmed State's spreadsheet in the worker, whatever its number of rows.
APPLY_QUERIES = 28
HEADER = [column.header for column in COLUMNS]
STATUS_LABELS = [str(status.label) for status in Rating.Status]


def download(client, iso3="JAM"):
    response = client.get(reverse("my_state_spreadsheet", args=[iso3]))
    assert response.status_code == 200, response.content[:300]
    return openpyxl.load_workbook(io.BytesIO(response.content))


def rows_of(workbook):
    """The "Ratings" sheet as dicts by header, keyed by measure code."""
    header, *rows = workbook["Ratings"].iter_rows(values_only=True)
    return {row[1]: dict(zip(header, row, strict=True)) for row in rows}


def find_row(sheet, code):
    for row in sheet.iter_rows(min_row=2):
        if row[1].value == code:
            return row[0].row
    raise AssertionError(f"{code} not in the sheet")


def set_cell(workbook, code, header, value):
    sheet = workbook["Ratings"]
    sheet.cell(find_row(sheet, code), HEADER.index(header) + 1, value)


def as_upload(workbook, name="jamaica.xlsx"):
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def xlsx_upload(rows, header=HEADER, sheet="Ratings", name="ratings.xlsx"):
    workbook = openpyxl.Workbook()
    workbook.active.title = sheet
    workbook.active.append(header)
    for row in rows:
        workbook.active.append(row)
    return as_upload(workbook, name)


def csv_upload(rows, header=HEADER, name="ratings.csv", bom=True):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8-sig" if bom else "utf-8"))


def row(state="JAM", code="SALW-04", status="Largely implemented", explanation="Marking enforced at import.", **more):
    values = {"State": state, "Code": code, "Status": status, "Explanation": explanation, **more}
    return [values.get(header, "") for header in HEADER]


def upload(client, file, iso3="JAM"):
    """Upload ``file``, then let a worker check it: the response to the upload."""
    response = client.post(reverse("my_state_upload", args=[iso3]), {"file": file})
    run_tasks()
    return response


def confirm(client, url):
    """Confirm the upload at ``url``, then let a worker apply it: the response to the confirmation."""
    response = client.post(url)
    run_tasks()
    return response


def counts():
    """Everything an upload could write."""
    return (
        Submission.objects.count(),
        Rating.objects.count(),
        Rating.history.count(),
        StagedUpload.objects.count(),
    )


def problems(response):
    return [str(problem) for problem in response.context["refused"].problems]


def refused_page(client, response):
    """The page of an upload refused in the background."""
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert StagedUpload.objects.get().status == StagedUpload.Status.REFUSED
    return page


# The download


def test_download_is_prefilled_with_the_states_self_report(client, focal_jam, ratings):
    client.force_login(focal_jam)
    workbook = download(client)
    assert workbook.sheetnames == ["Ratings", "Instructions"]
    header = [cell.value for cell in workbook["Ratings"][1]]
    assert header == HEADER
    rows = rows_of(workbook)
    assert list(rows) == ["SALW-04", "SALW-06"]
    assert rows["SALW-04"] == {
        **dict.fromkeys(HEADER),
        "State": "JAM",
        "Code": "SALW-04",
        "Section": "B. SALW controls",
        "Measure": "Unique marking at manufacture and on import",
        "Status": "Partially implemented",
        "Explanation": "Marking law adopted; import marking not yet enforced.",
        "Source document": "Firearms Act",
    }
    # Not reported yet: the measure is there, the rest is empty.
    assert rows["SALW-06"]["State"] == "JAM"
    assert rows["SALW-06"]["Status"] is None


def test_download_offers_the_statuses_as_a_list_and_formats_dates(client, focal_jam, ratings, world):
    rating = ratings["jam", SELF]
    rating.source_date = dt.date(2022, 3, 1)
    rating.save()
    client.force_login(focal_jam)
    sheet = download(client)["Ratings"]
    status_column = "E"
    (statuses,) = [dv for dv in sheet.data_validations.dataValidation if dv.type == "list"]
    assert str(statuses.sqref) == f"{status_column}2:{status_column}3"
    assert statuses.formula1 == '"' + ",".join(STATUS_LABELS) + '"'
    assert sheet["K1"].value == "Source date"
    assert sheet["K2"].value.date() == dt.date(2022, 3, 1)
    assert sheet["K2"].number_format == "yyyy-mm-dd"
    assert sheet["K3"].number_format == "yyyy-mm-dd"


def test_download_locks_and_greys_the_measure_columns_only(client, focal_jam, ratings):
    client.force_login(focal_jam)
    sheet = download(client)["Ratings"]
    assert sheet.protection.sheet
    for locked in ("A2", "B2", "C2", "D2"):
        assert sheet[locked].protection.locked
        assert sheet[locked].fill.fgColor.rgb.endswith("E7E6E6")
    for editable in ("E2", "F2", "G2", "H2", "I2", "J2", "K2"):
        assert not sheet[editable].protection.locked
        assert sheet[editable].fill.fill_type is None


def test_download_has_instructions(client, focal_jam, ratings):
    client.force_login(focal_jam)
    text = "\n".join(row[0] or "" for row in download(client)["Instructions"].iter_rows(values_only=True))
    assert "Self-report of Jamaica (JAM)" in text
    assert "Why not applicable: required when the status is 'Not applicable'" in text
    assert "Formulas are refused" in text
    assert "Source date: the date of the document, as 2024-05-01" in text
    for label in STATUS_LABELS:
        assert f"    {label}\n" in text


def test_download_escapes_text_a_spreadsheet_would_run(client, focal_jam, ratings):
    rating = ratings["jam", SELF]
    rating.explanation = '=HYPERLINK("http://example.com","Click")'
    rating.save()
    client.force_login(focal_jam)
    sheet = download(client)["Ratings"]
    cell = sheet.cell(2, HEADER.index("Explanation") + 1)
    assert cell.value == "'" + rating.explanation
    assert cell.data_type == "s"


def test_analyst_downloads_any_states_spreadsheet(client, analyst, ratings):
    client.force_login(analyst)
    assert rows_of(download(client, "KEN"))["SALW-04"]["State"] == "KEN"


@pytest.mark.parametrize(
    ("who", "iso3", "status"),
    [
        ("focal_ken", "JAM", 404),  # another State is as good as missing
        ("coordinator", "JAM", 403),  # may read Jamaica, but does not report for it
        ("nobody", "JAM", 404),
        ("focal_jam", "XXX", 404),
    ],
)
def test_download_is_for_the_states_focal_points_and_analysts(client, request, ratings, who, iso3, status):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("my_state_spreadsheet", args=[iso3])).status_code == status


def test_download_needs_a_login(client, ratings):
    response = client.get(reverse("my_state_spreadsheet", args=["JAM"]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_download_query_count_does_not_grow_with_the_catalogue(
    client, focal_jam, ratings, world, django_assert_num_queries
):
    client.force_login(focal_jam)
    # 1-2. the session and its user; 3. the State, among those the user may read;
    # 4. the user's roles (is_analyst); 5. whether the user is a focal point of the State;
    # 6. the current measures with their sections; 7. the State's self-reports
    with django_assert_num_queries(7):
        download(client)
    for position in range(5):
        Measure.objects.create(
            edition=world["edition"], section=world["section"], code=f"SALW-9{position}", title="Extra",
            domain=Measure.Domain.SALW, phase=Measure.Phase.BOTH, legislative=True, position=10 + position,
        )  # fmt: skip
    with django_assert_num_queries(7):
        assert len(rows_of(download(client))) == 7


# The round trip


def test_round_trip_previews_then_submits_only_on_confirming(client, focal_jam, ratings, world):
    client.force_login(focal_jam)
    workbook = download(client)
    set_cell(workbook, "SALW-04", "Status", "Largely implemented")
    set_cell(workbook, "SALW-04", "Source date", dt.date(2024, 9, 1))
    set_cell(workbook, "SALW-06", "Status", "not_applicable")  # a code is taken as well as a label
    set_cell(workbook, "SALW-06", "Why not applicable", "No civilian firearms registry needed: none are held.")
    before = counts()

    response = upload(client, as_upload(workbook))
    assert response.status_code == 302
    staged = StagedUpload.objects.get()
    assert response["Location"] == reverse("my_state_upload_preview", args=["JAM", staged.pk])
    assert counts()[:3] == before[:3]

    preview = client.get(response["Location"])
    assert preview.status_code == 200
    assert staged.summary | {} == {
        "added": 1, "changed": 1, "unchanged": 0, "blank": 0, "states": 1, "file_format": "xlsx",
        "ignored_columns": [], "missing_columns": [],
    }  # fmt: skip
    changes = {row["code"]: (row["action"], row["changes"]) for row in spreadsheets.preview(staged).changes}
    assert changes == {
        "SALW-04": (
            "changed",
            [["Status", "Partially implemented", "Largely implemented"], ["Source date", "", "2024-09-01"]],
        ),
        "SALW-06": (
            "added",
            [
                ["Status", "", "Not applicable"],
                ["Why not applicable", "", "No civilian firearms registry needed: none are held."],
            ],
        ),
    }
    html = preview.content.decode()
    assert "1 added · 1 changed · 0 unchanged (skipped)" in html
    assert '<td class="upload-old">Partially implemented</td><td class="upload-new">Largely implemented</td>' in html
    assert "Submit 2 rows for review" in html
    assert Submission.objects.count() == 0

    confirmed = confirm(client, response["Location"])
    assert confirmed.status_code == 302
    assert confirmed["Location"] == response["Location"]
    submissions = {s.measure.code: s for s in Submission.objects.select_related("measure")}
    assert set(submissions) == {"SALW-04", "SALW-06"}
    marking = submissions["SALW-04"]
    assert (marking.status, marking.source_date, marking.explanation) == (
        "largely",
        dt.date(2024, 9, 1),
        "Marking law adopted; import marking not yet enforced.",
    )
    assert marking.source_document == "Firearms Act"
    assert {(s.channel, s.submitted_by, s.review, s.state) for s in submissions.values()} == {
        (Submission.Channel.SPREADSHEET, focal_jam, Submission.Review.PENDING, world["jam"])
    }
    assert submissions["SALW-06"].justification == "No civilian firearms registry needed: none are held."
    # Submissions change no rating until an analyst accepts them.
    assert counts()[1:3] == before[1:3]
    # The upload is kept, applied, so that its page says what it did.
    assert (StagedUpload.objects.get().status, StagedUpload.objects.get().applied_count) == ("applied", 2)
    applied = client.get(confirmed["Location"]).content.decode()
    assert "2 submissions sent for review from jamaica.xlsx. A CTED analyst will accept or return each." in applied
    assert 'http-equiv="refresh"' not in applied


def test_untouched_download_changes_nothing(client, focal_jam, ratings):
    client.force_login(focal_jam)
    response = upload(client, as_upload(download(client)))
    preview = client.get(response["Location"])
    assert StagedUpload.objects.get().summary["unchanged"] == 1
    assert StagedUpload.objects.get().summary["blank"] == 1
    html = preview.content.decode()
    assert "0 added · 0 changed · 1 unchanged (skipped) · 1 left empty (skipped)" in html
    assert "The file changes nothing" in html


def test_text_that_looks_like_a_formula_survives_the_round_trip(client, focal_jam, ratings):
    rating = ratings["jam", SELF]
    rating.explanation = "- marking at import\n- registry planned"
    rating.save()
    client.force_login(focal_jam)
    upload(client, as_upload(download(client)))
    assert StagedUpload.objects.get().summary["unchanged"] == 1


def test_csv_upload_with_or_without_byte_order_mark(client, focal_jam, ratings):
    client.force_login(focal_jam)
    for bom in (True, False):
        response = upload(client, csv_upload([row(), row(code="SALW-06", status="Implemented")], bom=bom))
        assert response.status_code == 302, problems(response)
        staged = StagedUpload.objects.get()
        assert (staged.summary["changed"], staged.summary["added"], staged.summary["file_format"]) == (1, 1, "csv")


def test_columns_left_out_keep_their_values(client, focal_jam, ratings):
    client.force_login(focal_jam)
    response = upload(
        client, csv_upload([["JAM", "SALW-04", "Implemented", "x"]], header=["State", "Code", "Status", "Notes"])
    )
    assert response.status_code == 302
    staged = StagedUpload.objects.get()
    (changed,) = spreadsheets.preview(staged).changes
    assert changed["changes"] == [["Status", "Partially implemented", "Implemented"]]
    assert changed["values"]["explanation"] == "Marking law adopted; import marking not yet enforced."
    assert staged.summary["ignored_columns"] == ["Notes"]
    assert "Explanation" in staged.summary["missing_columns"]


def test_a_row_replaces_the_pending_submission_seen_in_the_preview(client, focal_jam, ratings, world):
    earlier = factories.submission(state=world["jam"], measure=world["marking"], by=focal_jam, status="implemented")
    client.force_login(focal_jam)
    response = upload(client, csv_upload([row()]))
    assert "replaces the submission by jo waiting for review" in client.get(response["Location"]).content.decode()
    confirm(client, response["Location"])
    earlier.refresh_from_db()
    assert earlier.review == Submission.Review.SUPERSEDED
    assert Submission.objects.pending().get().replaces == earlier


def test_a_row_already_waiting_for_review_is_not_sent_again(client, focal_jam, ratings, world):
    factories.submission(
        state=world["jam"], measure=world["marking"], by=focal_jam, status="largely",
        explanation="Marking enforced at import.", source_document="Firearms Act",
    )  # fmt: skip
    client.force_login(focal_jam)
    upload(client, csv_upload([row(**{"Source document": "Firearms Act"})]))
    (unchanged,) = StagedUpload.objects.get().rows
    assert (unchanged["action"], unchanged["already_pending"]) == ("unchanged", True)


# Bad files: a message per row and field, and nothing changed


def formula_workbook():
    workbook = openpyxl.Workbook()
    workbook.active.title = "Ratings"
    workbook.active.append(HEADER)
    workbook.active.append(row(status='=IF(1,"Implemented","")'))
    return as_upload(workbook)


def zip_upload():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a workbook")
    return SimpleUploadedFile("ratings.xlsx", buffer.getvalue())


def entity_bomb_workbook():
    """A workbook whose sheet declares an entity that expands a thousandfold a level ("billion laughs")."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "Ratings"
    workbook.active.append(HEADER)
    plain = io.BytesIO()
    workbook.save(plain)
    bomb = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(bomb, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                doctype = (
                    '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
                    + "]>"
                )
                content = doctype.encode() + content.replace(b"State", b"&i;", 1)
            target.writestr(item, content)
    return SimpleUploadedFile("ratings.xlsx", bomb.getvalue())


BAD_FILES = {
    "wrong State": (
        lambda: csv_upload([row(), row(state="KEN", code="SALW-06")]),
        "Row 3, column State: KEN is Kenya, but this file is Jamaica's (JAM). Upload another State's rows on that "
        "State's page.",
    ),
    "unknown State": (
        lambda: csv_upload([row(state="XYZ")]),
        "Row 2, column State: 'XYZ' is not the ISO3 code of a Member State.",
    ),
    "unknown measure": (
        lambda: csv_upload([row(code="SALW-99")]),
        "Row 2, column Code: 'SALW-99' is not the code of a measure in the current catalogue.",
    ),
    "invalid status": (
        lambda: xlsx_upload([row(status="Mostly")]),
        "Row 2, column Status: 'Mostly' is not a status; use one of Implemented, Largely implemented, Partially "
        "implemented, Not implemented, No information, Not applicable.",
    ),
    "missing status": (
        lambda: csv_upload([row(status="")]),
        "Row 2, column Status: Choose a status: Implemented,",
    ),
    "not applicable without a justification": (
        lambda: csv_upload([row(status="Not applicable")]),
        "Row 2, column Why not applicable: 'Not applicable' needs a justification: say why the measure does not "
        "apply.",
    ),
    "bad date": (
        lambda: csv_upload([row(**{"Source date": "05/01/2024"})]),
        "Row 2, column Source date: '05/01/2024' is not a date; write it as 2024-05-01 (year-month-day).",
    ),
    "bad URL": (
        lambda: csv_upload([row(**{"Source URL": "not a link"})]),
        "Row 2, column Source URL: Enter a valid URL.",
    ),
    "text too long": (
        lambda: csv_upload([row(**{"Article or section": "s" * 101})]),
        "Row 2, column Article or section: Ensure this value has at most 100 characters (it has 101).",
    ),
    "measure twice": (
        lambda: csv_upload([row(), row(status="Implemented")]),
        "Row 3, column Code: JAM SALW-04 is already in row 2; keep one of them.",
    ),
    "formula in a workbook": (
        formula_workbook,
        'Row 2, column Status: holds a formula (=IF(1,"Implemented","")); formulas are refused.',
    ),
    "formula in a CSV file": (
        lambda: csv_upload([row(explanation="=1+1")]),
        "Row 2, column Explanation: holds a formula (=1+1); formulas are refused.",
    ),
    "wrong sheet": (
        lambda: xlsx_upload([row()], sheet="Sheet1"),
        "The workbook has no sheet called 'Ratings' (it has 'Sheet1'). Fill in the 'Ratings' sheet.",
    ),
    "missing columns": (
        lambda: csv_upload([["JAM", "Largely implemented"]], header=["State", "Rating"]),
        "Row 1: The first row must name the columns; missing: Code, Status.",
    ),
    "file over 5 MB": (
        lambda: SimpleUploadedFile("big.csv", ",".join(HEADER).encode().ljust(5 * 1024 * 1024 + 1, b"\n")),
        "The file is 5.1 MB; the limit is 5 MB.",
    ),
    "renamed PDF": (
        lambda: SimpleUploadedFile("ratings.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
        "The file is a PDF. Upload the XLSX workbook you downloaded, or a CSV file.",
    ),
    "zip that is not a workbook": (
        zip_upload,
        "The file is a zip archive but not an Excel workbook (.xlsx).",
    ),
    "XML entity bomb": (entity_bomb_workbook, "The workbook could not be read ("),
    "binary file": (
        lambda: SimpleUploadedFile("ratings.csv", bytes(range(256))),
        "The file is neither an XLSX workbook nor a UTF-8 CSV file.",
    ),
    "old Excel file": (
        lambda: SimpleUploadedFile("ratings.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
        "The file is an old Excel (.xls) or password-protected workbook.",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_file_is_refused_with_a_message_and_changes_nothing(client, focal_jam, ratings, case):
    make, message = BAD_FILES[case]
    client.force_login(focal_jam)
    before = counts()
    response = upload(client, make())
    if case == "file over 5 MB":
        # Refused at once, and not kept.
        assert response.status_code == 400
        page, kept = response, 0
    else:
        # Kept, and refused by its check: the upload's page lists the problems.
        page, kept = refused_page(client, response), 1
    assert any(problem.startswith(message) for problem in problems(page)), problems(page)
    assert "The file was not applied" in page.content.decode()
    assert counts() == (*before[:3], before[3] + kept)


def test_every_bad_row_is_listed(client, focal_jam, ratings):
    client.force_login(focal_jam)
    response = upload(client, csv_upload([row(status="Mostly"), row(code="SALW-06", **{"Source date": "soon"})]))
    assert problems(refused_page(client, response)) == [
        "Row 2, column Status: 'Mostly' is not a status; use one of " + ", ".join(STATUS_LABELS) + ".",
        "Row 3, column Source date: 'soon' is not a date; write it as 2024-05-01 (year-month-day).",
    ]


def test_each_row_is_checked_on_its_own_cells(world):
    # One form checks every row of a file: nothing of a row may carry over to the next.
    fields = {"state", "code", "status", "explanation", "source_url"}
    sheet = spreadsheets.Sheet(
        file_format="csv",
        fields=fields,
        rows=[
            (2, {"state": "JAM", "code": "SALW-04", "status": "Implemented", "source_url": "not a link"}),
            (3, {"state": "JAM", "code": "SALW-06", "status": "Implemented", "explanation": "Kept."}),
            (4, {"state": "KEN", "code": "SALW-04", "status": "", "explanation": "No status."}),
            (5, {"state": "KEN", "code": "SALW-06", "status": "largely", "source_url": "https://example.org/"}),
        ],
        ignored_headers=[],
    )
    states = {state.iso3: state for state in (world["jam"], world["ken"])}
    measures = {measure.code: measure for measure in (world["marking"], world["records"])}
    checked, blank, problems = check_rows(sheet, states=states, measures=measures)
    assert [(problem.row, problem.column, problem.message) for problem in problems] == [
        (2, "Source URL", "Enter a valid URL."),
        (4, "Status", "Choose a status: " + ", ".join(STATUS_LABELS) + "."),
    ]
    assert [
        (number, values["code"].code, values["explanation"], values["source_url"]) for number, values in checked
    ] == [
        (3, "SALW-06", "Kept.", ""),
        (5, "SALW-06", "", "https://example.org/"),
    ]
    assert [values["state"].iso3 for _number, values in checked] == ["JAM", "KEN"]


# Who may upload


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("focal_ken", 404),  # Kenya's focal point cannot even see Jamaica
        ("coordinator", 403),  # sees Jamaica, reports for no State
        ("analyst", 403),  # analysts set assessed ratings through the bulk import
    ],
)
def test_only_the_states_focal_points_upload(client, request, ratings, who, status):
    client.force_login(request.getfixturevalue(who))
    before = counts()
    assert client.get(reverse("my_state_upload", args=["JAM"])).status_code == status
    assert upload(client, csv_upload([row()])).status_code == status
    assert counts() == before


def test_one_cannot_confirm_someone_elses_preview(client, focal_jam, alternate, ratings):
    client.force_login(focal_jam)
    url = upload(client, csv_upload([row()]))["Location"]
    client.force_login(alternate)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"] == reverse("my_state_upload", args=["JAM"])
    assert not Submission.objects.exists()


# Conflicts at confirming


@pytest.fixture
def alternate(world):
    # Alternate focal point for Jamaica: submits too.
    return factories.user(
        username="alt", role=Role.Kind.FOCAL_POINT, state=world["jam"], is_alternate=True, password=None
    )


def test_a_submission_made_after_the_preview_refuses_the_whole_file(client, focal_jam, alternate, ratings, world):
    client.force_login(focal_jam)
    # Row 2 would be submitted first; row 3 then meets the alternate's submission.
    url = upload(client, csv_upload([row(code="SALW-06", status="Implemented"), row()]))["Location"]
    theirs = factories.submission(state=world["jam"], measure=world["marking"], by=alternate, status="not_implemented")
    before = counts()

    assert confirm(client, url).status_code == 302
    response = client.get(url)
    (problem,) = problems(response)
    assert problem.startswith("Row 3: SALW-04: alt submitted a change to SALW-04 on")
    assert "The file was not applied" in response.content.decode()
    assert counts() == before
    assert StagedUpload.objects.get().status == StagedUpload.Status.REFUSED
    assert list(Submission.objects.all()) == [theirs]


def test_a_self_report_accepted_after_the_preview_refuses_the_whole_file(client, focal_jam, analyst, ratings, world):
    client.force_login(focal_jam)
    url = upload(client, csv_upload([row(code="SALW-06", status="Implemented"), row()]))["Location"]
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF, status="implemented", by=analyst, reason="Corrected"
    )
    before = counts()
    assert confirm(client, url).status_code == 302
    response = client.get(url)
    assert problems(response) == [
        "Row 3: JAM SALW-04: the self-report changed after your preview (now Implemented). Nothing was applied: "
        "upload the file again to see the current values."
    ]
    assert counts() == before


def test_confirming_twice_submits_once(client, focal_jam, ratings):
    # The second click comes before the worker has applied the first: it is told so, and queues nothing.
    client.force_login(focal_jam)
    url = upload(client, csv_upload([row()]))["Location"]
    assert client.post(url).status_code == 302
    again = client.post(url)
    assert again["Location"] == url
    assert "already being applied" in str(list(get_messages(again.wsgi_request))[-1])
    run_tasks()
    late = client.post(url)
    assert "was applied already" in str(list(get_messages(late.wsgi_request))[-1])
    run_tasks()
    assert Submission.objects.count() == 1


# Query counts


@pytest.fixture
def more_measures(world):
    """Ten more measures in the current catalogue."""
    return [
        Measure.objects.create(
            edition=world["edition"],
            section=world["section"],
            code=f"IED-{number:02}",
            title=f"Measure {number}",
            domain=Measure.Domain.IED,
            phase=Measure.Phase.BOTH,
            operational=True,
            position=10 + number,
        )  # fmt: skip
        for number in range(10)
    ]


def test_upload_check_and_preview_do_not_read_row_by_row(
    client, focal_jam, ratings, more_measures, django_assert_num_queries
):
    client.force_login(focal_jam)
    few = csv_upload([row()])
    many = csv_upload([row(), *(row(code=measure.code, status="Implemented") for measure in more_measures)])
    for file in (few, many):
        # 1-2. session and user; 3. the State; 4. may_submit; 5. a savepoint; 6-7. earlier
        # uploads deleted (the user's, then any stale); 8. the upload kept; 9. its check queued;
        # 10. the savepoint released
        with django_assert_num_queries(10):
            response = client.post(reverse("my_state_upload", args=["JAM"]), {"file": file})
        # The worker: 1. a savepoint; 2. the next task, locked; 3. the task claimed; 4. the
        # savepoint released. The check: 5. the upload, its State and uploader; 6. checking it
        # begun; 7. may_submit; 8. "reading"; 9. every State's ISO3; 10. the current measures;
        # 11. "checking"; 12. the State's self-reports with their versions; 13. its pending
        # submissions; 14. "comparing"; 15. the preview kept, the file dropped. The worker:
        # 16. the task done; 17-19. no other task (a savepoint, the query, its release); 20.
        # the test's look for failed tasks
        with django_assert_num_queries(20):
            run_tasks()
        # 1-2. session and user; 3. the State; 4. may_submit; 5. the preview; 6-8. the site
        # menu: workshop regions, the user's roles, the user's own State
        with django_assert_num_queries(8):
            client.get(response["Location"])


@pytest.fixture
def catalogue_of_71(world):
    """The current catalogue grown to 71 measures, as many as the shipped one has."""
    return [
        world["marking"],
        world["records"],
        *Measure.objects.bulk_create(
            Measure(
                edition=world["edition"],
                section=world["section"],
                code=f"CAT-{number:02}",
                title=f"Measure {number}",
                domain=Measure.Domain.IED,
                phase=Measure.Phase.BOTH,
                operational=True,
                position=100 + number,
            )  # fmt: skip
            for number in range(69)
        ),
    ]


def test_confirming_costs_the_same_queries_for_5_rows_as_for_71(
    client, focal_jam, ratings, world, catalogue_of_71, django_assert_num_queries
):
    client.force_login(focal_jam)
    # Jamaica's self-report on SALW-04 has a submission waiting, which the first file replaces; the second
    # replaces the five the first one sent.
    factories.submission(state=world["jam"], measure=world["marking"], by=focal_jam, status="implemented")
    for round, measures in enumerate((catalogue_of_71[:5], catalogue_of_71)):
        url = upload(client, csv_upload([row(code=m.code, explanation=f"Round {round}") for m in measures]))[
            "Location"
        ]
        assert client.post(url).status_code == 302
        # The worker: the task claimed and the upload read; a savepoint; the upload, locked; its State; the
        # measures of its rows; the State's self-reports for them, locked; then workflow.submit_many: a
        # savepoint; may_submit; the pending submissions, locked; the self-reports with their versions; the
        # replaced ones superseded, and their history rows; a savepoint; the submissions and their history
        # rows; the savepoints released; then the upload marked applied, the task done, no other task, and
        # run_tasks' look for failed tasks.
        with django_assert_num_queries(APPLY_QUERIES):
            run_tasks()
        assert Submission.objects.pending().count() == len(measures)
    assert Submission.objects.filter(review=Submission.Review.SUPERSEDED).count() == 6
    # Applied by the worker, with no request to say who: the history rows still name the focal point.
    written = Submission.history.exclude(history_type="+", channel=Submission.Channel.FORM)
    assert written.count() == 5 + 71 + 6
    assert set(written.values_list("history_user", flat=True)) == {focal_jam.pk}


def submitted_row_by_row(staged, *, by):
    """What confirming wrote when it called workflow.submit for each row: its writes, one row at a time."""
    for staged_row in staged.rows:
        if staged_row["action"] == "unchanged":
            continue
        keys = {"state": staged.state, "measure_id": staged_row["measure"]}
        pending = Submission.objects.filter(**keys).pending().first()
        reported = Rating.objects.filter(**keys, kind=SELF).first()
        if pending is not None:
            pending.review = Submission.Review.SUPERSEDED
            pending._history_user = by
            pending.save(update_fields=["review"])
        submission = Submission(
            **keys, submitted_by=by, channel=Submission.Channel.SPREADSHEET, replaces=pending,
            base_version=reported.version if reported else None, **values_from(staged_row),
        )  # fmt: skip
        submission._history_user = by
        submission.save()


def written_submissions():
    """Every submission and history row of one, field by field, but for ids and timestamps."""
    skipped = {"id", "submitted_at", "history_id", "history_date"}

    def fields(model):
        return [field.attname for field in model._meta.concrete_fields if field.attname not in skipped]

    history = Submission.history.model
    return (
        list(Submission.objects.order_by("measure_id", "review").values_list(*fields(Submission))),
        list(history.objects.order_by("measure_id", "review", "history_type").values_list(*fields(history))),
    )


def test_confirming_writes_what_submitting_row_by_row_wrote(focal_jam, ratings, world, more_measures):
    # Jamaica's self-report on SALW-04 is changed over a submission waiting for review; the rest are new,
    # one of them not applicable, one with a source URL and date.
    factories.submission(state=world["jam"], measure=world["marking"], by=focal_jam, status="implemented")
    file = csv_upload(
        [
            row(**{"Source date": "2025-01-15", "Source URL": "https://example.org/act"}),
            row(code="SALW-06", status="Not applicable", **{"Why not applicable": "No civilian firearms."}),
            *(row(code=measure.code, status="Implemented", explanation="") for measure in more_measures),
        ]
    )
    staged = factories.confirmed(factories.staged_upload(upload=file, by=focal_jam, state=world["jam"]))
    written = {}
    for name, confirm in (
        ("row by row", submitted_row_by_row),
        ("set-based", spreadsheets.apply_self_report),
    ):
        with transaction.atomic():
            confirm(StagedUpload.objects.get(pk=staged.pk), by=focal_jam)
            written[name] = written_submissions()
            transaction.set_rollback(True)
    submissions, history = written["set-based"]
    assert len(submissions) == 13 and len(history) == 1 + 12 + 1
    assert written["set-based"] == written["row by row"]
