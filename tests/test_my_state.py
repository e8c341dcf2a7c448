"""
A focal point's own State, /my-state/, and the report form of each measure,
/my-state/<ISO3>/<code>/: who may open them, what they show, and how a report becomes
a pending submission. Ratings in the ``ratings`` fixture: SALW-04 for Jamaica and for
Kenya, both kinds "partially implemented".
"""

import datetime as dt
import re

import factories
import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from implementation import workflow
from implementation.models import Rating, Submission
from measures.models import Measure
from states.models import Role

Status = Rating.Status
SELF_REPORTED = Rating.Kind.SELF_REPORTED
ASSESSED = Rating.Kind.ASSESSED
AT = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
FORM_URL = "/my-state/JAM/SALW-04/"


def _page(client, user, path="/my-state/"):
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def _row(html, code):
    match = re.search(rf'<article [^>]*id="measure-{code}">(.*?)</article>', html, re.S)
    assert match, f"no row for {code}"
    return match.group(1)


def _section(html, heading_id):
    match = re.search(rf'<h2 id="{heading_id}">(.*?)(?=<h2 |</section>)', html, re.S)
    assert match, f"no heading {heading_id}"
    return match.group(1)


def _form_data(code="SALW-04", **values):
    # The form carries the version of Jamaica's self-report it showed (empty: none yet).
    shown = Rating.objects.filter(state__iso3="JAM", measure__code=code, kind=Rating.Kind.SELF_REPORTED).first()
    data = {
        "version": shown.version if shown else "",
        "status": Status.LARGELY,
        "explanation": "Marking enforced at the port since January.",
        "justification": "",
        "source_document": "Firearms (Marking) Regulations 2025",
        "source_reference": "reg. 4",
        "source_url": "https://example.org/regs",
        "source_date": "2025-01-15",
        "replaces": "",
    }
    data.update(values)
    return data


def _submit(world, by, status=Status.LARGELY, *, measure="marking", replaces=None, at=AT, **values):
    values.setdefault("explanation", "Proposed by the focal point.")
    return workflow.submit(
        state=world["jam"], measure=world[measure], by=by, replaces=replaces, at=at, status=status, **values
    )


@pytest.fixture
def alternate_jam(world):
    # Alternate focal point for Jamaica: the same rights as the main one.
    return factories.user(
        username="alt", role=Role.Kind.FOCAL_POINT, state=world["jam"], is_alternate=True, is_staff=False
    )


# Who may open the pages


def test_anonymous_is_sent_to_log_in(client, world):
    for path in ("/my-state/", "/my-state/JAM/", FORM_URL):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_someone_with_no_role_is_refused(client, nobody):
    client.force_login(nobody)
    assert client.get("/my-state/").status_code == 403
    assert client.get(FORM_URL).status_code == 403


def test_an_analyst_is_pointed_to_the_review_queue(client, analyst):
    html = _page(client, analyst)
    assert "not a focal point" in html
    assert 'href="/review/"' in html
    assert "SALW-04" not in html


def test_a_coordinator_gets_a_short_page_and_may_not_report(client, coordinator, ratings):
    html = _page(client, coordinator)
    assert "not a focal point" in html
    assert 'href="/review/">open the review queue' not in html
    client.force_login(coordinator)
    # Jamaica is visible to the coordinator, but only its focal points report for it.
    assert client.get("/my-state/JAM/").status_code == 403
    assert client.get(FORM_URL).status_code == 403
    assert client.post(FORM_URL, _form_data()).status_code == 403
    assert not Submission.objects.exists()


def test_focal_point_of_kenya_cannot_open_or_post_jamaicas_form(client, focal_ken, ratings):
    client.force_login(focal_ken)
    assert client.get("/my-state/JAM/").status_code == 404
    assert client.get(FORM_URL).status_code == 404
    assert client.post(FORM_URL, _form_data()).status_code == 404
    assert not Submission.objects.exists()


def test_an_analyst_may_not_post_a_self_report(client, analyst, ratings):
    client.force_login(analyst)
    assert client.post(FORM_URL, _form_data()).status_code == 403
    assert not Submission.objects.exists()


def test_a_measure_outside_the_current_catalogue_is_not_found(client, focal_jam, world):
    client.force_login(focal_jam)
    assert client.get("/my-state/JAM/XYZ-99/").status_code == 404


# /my-state/


def test_my_state_shows_the_focal_points_own_state(client, focal_jam, ratings):
    html = _page(client, focal_jam)
    assert "<h1>Jamaica" in html
    assert "Kenya" not in html.split('<main id="content">')[1]
    row = _row(html, "SALW-04")
    assert row.count("Partially implemented") == 2  # the self-report and CTED's, side by side
    assert "Marking law adopted" in row
    assert "Firearms Act" in row
    assert "Differs from CTED" not in row
    assert 'href="/my-state/JAM/SALW-04/"' in row
    assert "Not reported yet" in _row(html, "SALW-06")


def test_detail_address_shows_the_same_page(client, focal_jam, ratings):
    assert "<h1>Jamaica" in _page(client, focal_jam, "/my-state/jam/")


def test_a_self_report_that_differs_from_cted_is_flagged(client, focal_jam, analyst, ratings, world):
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF_REPORTED, status=Status.IMPLEMENTED, by=analyst,
        explanation="Fully in place.",
    )  # fmt: skip
    row = _row(_page(client, focal_jam), "SALW-04")
    assert "Differs from CTED" in row
    assert "is-divergent" in _page(client, focal_jam)


def test_my_state_lists_pending_and_decisions_returned_first(client, focal_jam, analyst, ratings, world):
    accepted = _submit(world, focal_jam, Status.LARGELY, at=AT)
    workflow.accept(accepted, by=analyst, note="Thanks, well sourced.", at=AT + dt.timedelta(days=1))
    returned = _submit(world, focal_jam, Status.IMPLEMENTED, measure="records", at=AT)
    workflow.return_submission(returned, by=analyst, note="Cite the registry's founding act.", at=AT)
    pending = _submit(world, focal_jam, Status.IMPLEMENTED, at=AT + dt.timedelta(days=2))

    html = _page(client, focal_jam)
    waiting = _section(html, "pending-heading")
    assert "Waiting for review (1)" in waiting
    assert "SALW-04" in waiting and "Implemented" in waiting and "jo" in waiting
    decisions = _section(html, "decisions-heading")
    assert decisions.index("SALW-06") < decisions.index("SALW-04")  # returned first, although older
    assert "Cite the registry" in decisions and "Thanks, well sourced." in decisions

    marking = _row(html, "SALW-04")
    assert "Pending review" in marking and "Waiting for review" in marking
    assert "Accepted" in marking and "Thanks, well sourced." in marking
    assert "Largely implemented" in marking  # the accepted self-report
    records = _row(html, "SALW-06")
    assert "Returned" in records and "Cite the registry" in records and "ana" in records
    assert pending.is_pending


def test_empty_state_says_what_to_do(client, focal_jam, world):
    html = _page(client, focal_jam)
    assert "No ratings yet" in html
    assert "Start with any measure below" in html
    assert 'href="/my-state/JAM/SALW-06/"' in html


def test_my_state_links_to_the_spreadsheet_round_trip(client, focal_jam, world):
    html = _page(client, focal_jam)
    assert f'href="{reverse("my_state_spreadsheet", args=["JAM"])}"' in html
    assert f'href="{reverse("my_state_upload", args=["JAM"])}"' in html


def test_menu_links_to_my_state_for_a_focal_point_only(client, focal_jam, coordinator):
    html = _page(client, focal_jam, "/")
    assert 'href="/my-state/">My State</a>' in html
    assert 'href="/review/"' not in html
    html = _page(client, coordinator, "/")
    assert "My State</a>" not in html


# The form


def test_form_is_prefilled_from_the_self_report_when_nothing_is_pending(client, focal_jam, ratings):
    html = _page(client, focal_jam, FORM_URL)
    assert '<option value="partially" selected>' in html
    assert "Marking law adopted; import marking not yet enforced." in html
    assert 'value="Firearms Act"' in html
    assert 'name="replaces" value="' not in html


def test_form_is_prefilled_from_the_pending_submission_and_carries_its_id(client, focal_jam, ratings, world):
    pending = _submit(world, focal_jam, Status.IMPLEMENTED, explanation="All imports marked.")
    html = _page(client, focal_jam, FORM_URL)
    assert '<option value="implemented" selected>' in html
    assert "All imports marked." in html
    assert f'name="replaces" value="{pending.pk}"' in html


def test_posting_the_form_creates_a_pending_submission_and_changes_no_rating(client, focal_jam, ratings, world):
    client.force_login(focal_jam)
    response = client.post(FORM_URL, _form_data())
    assert response.status_code == 302
    assert response["Location"] == "/my-state/"
    submission = Submission.objects.get()
    assert submission.is_pending
    assert (submission.submitted_by, submission.channel) == (focal_jam, Submission.Channel.FORM)
    assert submission.status == Status.LARGELY
    assert submission.source_date == dt.date(2025, 1, 15)
    assert submission.base_version == ratings["jam", SELF_REPORTED].version
    assert Rating.objects.get(state=world["jam"], measure=world["marking"], kind=SELF_REPORTED).status == (
        Status.PARTIALLY
    )
    assert ["sent for review" in str(m) for m in get_messages(response.wsgi_request)] == [True]
    html = client.get("/my-state/").content.decode()
    assert "was sent for review" in html
    assert "Pending review" in _row(html, "SALW-04")


def test_a_focal_point_can_report_on_a_measure_with_no_rating(client, focal_jam, world):
    client.force_login(focal_jam)
    response = client.post("/my-state/JAM/SALW-06/", _form_data(status=Status.PARTIALLY))
    assert response.status_code == 302
    submission = Submission.objects.get()
    assert (submission.measure, submission.base_version) == (world["records"], None)
    assert not Rating.objects.exists()


def test_a_second_post_from_the_same_page_replaces_the_pending_one(client, focal_jam, ratings, world):
    first = _submit(world, focal_jam, Status.LARGELY)
    client.force_login(focal_jam)
    response = client.post(FORM_URL, _form_data(status=Status.IMPLEMENTED, replaces=str(first.pk)))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.review == Submission.Review.SUPERSEDED
    assert Submission.objects.pending().get().replaces == first


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"status": Status.NOT_APPLICABLE, "justification": "  "}, "justification", "Say why the measure does not"),
        ({"source_url": "not a url"}, "source_url", "Enter a valid URL."),
        ({"source_date": "2025-02-30"}, "source_date", "Enter a valid date."),
        ({"status": "mostly"}, "status", "Select a valid choice."),
        ({"source_reference": "x" * 101}, "source_reference", "at most 100 characters"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_kept(client, focal_jam, ratings, values, field, message):
    client.force_login(focal_jam)
    data = _form_data(explanation="Kept after the error.", **values)
    response = client.post(FORM_URL, data)
    assert response.status_code == 200
    html = response.content.decode()
    errors = re.search(rf'<ul class="field-errors" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert errors, f"no error beside {field}"
    assert message in errors.group(1)
    assert (
        f'aria-describedby="id_{field}_error"' in html
        or f'aria-describedby="id_{field}_helptext id_{field}_error"' in html
    )
    assert "Kept after the error." in html
    assert not Submission.objects.exists()


def test_not_applicable_with_a_justification_is_accepted(client, focal_jam, ratings):
    client.force_login(focal_jam)
    data = _form_data(status=Status.NOT_APPLICABLE, justification="No firearms manufacture or import.")
    assert client.post(FORM_URL, data).status_code == 302
    assert Submission.objects.get().justification == "No firearms manufacture or import."


def test_edit_conflict_between_main_and_alternate_focal_points(client, focal_jam, alternate_jam, ratings):
    # Both open the form while nothing is pending: each page carries replaces="".
    client.force_login(focal_jam)
    assert 'name="replaces" value="' not in client.get(FORM_URL).content.decode()
    client.force_login(alternate_jam)
    assert 'name="replaces" value="' not in client.get(FORM_URL).content.decode()

    client.force_login(focal_jam)
    assert client.post(FORM_URL, _form_data(status=Status.LARGELY, explanation="Main's report.")).status_code == 302
    first = Submission.objects.get()

    client.force_login(alternate_jam)
    response = client.post(FORM_URL, _form_data(status=Status.IMPLEMENTED, explanation="Alternate's report."))
    assert response.status_code == 200
    html = response.content.decode()
    errors = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', html, re.S).group(1)
    assert "jo submitted a change to SALW-04" in errors
    assert "Yours was not saved" in errors
    assert "Alternate&#x27;s report." in html  # input kept
    assert '<option value="implemented" selected>' in html
    # The first submission is intact, and still the only one.
    assert list(Submission.objects.all()) == [first]
    first.refresh_from_db()
    assert (first.review, first.explanation, first.submitted_by) == (
        Submission.Review.PENDING,
        "Main's report.",
        focal_jam,
    )
    # Having read it, the alternate may send theirs to replace it: the form now names it.
    assert f'name="replaces" value="{first.pk}"' in html
    response = client.post(FORM_URL, _form_data(status=Status.IMPLEMENTED, replaces=str(first.pk)))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.review == Submission.Review.SUPERSEDED


def test_a_self_report_changed_while_the_form_was_open_is_a_conflict(client, focal_jam, analyst, ratings, world):
    client.force_login(focal_jam)
    page = client.get(FORM_URL).content.decode()
    shown = ratings["jam", Rating.Kind.SELF_REPORTED]
    assert f'name="version" value="{shown.version}"' in page
    data = _form_data(status=Status.IMPLEMENTED)
    # An analyst corrects the self-report in the admin meanwhile.
    changed = Rating.objects.get(pk=shown.pk)
    changed.status = Status.NOT_IMPLEMENTED
    factories.saved_rating(changed, by=analyst, reason="Law repealed")

    response = client.post(FORM_URL, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "self-report on SALW-04 was changed after you opened the form (now: Not implemented)" in html
    assert not Submission.objects.exists()
    # Having read it, sending again goes through: the form now carries the new version.
    assert f'name="version" value="{changed.version}"' in html
    assert client.post(FORM_URL, {**data, "version": str(changed.version)}).status_code == 302
    assert Submission.objects.get().base_version == changed.version


def test_a_submission_reviewed_while_the_form_was_open_is_a_conflict(client, focal_jam, analyst, ratings, world):
    pending = _submit(world, focal_jam)
    client.force_login(focal_jam)
    client.get(FORM_URL)
    workflow.return_submission(pending, by=analyst, note="Add a source.")
    response = client.post(FORM_URL, _form_data(replaces=str(pending.pk)))
    assert response.status_code == 200
    assert "has meanwhile been returned" in response.content.decode()
    assert not Submission.objects.pending().exists()
    assert 'name="replaces" value="' not in response.content.decode()


def _without_csrf_token(html):
    # The one part of a page that differs at every rendering.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


@pytest.mark.parametrize(
    "outcome", [Submission.Review.PENDING, Submission.Review.ACCEPTED, Submission.Review.RETURNED]
)
def test_replacing_another_states_submission_answers_as_for_one_that_does_not_exist(
    client, focal_jam, focal_ken, analyst, ratings, world, outcome
):
    kenyan = workflow.submit(state=world["ken"], measure=world["marking"], by=focal_ken, status=Status.LARGELY)
    if outcome == Submission.Review.ACCEPTED:
        workflow.accept(kenyan, by=analyst)
    elif outcome == Submission.Review.RETURNED:
        workflow.return_submission(kenyan, by=analyst, note="Cite the regulation.")
    missing = kenyan.pk + 100
    client.force_login(focal_jam)
    kenya, nothing = (client.post(FORM_URL, _form_data(replaces=str(number))) for number in (kenyan.pk, missing))
    assert (kenya.status_code, nothing.status_code) == (200, 200)
    assert _without_csrf_token(kenya.content.decode()) == _without_csrf_token(nothing.content.decode())
    assert "has meanwhile been removed" in kenya.content.decode()
    assert Submission.objects.get().review == outcome


def test_successor_focal_point_sees_the_whole_history(client, focal_jam, analyst, ratings, world):
    earlier = _submit(world, focal_jam, Status.LARGELY, explanation="From the first focal point.")
    workflow.return_submission(earlier, by=analyst, note="Which regulation?", at=AT)
    still_pending = _submit(world, focal_jam, Status.LARGELY, measure="records", at=AT)
    Role.objects.filter(user=focal_jam).update(is_active=False)
    successor = factories.user(username="sam", role=Role.Kind.FOCAL_POINT, state=world["jam"], is_staff=False)

    client.force_login(focal_jam)
    assert client.get("/my-state/JAM/").status_code == 403  # no role left: no longer reports for Jamaica

    html = _page(client, successor)
    assert "Which regulation?" in _row(html, "SALW-04")
    assert "Pending review" in _row(html, "SALW-06")
    form_page = _page(client, successor, FORM_URL)
    history = form_page.split('id="history-heading"')[1]
    assert "jo" in history and "Returned" in history and "Which regulation?" in history
    # The successor may replace their predecessor's pending submission.
    client.force_login(successor)
    data = _form_data("SALW-06", replaces=str(still_pending.pk))
    assert client.post("/my-state/JAM/SALW-06/", data).status_code == 302
    still_pending.refresh_from_db()
    assert still_pending.review == Submission.Review.SUPERSEDED


# Query counts


def _many_measures(world, analyst, focal_jam, count=30):
    at = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    for number in range(count):
        measure = Measure.objects.create(
            edition=world["edition"], section=world["section"], code=f"XFER-{number + 10}", title=f"Measure {number}",
            domain=Measure.Domain.SALW, phase=Measure.Phase.UPSTREAM, legislative=True, position=number + 2,
        )  # fmt: skip
        for kind in Rating.Kind:
            factories.rating(
                state=world["jam"], measure=measure, kind=kind,
                status=Status.PARTIALLY if kind == ASSESSED else Status.LARGELY, by=analyst, at=at, reason="Load",
            )  # fmt: skip
        submission = workflow.submit(
            state=world["jam"], measure=measure, by=focal_jam, status=Status.IMPLEMENTED, at=at, explanation="x"
        )
        if number % 3 == 0:
            workflow.return_submission(submission, by=analyst, note="Source?", at=at)
        elif number % 3 == 1:
            workflow.accept(submission, by=analyst, at=at)


# 1. session, 2. user, 3. the user's roles, 4. the States they report for, 5. the
# catalogue, 6. the State's ratings, 7. pending submissions, 8. the latest decision on
# each measure, 9. the menu's regions, 10. the menu's own State.
MY_STATE_QUERIES = 10
# As above with 4. the State by its code and 5. whether they report for it.
MY_STATE_DETAIL_QUERIES = 11
# 1.-5. as for the detail, 6. the measure, 7. its ratings, 8. its submissions, 9.-10. the menu.
FORM_QUERIES = 10


def test_query_counts_on_small_data(client, focal_jam, ratings, world, django_assert_num_queries):
    _submit(world, focal_jam)
    client.force_login(focal_jam)
    with django_assert_num_queries(MY_STATE_QUERIES):
        assert client.get("/my-state/").status_code == 200
    with django_assert_num_queries(MY_STATE_DETAIL_QUERIES):
        assert client.get("/my-state/JAM/").status_code == 200
    with django_assert_num_queries(FORM_QUERIES):
        assert client.get(FORM_URL).status_code == 200


def test_query_counts_do_not_grow_with_measures_or_submissions(
    client, focal_jam, analyst, ratings, world, django_assert_num_queries
):
    _many_measures(world, analyst, focal_jam)
    for _ in range(5):
        pending = Submission.objects.pending().filter(measure=world["marking"]).first()
        _submit(world, focal_jam, replaces=pending)
    client.force_login(focal_jam)
    with django_assert_num_queries(MY_STATE_QUERIES):
        html = client.get("/my-state/").content.decode()
    assert html.count('<article class="measure-row') == 32
    with django_assert_num_queries(MY_STATE_DETAIL_QUERIES):
        assert client.get("/my-state/JAM/").status_code == 200
    with django_assert_num_queries(FORM_QUERIES):
        html = client.get(FORM_URL).content.decode()
    assert html.split('id="history-heading"')[1].count("<tr>") == 1 + 5  # the header and five submissions


def test_errors_are_summed_up_above_the_form(client, focal_jam, ratings):
    client.force_login(focal_jam)
    data = _form_data(status=Status.NOT_APPLICABLE, source_url="nope")
    html = client.post(FORM_URL, data).content.decode()
    summary = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', html, re.S).group(1)
    assert "Not sent: check Why not applicable, Source URL below." in summary
