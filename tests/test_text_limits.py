"""
The length and content limits of core/limits.py, through each way a text or a date comes in: the submission form,
a State's spreadsheet, the bulk import, the API and the admin. And a file that leaves out optional columns.
"""

import datetime as dt

import factories
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient
from test_admin import rating_form_data, rating_url
from test_spreadsheets import HEADER, csv_upload, row, xlsx_upload

from core import limits
from implementation import spreadsheets
from implementation.forms import SubmissionForm
from implementation.models import Rating, StagedUpload, Submission

SELF = Rating.Kind.SELF_REPORTED
ASSESSED = Rating.Kind.ASSESSED

# (field, refused value, what the message says), each refused on every path.
REFUSED = [
    pytest.param("explanation", "x" * (limits.EXPLANATION + 1), "at most 5000", id="explanation-too-long"),
    pytest.param("justification", "x" * (limits.JUSTIFICATION + 1), "at most 2000", id="justification-too-long"),
    pytest.param("source_document", "x" * (limits.SOURCE_TITLE + 1), "at most 500", id="title-too-long"),
    pytest.param("explanation", "Act\x01adopted", "U+0001", id="control"),
    pytest.param("explanation", "Act\x1b[31m", "U+001B", id="escape"),
    pytest.param("source_reference", "s. 12\x7f", "U+007F", id="delete"),
    pytest.param("source_document", "Firearms Act \u202e2202", "U+202E", id="bidi-override"),
    pytest.param("explanation", "Act \u2066isolated\u2069", "U+2066", id="bidi-isolate"),
    pytest.param("explanation", "#N/A", "error value", id="n-a"),
    pytest.param("source_reference", "#REF!", "error value", id="ref"),
    pytest.param("source_document", " #div/0! ", "error value", id="div0"),
]
REFUSED_DATES = [
    pytest.param("1899-12-25", id="before-1900"),
    pytest.param("9999-12-31", id="far-future"),
]


def test_tab_and_line_breaks_are_text():
    limits.validate_text("Line one\r\nLine two\tand a tab")
    limits.validate_text("Le décret n° 2022 — شرح")


def test_a_date_a_year_ahead_is_the_latest_accepted():
    limits.validate_date(limits.latest_date())
    limits.validate_date(limits.EARLIEST_DATE)
    with pytest.raises(ValidationError):
        limits.validate_date(limits.latest_date() + dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        limits.validate_date(limits.EARLIEST_DATE - dt.timedelta(days=1))


def test_excel_day_numbers_skip_the_leap_day_that_never_was():
    assert limits.date_from_serial(1) == dt.date(1900, 1, 1)
    assert limits.date_from_serial(59) == dt.date(1900, 2, 28)
    assert limits.date_from_serial(61) == dt.date(1900, 3, 1)
    assert limits.date_from_serial(45658) == dt.date(2025, 1, 1)
    for serial in (60, 0, -5):
        with pytest.raises(ValidationError):
            limits.date_from_serial(serial)


# The form


def form_data(**values):
    return {"status": Rating.Status.LARGELY, "explanation": "Regulation adopted", **values}


@pytest.mark.parametrize(("field", "value", "message"), REFUSED)
def test_the_submission_form_refuses_the_field(field, value, message, world):
    form = SubmissionForm(form_data(**{field: value}))
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])


@pytest.mark.parametrize("value", REFUSED_DATES)
def test_the_submission_form_refuses_an_implausible_date(value, world):
    form = SubmissionForm(form_data(source_date=value))
    assert not form.is_valid()
    assert "not a plausible date" in " ".join(form.errors["source_date"])


def test_the_submission_form_takes_text_at_its_limit(world):
    form = SubmissionForm(form_data(explanation="x" * limits.EXPLANATION, source_date="2025-01-10"))
    assert form.is_valid(), form.errors


# A State's spreadsheet, and the bulk import


def refused(stage, file):
    """The problems that refuse ``file``, as text, after checking that nothing was staged."""
    with pytest.raises(spreadsheets.UploadRefused) as refusal:
        stage(file)
    assert not StagedUpload.objects.filter(status=StagedUpload.Status.READY).exists()
    assert StagedUpload.objects.get().rows == []
    return [str(problem) for problem in refusal.value.problems]


@pytest.fixture(params=["state", "bulk"])
def stage(request, world, ratings, focal_jam, analyst):
    if request.param == "state":
        return lambda file: factories.staged_upload(state=world["jam"], upload=file, by=focal_jam)
    return lambda file: factories.staged_upload(upload=file, by=analyst)


COLUMN_OF = {
    "explanation": "Explanation",
    "justification": "Why not applicable",
    "source_document": "Source document",
    "source_reference": "Article or section",
}


@pytest.mark.parametrize(("field", "value", "message"), REFUSED)
def test_a_spreadsheet_refuses_the_cell_naming_row_and_column(stage, field, value, message):
    (problem,) = refused(stage, csv_upload([row(**{COLUMN_OF[field]: value})]))
    assert problem.startswith(f"Row 2, column {COLUMN_OF[field]}:"), problem
    assert message in problem


def test_a_workbook_refuses_the_cells_naming_rows_and_columns(stage):
    file = xlsx_upload([row(explanation="Act \u202eadopted"), row(code="SALW-06", **{"Source document": "#N/A"})])
    problems = refused(stage, file)
    assert len(problems) == 2
    assert problems[0].startswith("Row 2, column Explanation:") and "U+202E" in problems[0]
    assert problems[1].startswith("Row 3, column Source document:") and "error value" in problems[1]


@pytest.mark.parametrize("cell", ["\u202eJAM", "JAM\x01"])
def test_a_spreadsheet_refuses_a_code_with_hidden_characters(stage, cell):
    (problem,) = refused(stage, csv_upload([row(state=cell)]))
    assert problem.startswith("Row 2, column State:"), problem


@pytest.mark.parametrize("value", [*REFUSED_DATES, "#VALUE!"])
def test_a_spreadsheet_refuses_an_implausible_date(stage, value):
    (problem,) = refused(stage, csv_upload([row(**{"Source date": value})]))
    assert problem.startswith("Row 2, column Source date:"), problem


@pytest.mark.parametrize(
    ("serial", "message"), [(60, "never was"), (-6, "count days from 1"), (3_000_000, "not a plausible date")]
)
def test_a_workbook_refuses_a_day_number_that_is_no_date(stage, serial, message):
    (problem,) = refused(stage, xlsx_upload([row(**{"Source date": serial})]))
    assert "column Source date:" in problem and message in problem, problem


def test_a_workbook_reads_a_day_number_as_its_date(world, ratings, analyst):
    staged = factories.staged_upload(upload=xlsx_upload([row(**{"Source date": 45658})]), by=analyst)
    (changed,) = staged.rows
    assert changed["values"]["source_date"] == "2025-01-01"


def test_a_short_csv_row_is_refused_not_padded(stage):
    problems = refused(stage, csv_upload([row(), ["JAM", "SALW-06", "Implemented"]]))
    assert problems == [
        f"Row 3: The row has 3 cells but the first row names {len(HEADER)} columns; a separator is missing."
    ]


def test_a_blank_csv_line_is_not_a_short_row(stage):
    stage(csv_upload([row(), []]))
    assert StagedUpload.objects.count() == 1


# Missing columns: the checks read the values that will be kept


def test_an_unchanged_not_applicable_row_passes_without_its_justification_column(stage, ratings):
    for rating in Rating.objects.filter(state__iso3="JAM"):
        rating.status, rating.justification = Rating.Status.NOT_APPLICABLE, "No arms industry."
        rating.save(update_fields=["status", "justification"])
    staged = stage(csv_upload([["JAM", "SALW-04", "Not applicable"]], header=["State", "Code", "Status"]))
    (kept,) = staged.rows
    assert kept["action"] == "unchanged"


def test_a_row_made_not_applicable_still_needs_a_justification_to_keep(stage):
    problems = refused(stage, csv_upload([["JAM", "SALW-04", "Not applicable"]], header=["State", "Code", "Status"]))
    assert problems == [
        "Row 2, column Why not applicable: 'Not applicable' needs a justification: say why the measure does not apply."
    ]


def test_a_missing_justification_column_keeps_the_justification_for_a_change(stage, ratings):
    for rating in Rating.objects.filter(state__iso3="JAM"):
        rating.status, rating.justification = Rating.Status.NOT_APPLICABLE, "No arms industry."
        rating.save(update_fields=["status", "justification"])
    staged = stage(
        csv_upload(
            [["JAM", "SALW-04", "Not applicable", "Checked again."]], header=["State", "Code", "Status", "Explanation"]
        )
    )
    (changed,) = spreadsheets.preview(staged).changes
    assert changed["values"]["justification"] == "No arms industry."
    assert changed["changes"] == [
        ["Explanation", "Marking law adopted; import marking not yet enforced.", "Checked again."]
    ]


# The API


@pytest.mark.parametrize(("field", "value", "message"), REFUSED)
def test_the_api_refuses_the_field(ratings, focal_jam, field, value, message):
    client = APIClient()
    client.force_authenticate(focal_jam)
    payload = {"state": "JAM", "measure": "SALW-04", "status": "largely", field: value}
    response = client.post("/api/v1/submissions/", payload, format="json")
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()[field])
    assert not Submission.objects.exists()


@pytest.mark.parametrize("value", REFUSED_DATES)
def test_the_api_refuses_an_implausible_date(ratings, focal_jam, value):
    client = APIClient()
    client.force_authenticate(focal_jam)
    payload = {"state": "JAM", "measure": "SALW-04", "status": "largely", "source_date": value}
    response = client.post("/api/v1/submissions/", payload, format="json")
    assert response.status_code == 400, response.content
    assert "source_date" in response.json()


# The admin


@pytest.mark.parametrize(("field", "value", "message"), REFUSED)
def test_the_admin_refuses_the_field(client, analyst, ratings, field, value, message):
    rating = ratings["jam", ASSESSED]
    client.force_login(analyst)
    response = client.post(rating_url(rating), rating_form_data(rating, **{field: value}))
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    rating.refresh_from_db()
    assert getattr(rating, field) != value


def test_the_admin_refuses_a_control_character_in_a_recommendation(client, analyst, world):
    client.force_login(analyst)
    url = reverse("admin:implementation_recommendation_add")
    response = client.post(url, {"state": world["jam"].pk, "text": "Adopt\x1b the act", "priority": "medium"})
    assert response.status_code == 200
    assert "U+001B" in " ".join(response.context["adminform"].form.errors["text"])
