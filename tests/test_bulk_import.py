"""
The analysts' bulk import of CTED's assessed ratings: one file for many States, checked and
previewed, then applied in bulk with a history row per rating. Runs on SQLite (Django's
bulk operations) and on PostgreSQL (its own statements, see ratings.write_postgresql).
"""

import csv
import datetime as dt
import io

import factories
import openpyxl
import pytest
from background import run_tasks
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from implementation import spreadsheets
from implementation.models import Rating, StagedUpload, Submission
from implementation.spreadsheets import comparison
from measures.models import Measure
from states.models import Role

ASSESSED = Rating.Kind.ASSESSED
HEADER = ["State ISO3", "Measure code", "Status", "Explanation", "Justification", "Source document",
          "Article or section", "Source URL", "Source date"]  # fmt: skip
LOADED = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def csv_file(rows, header=HEADER, name="cted-2025.csv"):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8-sig"))


def line(state, code, status, explanation="", justification="", document="", reference="", url="", date=""):
    return [state, code, status, explanation, justification, document, reference, url, date]


# JAM SALW-04 moves up; KEN SALW-04 stays as it is; two measures are rated for the first time.
FILE_ROWS = [
    line("JAM", "SALW-04", "Largely implemented", "Import marking enforced since 2025.", document="Firearms Act",
         reference="s. 12", date="2025-01-15"),
    line("KEN", "SALW-04", "Partially implemented", "Marking law adopted; import marking not yet enforced.",
         document="Firearms Act"),
    line("JAM", "SALW-06", "Implemented", "Central registry online.", url="https://example.org/registry"),
    line("TTO", "SALW-06", "not_applicable", justification="No civilian firearms are held."),
]  # fmt: skip


def counts():
    """Everything an import could write."""
    return (Rating.objects.count(), Rating.history.count(), Submission.objects.count(), StagedUpload.objects.count())


def stage(client, file):
    """Upload ``file`` and let a worker check it: the address of its preview."""
    response = client.post(reverse("bulk_import"), {"file": file})
    assert response.status_code == 302, [str(p) for p in response.context["refused"].problems]
    run_tasks()
    staged = StagedUpload.objects.get()
    assert staged.status == StagedUpload.Status.READY, staged.problems
    return response["Location"]


def confirm(client, url):
    """Confirm the import at ``url`` and let a worker apply it: the response to the confirmation."""
    response = client.post(url)
    run_tasks()
    return response


def refusal(client, url):
    """The problems the page of a refused upload lists."""
    page = client.get(url)
    assert StagedUpload.objects.get().status == StagedUpload.Status.REFUSED
    return [str(problem) for problem in page.context["refused"].problems]


def test_import_previews_then_sets_assessed_ratings_with_history(client, analyst, ratings, world):
    client.force_login(analyst)
    before = counts()
    url = stage(client, csv_file(FILE_ROWS))
    assert counts()[:3] == before[:3]

    staged = StagedUpload.objects.get()
    assert (staged.summary["added"], staged.summary["changed"], staged.summary["unchanged"]) == (2, 1, 1)
    assert staged.summary["states"] == 3
    html = client.get(url).content.decode()
    assert "2 added · 1 changed · 1 unchanged (skipped)" in html
    assert "Set 3 assessed ratings in 3 States" in html
    assert "Row 3: KEN SALW-04" in html
    (changed,) = [row for row in spreadsheets.preview(staged).changes if row["action"] == "changed"]
    assert changed["changes"] == [
        ["Status", "Partially implemented", "Largely implemented"],
        [
            "Explanation",
            "Marking law adopted; import marking not yet enforced.",
            "Import marking enforced since 2025.",
        ],
        ["Article or section", "", "s. 12"],
        ["Source date", "", "2025-01-15"],
    ]

    response = confirm(client, url)
    assert response.status_code == 302
    assert response["Location"] == url
    # The upload is kept, applied, so that its page says what it did.
    assert counts() == (before[0] + 2, before[1] + 3, before[2], 1)
    assert "3 assessed ratings set from cted-2025.csv." in client.get(url).content.decode()

    jam = Rating.objects.get(state=world["jam"], measure=world["marking"], kind=ASSESSED)
    assert (jam.status, jam.source_reference, jam.source_date) == ("largely", "s. 12", dt.date(2025, 1, 15))
    assert jam.set_by == analyst
    assert jam.set_at == jam.last_confirmed_at > LOADED
    latest = jam.history.order_by("-history_id").first()
    assert (latest.history_type, latest.previous_status, latest.status) == ("~", "partially", "largely")
    assert latest.history_user == analyst
    assert latest.history_change_reason == "Bulk import cted-2025.csv"
    assert latest.history_date == jam.last_confirmed_at
    assert (latest.source_reference, latest.set_by, latest.set_at) == ("s. 12", analyst, jam.set_at)

    tto = Rating.objects.get(state=world["tto"], measure=world["records"], kind=ASSESSED)
    assert (tto.status, tto.justification, tto.set_by) == ("not_applicable", "No civilian firearms are held.", analyst)
    (first,) = tto.history.all()
    assert (first.history_type, first.previous_status, first.status) == ("+", "", "not_applicable")
    assert first.justification == "No civilian firearms are held."

    # Unchanged: no history row, nothing restamped.
    ken = Rating.objects.get(state=world["ken"], measure=world["marking"], kind=ASSESSED)
    assert ken.history.count() == 1
    assert ken.last_confirmed_at == LOADED
    # Self-reports are not touched by an import of CTED's ratings.
    assert Rating.objects.get(pk=ratings["jam", Rating.Kind.SELF_REPORTED].pk).status == "partially"


def test_a_change_that_keeps_the_status_keeps_who_set_it(client, analyst, ratings, world):
    colleague = factories.user(username="ana2", role=Role.Kind.ANALYST, password=None)
    client.force_login(analyst)
    rows = [line("JAM", "SALW-04", "Partially implemented", "Checked at the 2025 workshop.")]
    file = csv_file(rows, header=HEADER[:4])
    staged = factories.staged_upload(upload=file, by=colleague)
    spreadsheets.apply_assessed(factories.confirmed(staged), by=colleague)
    jam = Rating.objects.get(state=world["jam"], measure=world["marking"], kind=ASSESSED)
    assert (jam.set_by, jam.set_at) == (analyst, LOADED)
    assert jam.last_confirmed_at > LOADED
    assert jam.explanation == "Checked at the 2025 workshop."
    # Columns the file leaves out keep their values.
    assert jam.source_document == "Firearms Act"
    latest = jam.history.order_by("-history_id").first()
    assert (latest.previous_status, latest.status, latest.history_user) == ("partially", "partially", colleague)
    assert (latest.set_by, latest.set_at, latest.source_document) == (analyst, LOADED, "Firearms Act")


def test_xlsx_import(client, analyst, ratings, world):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Ratings"
    workbook.active.append(HEADER)
    workbook.active.append(line("FRA", "SALW-04", "Implemented", date=dt.date(2023, 6, 30)))
    buffer = io.BytesIO()
    workbook.save(buffer)
    client.force_login(analyst)
    confirm(client, stage(client, SimpleUploadedFile("fra.xlsx", buffer.getvalue())))
    fra = Rating.objects.get(state=world["fra"], kind=ASSESSED)
    assert (fra.status, fra.source_date) == ("implemented", dt.date(2023, 6, 30))


def test_preview_lists_every_change_in_its_download(client, analyst, ratings):
    client.force_login(analyst)
    url = stage(client, csv_file(FILE_ROWS))
    response = client.get(url, {"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Row", "State", "Code", "Measure", "Added or changed", "Field", "Now", "From the file"]
    assert ["2", "JAM", "SALW-04", "Unique marking at manufacture and on import", "changed", "Status",
            "Partially implemented", "Largely implemented"] in rows  # fmt: skip
    assert len(rows) == 1 + 4 + 3 + 2  # the header, then a line per field of each row that changes


def test_preview_page_shows_the_first_rows_and_counts_the_rest(client, analyst, ratings, monkeypatch):
    monkeypatch.setattr(comparison, "PREVIEW_ROWS", 1)
    client.force_login(analyst)
    html = client.get(stage(client, csv_file(FILE_ROWS))).content.decode()
    assert "the first 1 rows of 3" in html
    assert "Import marking enforced since 2025." in html  # row 2
    assert "Central registry online." not in html  # row 4, in the download only


# Bad files: refused, with nothing written


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([line("XYZ", "SALW-04", "Implemented")], HEADER, "Row 6, column State: 'XYZ' is not the ISO3 code"),
        (
            [line("JAM", "SALW-99", "Implemented")],
            HEADER,
            "Row 6, column Code: 'SALW-99' is not the code of a measure",
        ),
        ([line("JAM", "SALW-04", "Mostly")], HEADER, "Row 6, column Status: 'Mostly' is not a status"),
        (
            [line("JAM", "SALW-04", "Not applicable")],
            HEADER,
            "Row 6, column Why not applicable: 'Not applicable' needs",
        ),
        (
            [line("JAM", "SALW-04", "Implemented", date="31/12/2024")],
            HEADER,
            "Row 6, column Source date: '31/12/2024'",
        ),
        ([line("JAM", "SALW-04", "=cmd|' /C calc'!A0")], HEADER, "Row 6, column Status: holds a formula"),
        ([["JAM", "Implemented"]], ["State", "Status"], "Row 1: The first row must name the columns; missing: Code."),
    ],
)
def test_bad_import_is_refused_and_changes_nothing(client, analyst, ratings, rows, header, message):
    client.force_login(analyst)
    before = counts()
    response = client.post(reverse("bulk_import"), {"file": csv_file([*FILE_ROWS, *rows], header=header)})
    assert response.status_code == 302
    run_tasks()
    problems = refusal(client, response["Location"])
    assert any(problem.startswith(message) for problem in problems), problems
    # Only the refused upload is kept, so that its page lists the problems.
    assert counts() == (*before[:3], before[3] + 1)


def test_a_rating_changed_after_the_preview_refuses_the_whole_import(client, analyst, ratings, world):
    client.force_login(analyst)
    url = stage(client, csv_file(FILE_ROWS))
    factories.rating(state=world["jam"], measure=world["marking"], status="implemented", by=analyst, reason="Visit")
    before = counts()
    assert confirm(client, url).status_code == 302
    assert refusal(client, url) == [
        "Row 2: JAM SALW-04: the assessed rating changed after your preview (now Implemented). Nothing was applied: "
        "upload the file again to see the current values."
    ]
    assert counts() == before
    assert not Rating.objects.filter(state=world["tto"], kind=ASSESSED).exists()


def test_a_rating_created_after_the_preview_refuses_the_whole_import(client, analyst, ratings, world):
    client.force_login(analyst)
    url = stage(client, csv_file(FILE_ROWS))
    factories.rating(state=world["tto"], measure=world["records"], status="largely", by=analyst, reason="Visit")
    before = counts()
    assert confirm(client, url).status_code == 302
    assert refusal(client, url)[0].startswith(
        "Row 5: TTO SALW-06: the assessed rating changed after your preview (now Largely implemented)."
    )
    assert counts() == before


# Who may import


@pytest.mark.parametrize("who", ["focal_jam", "coordinator", "nobody"])
def test_only_analysts_import(client, request, ratings, who):
    client.force_login(request.getfixturevalue(who))
    before = counts()
    assert client.get(reverse("bulk_import")).status_code == 403
    assert client.post(reverse("bulk_import"), {"file": csv_file(FILE_ROWS)}).status_code == 403
    assert counts() == before


def test_a_focal_point_cannot_confirm_an_analysts_import(client, analyst, focal_jam, ratings):
    client.force_login(analyst)
    url = stage(client, csv_file(FILE_ROWS))
    client.force_login(focal_jam)
    before = counts()
    assert client.post(url).status_code == 403
    assert counts() == before


def test_only_an_analyst_applies_an_import_even_called_directly(client, analyst, focal_jam, ratings):
    client.force_login(analyst)
    stage(client, csv_file(FILE_ROWS))
    staged = StagedUpload.objects.get()
    before = counts()
    with pytest.raises(PermissionDenied):
        spreadsheets.apply_assessed(staged, by=focal_jam)
    assert counts() == before


def test_rating_list_links_to_the_import_for_analysts_only(client, analyst, focal_jam, coordinator, ratings):
    link = f'<a href="{reverse("bulk_import")}">Import assessed ratings</a>'
    for user, shown in ((analyst, True), (focal_jam, False), (coordinator, False)):
        client.force_login(user)
        response = client.get(reverse("admin:implementation_rating_changelist"))
        assert response.status_code == 200
        assert (link in response.content.decode()) is shown, user


# Queries


@pytest.fixture
def catalogue(world):
    """Twenty more measures in the current catalogue."""
    return [
        Measure.objects.create(
            edition=world["edition"],
            section=world["section"],
            code=f"UAS-{number:02}",
            title=f"Drones {number}",
            domain=Measure.Domain.UAS,
            phase=Measure.Phase.BOTH,
            operational=True,
            position=10 + number,
        )  # fmt: skip
        for number in range(20)
    ]


def test_confirming_does_not_query_row_by_row(client, analyst, ratings, catalogue, django_assert_num_queries):
    client.force_login(analyst)
    few = [line("JAM", "SALW-04", "Implemented"), line("FRA", "SALW-04", "Implemented")]
    many = [
        line(iso3, measure.code, "Largely implemented", "Seen at the workshop.")
        for iso3 in ("JAM", "TTO", "KEN", "FRA")
        for measure in catalogue
    ] + [line("JAM", "SALW-04", "Not implemented")]
    for name, rows, changes in (("few.csv", few, 2), ("many.csv", many, 81)):
        url = stage(client, csv_file(rows, name=name))
        # 1-2. session and user; 3. the user's roles (is_analyst); 4. the preview, among the
        # user's; 5. a savepoint; 6. the preview marked as being applied; 7. its application
        # queued; 8. the savepoint released
        with django_assert_num_queries(8):
            assert client.post(url).status_code == 302
        # The worker: 1. a savepoint; 2. the next task, locked; 3. the task claimed; 4. the
        # savepoint released. The application: 5. the upload and its uploader; 6. a savepoint
        # (the transaction); 7. the uploader's roles (is_analyst); 8. the upload, locked; 9. the
        # assessed ratings of the file's States and measures, locked, with their versions; 10. a
        # savepoint for the writes; 11-13. the changed ratings, the new ones, and their history
        # rows (on PostgreSQL one statement each; elsewhere Django's bulk operations, one per
        # thousand rows); 14. that savepoint released; 15. the upload marked applied; 16. the
        # transaction's savepoint released. The worker: 17. the task done; 18-20. no other task (a
        # savepoint, the query, its release); 21. the test's look for failed tasks
        with django_assert_num_queries(21):
            run_tasks()
        assert Rating.history.filter(history_change_reason=f"Bulk import {name}").count() == changes


def test_staging_does_not_query_row_by_row(client, analyst, ratings, catalogue, django_assert_num_queries):
    client.force_login(analyst)
    few = [line("JAM", "SALW-04", "Implemented")]
    many = [line(iso3, measure.code, "Implemented") for iso3 in ("JAM", "TTO", "KEN") for measure in catalogue]
    for rows in (few, many):
        # 1-2. session and user; 3. the user's roles; 4. a savepoint; 5-6. earlier uploads
        # deleted (the user's, then any stale); 7. the upload kept; 8. its check queued; 9. the
        # savepoint released
        with django_assert_num_queries(9):
            response = client.post(reverse("bulk_import"), {"file": csv_file(rows)})
        # The worker: 1-4. the task taken (a savepoint, the next task locked, claimed, the
        # savepoint released). The check: 5. the upload; 6. checking it begun; 7. "reading";
        # 8. every State; 9. the current measures; 10. "checking"; 11. the assessed ratings of
        # the file's States, with their versions; 12. "comparing"; 13. the preview kept, the
        # file dropped. The worker: 14. the task done; 15-17. no other task; 18. the test's look
        # for failed tasks
        with django_assert_num_queries(18):
            run_tasks()
        # 1-2. session and user; 3. the user's roles; 4. the preview, among the user's; 5-6. the
        # site menu: workshop regions, submissions waiting for review
        with django_assert_num_queries(6):
            client.get(response["Location"])


# The benchmark command


def test_bench_import_needs_postgresql(db):
    from django.db import connection

    if connection.vendor == "postgresql":
        pytest.skip("runs on PostgreSQL")
    with pytest.raises(CommandError, match="bench_import needs PostgreSQL"):
        call_command("bench_import", stdout=io.StringIO())


@pytest.mark.postgres
def test_bench_import_times_a_small_import_and_keeps_nothing(db):
    out = io.StringIO()
    call_command("bench_import", "--states", "3", "--rows", "12", "--runs", "1", stdout=out)
    report = out.getvalue()
    assert "12 rows (3 States × 4 measures)" in report
    assert "Confirm: all changed" in report
    assert "Checked: 12 history rows for 12 changed rows" in report
    assert "Within budget" in report
    assert "Upload to applied: CSV, all new" in report
    assert "Confirm a State's spreadsheet (AFG)" in report
    assert "4 submissions, 1 of them replacing one waiting" in report
    assert not Submission.objects.exists()
    assert not Rating.objects.exists()
    assert not Measure.objects.filter(code__startswith="BENCH-").exists()
