"""
The focal points' workflow in other languages: the spreadsheet round trip across languages,
messages that keep the row, column and date in their sentence, the API's own error
messages, and dates and plurals on the workflow pages.

The project's catalogues may not be written yet, so the tests that need French install a
small one of their own (``french``): a few of the project's strings, as a translator would
give them, compiled into a .mo file on a LOCALE_PATHS entry that comes first.
"""

import datetime as dt
import io
import struct

import factories
import openpyxl
import pytest
from background import run_tasks
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from implementation import spreadsheets, workflow
from implementation.models import Rating, StagedUpload, Submission
from implementation.ratings import moment_text
from implementation.spreadsheets import COLUMNS
from states.models import Role

SELF = Rating.Kind.SELF_REPORTED
AT = dt.datetime(2025, 5, 1, 9, 30, tzinfo=dt.UTC)
COLUMN = "spreadsheet column\x04"
FRENCH = {
    # The spreadsheet's columns, as the workbook's first row has them.
    COLUMN + "State": "État",
    COLUMN + "Code": "Code",
    COLUMN + "Section": "Section",
    COLUMN + "Measure": "Mesure",
    COLUMN + "Status": "Statut",
    COLUMN + "Explanation": "Explication",
    COLUMN + "Why not applicable": "Pourquoi sans objet",
    COLUMN + "Source document": "Document source",
    COLUMN + "Article or section": "Article ou section",
    COLUMN + "Source URL": "URL de la source",
    COLUMN + "Source date": "Date de la source",
    # The status scale (implementation/models.py).
    "Implemented": "Mis en œuvre",
    "Largely implemented": "Largement mis en œuvre",
    "Partially implemented": "Partiellement mis en œuvre",
    "Not implemented": "Non mis en œuvre",
    "No information": "Aucune information",
    "Not applicable": "Sans objet",
    # The workbook and the messages of an upload.
    "Instructions": "Consignes",
    "Self-report of %(state)s (%(iso3)s) on the SCR 2370 Technical Guidelines": (
        "Auto-évaluation de %(state)s (%(iso3)s) sur les principes directeurs techniques de la résolution 2370"
    ),
    "Row %(row)s, column %(column)s: %(message)s": "Ligne %(row)s, colonne %(column)s : %(message)s",
    "'%(text)s' is not a status; use one of %(statuses)s.": (
        "« %(text)s » n’est pas un statut ; choisissez parmi : %(statuses)s."
    ),
    "upload preview\x04Field": "Champ",
    # Conflicts and the API.
    "%(date)s at %(time)s": "%(date)s à %(time)s",
    "%(name)s submitted a change to %(code)s on %(when)s (%(status)s) after you opened it. Yours was not saved: "
    "reload, read theirs, and submit again to replace it.": (
        "%(name)s a proposé une modification de %(code)s le %(when)s (%(status)s) après que vous l’avez ouverte. "
        "La vôtre n’a pas été enregistrée : rechargez la page, lisez la leur et renvoyez la vôtre pour la remplacer."
    ),
    "The current catalogue has no measure {value}.": "Le catalogue en vigueur n’a pas de mesure {value}.",
    "Your account has no role in the tracker yet. Ask a CTED analyst to give you one.": (
        "Votre compte n’a pas encore de rôle dans l’outil de suivi. Demandez-en un à un analyste de la DECT."
    ),
}


def write_mo(path, messages):
    """``messages`` (msgid, or context + "\\x04" + msgid → translation) as a GNU .mo file at ``path``."""
    catalogue = {"": "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n > 1);\n"}
    catalogue |= messages
    keys = sorted(catalogue, key=lambda key: key.encode())
    originals = [key.encode() for key in keys]
    translations = [catalogue[key].encode() for key in keys]
    start = 28 + 16 * len(keys)
    tables, data = [], b""
    for text in [*originals, *translations]:
        tables += [len(text), start + len(data)]
        data += text + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, len(keys), 28, 28 + 8 * len(keys), 0, start)
    path.write_bytes(header + struct.pack(f"<{len(tables)}I", *tables) + data)


def install_french(settings, directory, messages):
    """``messages`` as a French catalogue in ``directory``, ahead of any catalogue of the project."""
    (directory / "fr" / "LC_MESSAGES").mkdir(parents=True)
    write_mo(directory / "fr" / "LC_MESSAGES" / "django.mo", messages)
    # Changing LOCALE_PATHS makes Django drop the catalogues it has loaded (django.test.signals).
    settings.LOCALE_PATHS = [directory, *settings.LOCALE_PATHS]


@pytest.fixture
def french(settings, tmp_path):
    """French translations of the strings in ``FRENCH``."""
    install_french(settings, tmp_path, FRENCH)
    with translation.override("fr"):
        assert translation.gettext("Instructions") == "Consignes", "the test catalogue did not load"


def download(client, language):
    response = client.get(reverse("my_state_spreadsheet", args=["JAM"]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(response.content))


def as_upload(workbook, name="jamaica.xlsx"):
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def upload(client, file, language):
    """Upload ``file`` from a page in ``language``, then let a worker check it."""
    response = client.post(reverse("my_state_upload", args=["JAM"]), {"file": file}, HTTP_ACCEPT_LANGUAGE=language)
    run_tasks()
    return response


def set_cell(workbook, code, column, value):
    sheet = workbook["Ratings"]
    (number,) = [row[0].row for row in sheet.iter_rows(min_row=2) if row[1].value == code]
    sheet.cell(number, column, value)


STATUS_COLUMN = [column.field for column in COLUMNS].index("status") + 1
DATE_COLUMN = [column.field for column in COLUMNS].index("source_date") + 1


# The spreadsheet round trip across languages


def test_a_french_workbook_uploads_through_an_english_page(client, focal_jam, ratings, french):
    client.force_login(focal_jam)
    workbook = download(client, "fr")
    assert workbook.sheetnames == ["Ratings", "Consignes"]
    sheet = workbook["Ratings"]
    assert [cell.value for cell in sheet[1]][:5] == ["État", "Code", "Section", "Mesure", "Statut"]
    assert sheet.cell(2, STATUS_COLUMN).value == "Partiellement mis en œuvre"
    (statuses,) = [dv for dv in sheet.data_validations.dataValidation if dv.type == "list"]
    assert "Largement mis en œuvre" in statuses.formula1 and "Largely" not in statuses.formula1
    assert statuses.promptTitle == "Statut"
    assert workbook["Consignes"]["A1"].value.startswith("Auto-évaluation de Jamaica (JAM)")

    # The focal point picks a French status from the drop-down, then uploads from a page in English.
    set_cell(workbook, "SALW-04", STATUS_COLUMN, "Largement mis en œuvre")
    set_cell(workbook, "SALW-06", STATUS_COLUMN, "Sans objet")
    set_cell(workbook, "SALW-06", STATUS_COLUMN + 2, "No civilian firearms registry needed.")
    response = upload(client, as_upload(workbook), "en")
    assert response.status_code == 302, [str(problem) for problem in response.context["refused"].problems]
    staged = StagedUpload.objects.get()
    assert staged.summary["missing_columns"] == [] and staged.summary["ignored_columns"] == []
    changes = {row["code"]: row["changes"] for row in spreadsheets.preview(staged).changes}
    assert changes == {
        "SALW-04": [["Status", "Partially implemented", "Largely implemented"]],
        "SALW-06": [
            ["Status", "", "Not applicable"],
            ["Why not applicable", "", "No civilian firearms registry needed."],
        ],
    }
    assert client.post(response["Location"], HTTP_ACCEPT_LANGUAGE="en").status_code == 302
    run_tasks()
    assert dict(Submission.objects.values_list("measure__code", "status")) == {
        "SALW-04": "largely",
        "SALW-06": "not_applicable",
    }


def test_an_english_workbook_uploads_through_a_french_page(client, focal_jam, ratings, french):
    client.force_login(focal_jam)
    workbook = download(client, "en")
    assert [cell.value for cell in workbook["Ratings"][1]][:5] == ["State", "Code", "Section", "Measure", "Status"]
    set_cell(workbook, "SALW-04", STATUS_COLUMN, "Largely implemented")
    set_cell(workbook, "SALW-04", DATE_COLUMN, dt.date(2025, 1, 15))
    response = upload(client, as_upload(workbook), "fr")
    assert response.status_code == 302
    # The preview reads in the language of the page: the column and the status in French.
    html = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<th scope="col">Champ</th>' in html
    assert "<td>Statut</td>" in html
    assert (
        '<td class="upload-old">Partiellement mis en œuvre</td><td class="upload-new">Largement mis en œuvre</td>'
        in html
    )
    # Dates stay as the file has them, year-month-day.
    assert "<td>Date de la source</td>" in html and '<td class="upload-new">2025-01-15</td>' in html


def test_a_preview_reads_in_the_language_of_whoever_opens_it(client, focal_jam, ratings, french):
    client.force_login(focal_jam)
    workbook = download(client, "en")
    set_cell(workbook, "SALW-04", STATUS_COLUMN, "Implemented")
    url = upload(client, as_upload(workbook), "en")["Location"]
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    french_page = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<td class="upload-new">Implemented</td>' in english
    assert '<td class="upload-new">Mis en œuvre</td>' in french_page
    # Its download too.
    response = client.get(url, {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert "Statut,Partiellement mis en œuvre,Mis en œuvre" in response.content.decode("utf-8-sig")


def test_a_csv_file_with_french_headings_and_statuses_uploads_through_an_english_page(
    client, focal_jam, ratings, french
):
    client.force_login(focal_jam)
    text = "État;Code;Statut;Explication\nJAM;SALW-04;largement mis en œuvre;Marquage contrôlé à l’import.\n"
    response = upload(client, SimpleUploadedFile("jamaica.csv", text.encode("utf-8-sig")), "en")
    assert response.status_code == 302, [str(problem) for problem in response.context["refused"].problems]
    (row,) = StagedUpload.objects.get().rows
    assert (row["values"]["status"], row["values"]["explanation"]) == ("largely", "Marquage contrôlé à l’import.")


def test_a_bad_row_is_named_by_row_and_column_in_the_readers_language(client, focal_jam, ratings, french):
    client.force_login(focal_jam)
    workbook = download(client, "en")
    set_cell(workbook, "SALW-04", STATUS_COLUMN, "Mostly")
    response = upload(client, as_upload(workbook), "fr")
    # Checked in the background, in the language of the page it was uploaded from.
    assert response.status_code == 302
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="fr")
    (problem,) = [str(problem) for problem in page.context["refused"].problems]
    assert problem == (
        "Ligne 2, colonne Statut : « Mostly » n’est pas un statut ; choisissez parmi : Mis en œuvre, "
        "Largement mis en œuvre, Partiellement mis en œuvre, Non mis en œuvre, Aucune information, Sans objet."
    )


def test_an_arabic_workbook_reads_right_to_left(client, focal_jam, ratings):
    client.force_login(focal_jam)
    workbook = download(client, "ar")
    assert workbook["Ratings"].sheet_view.rightToLeft
    assert all(sheet.sheet_view.rightToLeft for sheet in workbook.worksheets)
    assert not download(client, "fr")["Ratings"].sheet_view.rightToLeft


def test_the_download_and_preview_cost_the_same_queries_in_any_language(
    client, focal_jam, ratings, french, django_assert_num_queries
):
    client.force_login(focal_jam)
    for language in ("en", "fr", "ar"):
        # As in test_spreadsheets: 1-2. session and user; 3. the State; 4. the user's roles;
        # 5. may_submit; 6. the current measures with their sections; 7. the State's self-reports
        with django_assert_num_queries(7):
            download(client, language)
    workbook = download(client, "en")
    set_cell(workbook, "SALW-04", STATUS_COLUMN, "Implemented")
    url = upload(client, as_upload(workbook), "en")["Location"]
    for language in ("en", "fr", "ar"):
        # 1-2. session and user; 3. the State; 4. may_submit; 5. the preview; 6-8. the site
        # menu: workshop regions, the user's roles, the user's own State
        with django_assert_num_queries(8):
            assert client.get(url, HTTP_ACCEPT_LANGUAGE=language).status_code == 200


def test_every_language_keeps_the_spreadsheets_names_apart_and_its_drop_down_valid():
    # Checks the project's own catalogues, whatever they hold when this runs: a translation
    # that gave two columns or two statuses one name would make uploads misread them, and
    # a status list Excel cannot hold would make it call the workbook damaged.
    assert spreadsheets.vocabulary().clashes == []
    for language, _name in django_settings.LANGUAGES:
        with translation.override(language):
            assert len(spreadsheets.status_list_formula()) <= spreadsheets.LIST_FORMULA_MAX, language
            assert not any("," in str(status.label) or '"' in str(status.label) for status in Rating.Status), language


def test_a_translation_that_names_two_statuses_alike_is_caught(settings, tmp_path):
    # "Largely implemented" given the French name of "Implemented", and the Status column a machine name.
    install_french(
        settings, tmp_path, {**FRENCH, "Largely implemented": "Mis en œuvre", COLUMN + "Status": "Explanation"}
    )
    assert spreadsheets.vocabulary().clashes == ["explanation", "mis en œuvre"]
    with translation.override("fr"):
        # The first meaning stands: English, then the languages in settings order.
        assert spreadsheets.vocabulary().statuses["mis en œuvre"] == Rating.Status.IMPLEMENTED


# Messages with a date, a name and a count


def test_a_conflict_message_gives_the_moment_in_the_readers_language(world, focal_jam, ratings, french):
    workflow.submit(state=world["jam"], measure=world["marking"], by=focal_jam, status="largely", at=AT)
    with translation.override("en"):
        assert moment_text(AT) == "01 May 2025 at 09:30"
    with translation.override("fr"), pytest.raises(workflow.EditConflict) as conflict:
        workflow.submit(state=world["jam"], measure=world["marking"], by=focal_jam, status="implemented")
    assert conflict.value.messages == [
        "jo a proposé une modification de SALW-04 le 01 Mai 2025 à 09:30 (Largement mis en œuvre) après que vous "
        "l’avez ouverte. La vôtre n’a pas été enregistrée : rechargez la page, lisez la leur et renvoyez la vôtre "
        "pour la remplacer."
    ]


def test_the_stored_reason_of_an_acceptance_stays_in_english(world, focal_jam, analyst, ratings, french):
    pending = workflow.submit(state=world["jam"], measure=world["marking"], by=focal_jam, status="largely", at=AT)
    with translation.override("fr"):
        workflow.accept(pending, by=analyst, note="Merci.")
    latest = ratings["jam", SELF].history.order_by("-history_id").first()
    assert latest.history_change_reason == "Submission by jo of 01 May 2025 at 09:30 accepted: Merci."


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        ("accepted", "The submission you were replacing has meanwhile been accepted."),
        ("returned", "The submission you were replacing has meanwhile been returned."),
        ("removed", "The submission you were replacing has meanwhile been removed."),
    ],
)
def test_replacing_a_submission_reviewed_meanwhile_says_what_became_of_it(
    world, focal_jam, analyst, ratings, outcome, message
):
    earlier = workflow.submit(state=world["jam"], measure=world["marking"], by=focal_jam, status="largely")
    number = earlier.pk
    if outcome == "accepted":
        workflow.accept(earlier, by=analyst)
    elif outcome == "returned":
        workflow.return_submission(earlier, by=analyst, note="Cite the law.")
    else:
        earlier.delete()
    with pytest.raises(workflow.EditConflict) as conflict:
        workflow.submit(
            state=world["jam"], measure=world["marking"], by=focal_jam, status="implemented", replaces=number
        )
    assert conflict.value.messages[0].startswith(message)


def test_one_submission_from_a_spreadsheet_is_told_in_the_singular(client, focal_jam, ratings):
    client.force_login(focal_jam)
    workbook = download(client, "en")
    set_cell(workbook, "SALW-04", STATUS_COLUMN, "Implemented")
    url = upload(client, as_upload(workbook), "en")["Location"]
    client.post(url)
    run_tasks()
    assert (
        "1 submission sent for review from jamaica.xlsx. A CTED analyst will accept or return it."
        in client.get(url).content.decode()
    )


def test_freezing_one_rating_is_told_in_the_singular(client, analyst, world):
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF, status="largely", by=analyst, reason="First"
    )
    client.force_login(analyst)
    response = client.post(reverse("state_snapshots", args=["JAM"]), {"label": "2025 cycle"}, follow=True)
    assert "Froze 1 rating of Jamaica as “2025 cycle”." in response.content.decode()


def test_workflow_pages_give_dates_in_the_readers_language(client, analyst, world, focal_jam, ratings):
    snapshot = workflow.freeze(state=world["jam"], label="2025 cycle", by=analyst, at=AT)
    client.force_login(analyst)
    english = client.get(reverse("snapshot", args=["JAM", snapshot.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    french_page = client.get(reverse("snapshot", args=["JAM", snapshot.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    assert "1 May 2025, 09:30" in english
    # Month names come from Django's own French catalogue.
    assert "1 mai 2025, 09:30" in french_page.content.decode()


# The API's own messages


def api(user, language):
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.force_authenticate(user)
    return client


def test_api_errors_are_in_the_clients_language_but_field_names_are_not(focal_jam, nobody, ratings, french):
    response = api(focal_jam, "fr").post(
        "/api/v1/submissions/", {"state": "JAM", "measure": "NOPE-1", "status": "largely"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"measure": ["Le catalogue en vigueur n’a pas de mesure NOPE-1."]}
    refused = api(nobody, "fr").get("/api/v1/ratings/")
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Votre compte n’a pas encore de rôle dans l’outil de suivi. Demandez-en un à un analyste de la DECT."
    }
    assert api(nobody, "en").get("/api/v1/ratings/").json()["detail"].startswith("Your account has no role")


def test_api_conflict_is_in_the_clients_language_with_its_enum_values_untouched(world, focal_jam, ratings, french):
    alternate = factories.user(
        username="alt", role=Role.Kind.FOCAL_POINT, state=world["jam"], is_alternate=True, password=None
    )
    workflow.submit(state=world["jam"], measure=world["marking"], by=alternate, status="implemented", at=AT)
    response = api(focal_jam, "fr").post(
        "/api/v1/submissions/", {"state": "JAM", "measure": "SALW-04", "status": "largely"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["detail"].startswith("alt a proposé une modification de SALW-04 le 01 Mai 2025 à 09:30")
    listed = api(focal_jam, "fr").get("/api/v1/submissions/").json()["results"]
    assert [(row["status"], row["review"], row["channel"]) for row in listed] == [("implemented", "pending", "form")]


# Every workflow page in every language


@pytest.mark.parametrize("language", ["fr", "es", "ar"])
def test_every_workflow_page_renders_in_each_language(client, analyst, focal_jam, world, ratings, language):
    pending = workflow.submit(state=world["jam"], measure=world["marking"], by=focal_jam, status="largely", at=AT)
    workflow.return_submission(
        workflow.submit(state=world["jam"], measure=world["records"], by=focal_jam, status="implemented"),
        by=analyst,
        note="Cite the law.",
    )
    earlier = workflow.freeze(state=world["jam"], label="2024 cycle", by=analyst, at=AT - dt.timedelta(days=365))
    workflow.freeze(state=world["jam"], label="2025 cycle", by=analyst, at=AT)
    header = ",".join(column.header for column in COLUMNS if not column.informative)
    csv_file = f"{header}\nJAM,SALW-06,Implemented,,,,,,\n".encode()

    client.force_login(focal_jam)
    pages = [
        reverse("my_state"),
        reverse("my_state_report", args=["JAM", "SALW-04"]),
        reverse("my_state_upload", args=["JAM"]),
        upload(client, SimpleUploadedFile("jam.csv", csv_file), language)["Location"],
    ]
    for url in pages:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        assert f'lang="{language}"' in response.content.decode(), url

    client.force_login(analyst)
    staged = client.post(reverse("bulk_import"), {"file": SimpleUploadedFile("all.csv", csv_file)})
    run_tasks()
    pages = [
        reverse("review"),
        reverse("state_snapshots", args=["JAM"]),
        reverse("snapshot", args=["JAM", earlier.pk]),
        reverse("snapshot_compare", args=["JAM"]),
        reverse("bulk_import"),
        staged["Location"],
        reverse("api-docs"),
    ]
    for url in pages:
        assert client.get(url, HTTP_ACCEPT_LANGUAGE=language).status_code == 200, url
    assert f"submission-{pending.pk}" in client.get(reverse("review"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
