"""
Uploads checked and applied in the background: the upload's page says how far its task got and refreshes until it is
done; the uploader may leave and come back; a failure or a refusal leaves nothing written; a file is applied once,
however many times it is confirmed. The tasks run here as a worker would run them (background.run_tasks), when the
test says so.
"""

import datetime as dt
import logging
import threading
import time

import factories
import pytest
from background import queued, run_tasks
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from test_bulk_import import FILE_ROWS, csv_file, line
from test_spreadsheets import csv_upload, row

from implementation import ratings as rating_writes
from implementation.models import Rating, StagedUpload, Submission
from implementation.spreadsheets import checks, staging
from states.models import Role

REFRESH = '<meta http-equiv="refresh" content="2">'
ASSESSED = Rating.Kind.ASSESSED


def upload(client, file, iso3="JAM"):
    """Upload ``file`` to ``iso3``'s page; no worker runs yet. The address of the upload's page."""
    response = client.post(reverse("my_state_upload", args=[iso3]), {"file": file})
    assert response.status_code == 302
    return response["Location"]


def import_file(client, file):
    response = client.post(reverse("bulk_import"), {"file": file})
    assert response.status_code == 302
    return response["Location"]


def counts():
    """Everything applying an upload could write."""
    return (Submission.objects.count(), Rating.objects.count(), Rating.history.count())


# The page while the work goes on


def test_the_page_says_how_far_the_check_got_and_refreshes_until_it_is_done(client, focal_jam, ratings):
    client.force_login(focal_jam)
    url = upload(client, csv_upload([row(), row(code="SALW-06", status="Implemented")]))
    assert queued() == ["implementation.tasks.check_upload"]

    # No worker has taken it yet.
    html = client.get(url).content.decode()
    assert REFRESH in html
    assert "In the queue: the check starts as soon as a worker is free." in html
    assert "Submit 2 rows for review" not in html

    # Halfway through a long file, as a worker reports it.
    staged = StagedUpload.objects.get()
    staged.start_checking()
    staged.report_progress(StagedUpload.Step.CHECKING, 8000, 13703)
    with CaptureQueriesContext(connection) as read:
        html = client.get(url).content.decode()
    # Read again at each refresh, the page leaves the kept file (up to 5 MB) in the database.
    assert not [query for query in read.captured_queries if '"file"' in query["sql"]]
    assert REFRESH in html
    assert "Checking row 8,000 of 13,703." in html
    assert '<progress max="13703" value="8000"' in html

    # Checked: the preview with its button, and nothing refreshes any more. (The check queued above,
    # taken now; the upload set back as it was received, since that check begins by taking it.)
    StagedUpload.objects.update(status=StagedUpload.Status.RECEIVED, step="", rows_done=0, rows_total=0)
    run_tasks()
    html = client.get(url).content.decode()
    assert REFRESH not in html
    assert "Submit 2 rows for review" in html


def test_the_progress_is_written_in_the_readers_language_with_its_numbers(client, focal_jam, ratings):
    client.force_login(focal_jam)
    url = upload(client, csv_upload([row()]))
    staged = StagedUpload.objects.get()
    staged.start_checking()
    staged.report_progress(StagedUpload.Step.CHECKING, 8000, 13703)
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    with translation.override("fr"):
        expected = staged.progress_message
    assert "8 000" in expected.replace("\u202f", " ").replace("\xa0", " ")
    assert expected in html
    assert "Checking row" not in html


def test_the_page_shows_the_check_moving_while_it_runs(client, focal_jam, ratings, more_rows, monkeypatch):
    # A report every row rather than every 500, and the page read at each report, as a person waiting would.
    monkeypatch.setattr(checks, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(staging, "PROGRESS_EVERY", 1)
    client.force_login(focal_jam)
    url = upload(client, csv_upload(more_rows))
    seen = []
    report = StagedUpload.report_progress

    def report_and_look(staged, step, done, total):
        report(staged, step, done, total)
        html = client.get(url).content.decode()
        seen.append((REFRESH in html, html.split('class="upload-progress-step">')[1].split("</p>")[0]))

    monkeypatch.setattr(StagedUpload, "report_progress", report_and_look)
    run_tasks()
    assert seen[0] == (True, "Reading the file.")
    assert (True, "Checking 3 rows.") in seen
    assert (True, "Checking row 2 of 3.") in seen
    assert (True, "Comparing 2 rows with the current ratings.") in seen
    assert (True, "Comparing row 1 of 2 with the current ratings.") in seen
    assert REFRESH not in client.get(url).content.decode()


@pytest.fixture
def more_rows(world):
    # Two rows, and a third left empty as the download leaves a measure not yet reported.
    return [row(), row(code="SALW-06", status="Implemented"), row(code="SALW-06", status="", explanation="")]


def test_a_check_with_no_word_from_its_worker_for_long_says_so(client, focal_jam, ratings):
    client.force_login(focal_jam)
    url = upload(client, csv_upload([row()]))
    assert "may be stopped" not in client.get(url).content.decode()
    StagedUpload.objects.update(updated_at=timezone.now() - dt.timedelta(minutes=11))
    html = client.get(url).content.decode()
    assert "Nothing has moved for more than ten minutes" in html
    assert REFRESH in html


# Leaving and coming back


def test_the_uploader_leaves_and_comes_back_to_the_preview_then_to_what_was_applied(client, focal_jam, ratings):
    client.force_login(focal_jam)
    url = upload(client, csv_upload([row(), row(code="SALW-06", status="Implemented")], name="jamaica.csv"))
    client.logout()

    # The worker checks the file while nobody is looking.
    run_tasks()
    staged = StagedUpload.objects.get()
    assert (staged.status, staged.file) == (StagedUpload.Status.READY, None)

    # Back in another browser: the upload page lists it, and its page is the preview.
    later = Client()
    later.force_login(focal_jam)
    page = later.get(reverse("my_state_upload", args=["JAM"])).content.decode()
    assert "Your recent uploads" in page
    assert f'<a href="{url}">jamaica.csv</a>' in page
    assert "Ready to confirm" in page
    preview = later.get(url).content.decode()
    assert "1 added · 1 changed · 0 unchanged (skipped)" in preview
    assert later.post(url).status_code == 302
    later.logout()

    # Applied while away, and said so on coming back.
    assert Submission.objects.count() == 0
    run_tasks()
    assert Submission.objects.count() == 2
    again = Client()
    again.force_login(focal_jam)
    page = again.get(reverse("my_state_upload", args=["JAM"])).content.decode()
    assert "Applied" in page
    html = again.get(url).content.decode()
    assert "2 submissions sent for review from jamaica.csv." in html
    assert REFRESH not in html


def test_the_upload_page_lists_only_the_uploaders_own_uploads(client, focal_jam, ratings, world):
    alternate = factories.user(
        username="alt", role=Role.Kind.FOCAL_POINT, state=world["jam"], is_alternate=True, password=None
    )
    client.force_login(focal_jam)
    url = upload(client, csv_upload([row()], name="mine.csv"))
    assert "mine.csv" in client.get(reverse("my_state_upload", args=["JAM"])).content.decode()
    client.force_login(alternate)
    page = client.get(reverse("my_state_upload", args=["JAM"])).content.decode()
    assert "mine.csv" not in page and "Your recent uploads" not in page
    assert client.get(url)["Location"] == reverse("my_state_upload", args=["JAM"])


def test_an_analyst_comes_back_to_an_import_being_checked(client, analyst, ratings):
    client.force_login(analyst)
    url = import_file(client, csv_file(FILE_ROWS, name="cted.csv"))
    page = client.get(reverse("bulk_import")).content.decode()
    assert f'<a href="{url}">cted.csv</a>' in page
    assert "Waiting to be checked</span> · In the queue: the check starts as soon as a worker is free." in page
    run_tasks()
    assert "Set 3 assessed ratings in 3 States" in client.get(url).content.decode()


# Refused and failed: nothing applied, and the page says why


def test_a_refused_import_lists_its_problems_by_row_and_column(client, analyst, ratings):
    client.force_login(analyst)
    url = import_file(client, csv_file([*FILE_ROWS, line("JAM", "SALW-06", "Mostly")]))
    run_tasks()
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "The file was not applied" in html
    assert "Row 6, column Status: &#x27;Mostly&#x27; is not a status" in html
    assert f'<a href="{reverse("bulk_import")}">Upload a corrected file</a>' in html
    assert REFRESH not in html
    assert StagedUpload.objects.get().problem_count == 1


def test_a_failure_in_the_middle_of_an_import_applies_nothing_and_says_what_failed(
    client, analyst, ratings, monkeypatch, caplog
):
    client.force_login(analyst)
    url = import_file(client, csv_file(FILE_ROWS))
    run_tasks()
    before = counts()

    def write_then_fail(changes, **kwargs):
        # The ratings and their history rows written, then the connection lost, say.
        rating_writes.write_many(changes, **kwargs)
        assert Rating.history.count() > before[2]
        raise RuntimeError("connection lost")

    monkeypatch.setattr(staging, "write_many", write_then_fail)
    client.post(url)
    with caplog.at_level(logging.ERROR, logger="implementation.tasks"):
        run_tasks()

    assert counts() == before
    staged = StagedUpload.objects.get()
    assert staged.status == StagedUpload.Status.FAILED
    html = client.get(url).content.decode()
    assert "Applying the file stopped on an unexpected error, and nothing was applied." in html
    assert f"reference U-{staged.pk}" in html
    assert f'<a href="{reverse("bulk_import")}">Upload the file again</a>' in html
    assert REFRESH not in html
    (record,) = [record for record in caplog.records if record.name == "implementation.tasks"]
    assert record.getMessage().startswith(f"Upload U-{staged.pk} (cted-2025.csv) failed while applying")
    assert "RuntimeError: connection lost" in caplog.text


def test_a_failure_after_a_states_rows_are_submitted_submits_none(client, focal_jam, ratings, monkeypatch):
    client.force_login(focal_jam)
    url = upload(client, csv_upload([row(), row(code="SALW-06", status="Implemented")]))
    run_tasks()
    before = counts()

    def fail(staged, count):
        # Every row submitted, then the last step of the transaction fails.
        assert Submission.objects.count() == 2
        raise RuntimeError("disk full")

    monkeypatch.setattr(StagedUpload, "mark_applied", fail)
    client.post(url)
    run_tasks()
    assert counts() == before
    assert StagedUpload.objects.get().status == StagedUpload.Status.FAILED
    assert "nothing was applied" in client.get(url).content.decode()


def test_a_failure_while_checking_says_so_and_keeps_nothing_of_the_file(client, focal_jam, ratings, monkeypatch):
    client.force_login(focal_jam)
    url = upload(client, csv_upload([row()]))

    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(staging, "check_rows", broken)
    run_tasks()
    staged = StagedUpload.objects.get()
    assert (staged.status, staged.file, staged.rows) == (StagedUpload.Status.FAILED, None, [])
    html = client.get(url).content.decode()
    assert "Checking the file stopped on an unexpected error, and nothing was applied." in html


def test_an_uploader_who_lost_the_role_meanwhile_is_refused_with_the_reason(client, focal_jam, ratings):
    client.force_login(focal_jam)
    upload(client, csv_upload([row()]))
    Role.objects.filter(user=focal_jam).update(is_active=False)
    run_tasks()
    staged = StagedUpload.objects.get()
    assert staged.status == StagedUpload.Status.REFUSED
    assert staged.problems == [
        {"message": "Only a focal point of Jamaica may upload its spreadsheet.", "row": None, "column": None}
    ]


# Confirming twice


def test_a_second_confirmation_is_told_the_first_is_being_applied_and_applies_nothing(client, analyst, ratings):
    client.force_login(analyst)
    url = import_file(client, csv_file(FILE_ROWS))
    run_tasks()
    first, second = client.post(url), client.post(url)
    assert first["Location"] == second["Location"] == url
    assert [str(m) for m in get_messages(second.wsgi_request)] == [
        "This upload is already being applied: it was confirmed once, and is applied once."
    ]
    assert queued() == ["implementation.tasks.apply_upload"]
    html = client.get(url).content.decode()
    assert "Applying 3 changes." in html and REFRESH in html
    run_tasks()
    assert Rating.history.filter(history_change_reason="Bulk import cted-2025.csv").count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_confirmations_at_once_apply_the_import_once(analyst, ratings):
    """Two requests in two transactions on PostgreSQL, held at the same row: one confirms, the other is told."""
    first, second = Client(), Client()
    for browser in (first, second):
        browser.force_login(analyst)
    url = import_file(first, csv_file(FILE_ROWS))
    run_tasks()
    staged = StagedUpload.objects.get()
    answers = {}

    def confirm(name, browser):
        try:
            response = browser.post(url)
            answers[name] = (response.status_code, [str(m) for m in get_messages(response.wsgi_request)])
        finally:
            connection.close()

    # The upload's row locked here, so that both confirmations reach their UPDATE and wait on it together.
    threads = [threading.Thread(target=confirm, args=item) for item in (("first", first), ("second", second))]
    with transaction.atomic():
        StagedUpload.objects.select_for_update().get(pk=staged.pk)
        for thread in threads:
            thread.start()
        # Generous: on a loaded machine the two requests may take long to reach their UPDATE; it ends when they do.
        waiting, deadline = 0, time.monotonic() + 60
        while waiting < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE%%'"
                )
                (waiting,) = cursor.fetchone()
        assert waiting == 2, "both confirmations should be waiting on the upload's row"
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers.values()) == [
        (302, []),
        (302, ["This upload is already being applied: it was confirmed once, and is applied once."]),
    ]
    assert queued() == ["implementation.tasks.apply_upload"]
    run_tasks()
    assert StagedUpload.objects.get().status == StagedUpload.Status.APPLIED
    assert Rating.history.filter(history_change_reason="Bulk import cted-2025.csv").count() == 3


# Clean-up


def test_old_uploads_go_at_the_next_upload_stuck_ones_too(client, focal_jam, analyst, ratings, world):
    old = timezone.now() - dt.timedelta(days=2)
    client.force_login(analyst)
    import_file(client, csv_file(FILE_ROWS))
    stuck = StagedUpload.objects.get()
    stuck.start_checking()  # and its worker stopped
    StagedUpload.objects.update(uploaded_at=old)
    client.force_login(focal_jam)
    upload(client, csv_upload([row()]))
    assert list(StagedUpload.objects.values_list("uploaded_by", "status")) == [(focal_jam.pk, "received")]


def test_a_new_upload_replaces_the_one_not_confirmed_but_not_one_being_applied(client, analyst, ratings):
    client.force_login(analyst)
    first = import_file(client, csv_file(FILE_ROWS, name="first.csv"))
    run_tasks()
    client.post(first)  # confirmed: being applied
    second = import_file(client, csv_file(FILE_ROWS, name="second.csv"))
    third = import_file(client, csv_file(FILE_ROWS, name="third.csv"))
    assert sorted(StagedUpload.objects.values_list("file_name", "status")) == [
        ("first.csv", "applying"),
        ("third.csv", "received"),
    ]
    # The replaced upload's page says so; its queued check finds nothing to do.
    response = client.get(second)
    assert response["Location"] == reverse("bulk_import")
    assert "replaced by a later upload" in str(list(get_messages(response.wsgi_request))[-1])
    run_tasks()
    assert dict(StagedUpload.objects.values_list("file_name", "status")) == {
        "first.csv": "applied",
        "third.csv": "ready",
    }
    assert client.get(third).status_code == 200
