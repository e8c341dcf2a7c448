"""
The analysts' review queue, /review/: who may open it and act on it, what it shows,
and what accepting and returning do to submissions and ratings. Ratings in the
``ratings`` fixture: SALW-04 for Jamaica and for Kenya, both kinds "partially implemented".
"""

import datetime as dt
import re

import factories
import pytest

from implementation import workflow
from implementation.models import Rating, Submission
from implementation.workflow import stored_moment
from measures.models import Measure
from states.models import Region, Role

Status = Rating.Status
SELF_REPORTED = Rating.Kind.SELF_REPORTED
ASSESSED = Rating.Kind.ASSESSED
AT = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def _submit(world, key, by, status=Status.LARGELY, *, measure="marking", at=AT, **values):
    values.setdefault("explanation", "Marking enforced at the port.")
    values.setdefault("source_document", "Firearms (Marking) Regulations 2025")
    return workflow.submit(state=world[key], measure=world[measure], by=by, at=at, status=status, **values)


def _page(client, user, query=""):
    client.force_login(user)
    response = client.get(f"/review/{query}")
    assert response.status_code == 200
    return response.content.decode()


def _item(html, submission):
    match = re.search(rf'<article class="review-item" id="submission-{submission.pk}"(.*?)</article>', html, re.S)
    assert match, f"no item for submission {submission.pk}"
    return match.group(1)


def _messages(response):
    return [str(message) for message in response.wsgi_request._messages]


def _rating(world, kind, key="jam", measure="marking"):
    return Rating.objects.get(state=world[key], measure=world[measure], kind=kind)


@pytest.fixture
def pending(world, focal_jam, ratings):
    """A pending submission for Jamaica's SALW-04: largely implemented, with a new source."""
    return _submit(world, "jam", focal_jam)


# Who may open the queue and act on it


def test_anonymous_is_sent_to_log_in(client, pending):
    for response in (
        client.get("/review/"),
        client.post(f"/review/{pending.pk}/accept/"),
        client.post(f"/review/{pending.pk}/return/", {"note": "x"}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    pending.refresh_from_db()
    assert pending.is_pending


@pytest.mark.parametrize("who", ["focal_jam", "focal_ken", "coordinator", "nobody"])
def test_only_analysts_open_the_queue_or_act_on_it(client, request, world, pending, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/review/").status_code == 403
    assert client.post(f"/review/{pending.pk}/accept/", {"update_assessed": "on"}).status_code == 403
    assert client.post(f"/review/{pending.pk}/return/", {"note": "No."}).status_code == 403
    pending.refresh_from_db()
    assert pending.is_pending
    assert _rating(world, SELF_REPORTED).status == Status.PARTIALLY


def test_a_get_on_an_action_is_refused(client, analyst, pending):
    client.force_login(analyst)
    assert client.get(f"/review/{pending.pk}/accept/").status_code == 405


def test_an_unknown_submission_is_not_found(client, analyst, world):
    client.force_login(analyst)
    assert client.post("/review/999/accept/").status_code == 404


def test_menu_shows_the_pending_count_to_analysts(client, analyst, pending, world, focal_ken):
    _submit(world, "ken", focal_ken)
    html = _page(client, analyst)
    assert 'href="/review/">Review (2)</a>' in html


def test_an_administrator_opens_the_queue(client, admin_user, pending):
    assert "Review (1)" in _page(client, admin_user)


# What the queue shows


def test_queue_shows_proposed_values_beside_both_ratings_with_changes_marked(client, analyst, pending):
    item = _item(_page(client, analyst), pending)
    assert "Jamaica" in item and "SALW-04" in item and "jo" in item
    status = re.search(r'<tr class="is-changed">\s*<th scope="row">Status(.*?)</tr>', item, re.S).group(1)
    assert "changed" in status
    assert status.index("Largely implemented") < status.index("Partially implemented")  # proposed, then now
    source = re.search(r'<tr class="is-changed">\s*<th scope="row">Source document(.*?)</tr>', item, re.S)
    assert "Firearms (Marking) Regulations 2025" in source.group(1) and "Firearms Act" in source.group(1)
    assert "Changes: status, explanation, source document." in item
    assert "a confirmation" not in item


def test_an_unchanged_field_is_not_marked(client, analyst, world, focal_jam, ratings):
    same = _submit(world, "jam", focal_jam, Status.PARTIALLY, explanation=ratings["jam", SELF_REPORTED].explanation)
    item = _item(_page(client, analyst), same)
    assert re.search(r'<tr>\s*<th scope="row">Status</th>', item)
    assert "Changes: source document." in item


def test_queue_is_oldest_first_and_filters_by_region_and_state(client, analyst, world, focal_jam, focal_ken, ratings):
    kenya = _submit(world, "ken", focal_ken, at=AT - dt.timedelta(days=3))
    jamaica = _submit(world, "jam", focal_jam, at=AT)
    html = _page(client, analyst)
    assert html.index(f'id="submission-{kenya.pk}"') < html.index(f'id="submission-{jamaica.pk}"')
    caribbean = _page(client, analyst, "?region=caribbean")
    assert f'id="submission-{jamaica.pk}"' in caribbean and f'id="submission-{kenya.pk}"' not in caribbean
    kenya_only = _page(client, analyst, "?state=KEN")
    assert f'id="submission-{kenya.pk}"' in kenya_only and f'id="submission-{jamaica.pk}"' not in kenya_only
    none = _page(client, analyst, "?region=east-africa&state=JAM")
    assert "No submission is waiting for these filters" in none


def test_an_unknown_filter_value_says_so(client, analyst, pending):
    html = _page(client, analyst, "?region=atlantis")
    assert "Select a valid choice" in html
    assert f'id="submission-{pending.pk}"' not in html


def test_empty_queue_says_so(client, analyst, world):
    assert "No submission is waiting for review" in _page(client, analyst)


def test_a_submission_whose_self_report_changed_since_is_flagged(client, analyst, pending, world):
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF_REPORTED, status=Status.NOT_IMPLEMENTED, by=analyst,
        reason="Desk update",
    )  # fmt: skip
    assert "The self-report changed after this was sent" in _item(_page(client, analyst), pending)


# Accept


def test_accept_sets_the_self_report_only(client, analyst, pending, world):
    assessed_before = _rating(world, ASSESSED)
    assessed_history = Rating.history.filter(id=assessed_before.pk).count()
    client.force_login(analyst)
    response = client.post(f"/review/{pending.pk}/accept/", {"note": "Thanks."})
    assert response.status_code == 302 and response["Location"] == "/review/"
    assert any("Accepted Jamaica" in message for message in _messages(response))
    pending.refresh_from_db()
    assert (pending.review, pending.reviewed_by, pending.review_note, pending.assessed_updated) == (
        Submission.Review.ACCEPTED, analyst, "Thanks.", False,
    )  # fmt: skip
    reported = _rating(world, SELF_REPORTED)
    assert (reported.status, reported.source_document) == (Status.LARGELY, "Firearms (Marking) Regulations 2025")
    latest = Rating.history.filter(id=reported.pk).latest("history_id")
    assert latest.history_user == analyst
    assert (
        latest.history_change_reason == f"Submission by jo of {stored_moment(pending.submitted_at)} accepted: Thanks."
    )
    assert (latest.previous_status, latest.status) == (Status.PARTIALLY, Status.LARGELY)
    assert _rating(world, ASSESSED).status == Status.PARTIALLY
    assert Rating.history.filter(id=assessed_before.pk).count() == assessed_history


def test_accept_with_update_assessed_sets_both_ratings(client, analyst, pending, world):
    client.force_login(analyst)
    response = client.post(f"/review/{pending.pk}/accept/", {"update_assessed": "on"})
    assert response.status_code == 302
    assert any("and CTED's assessed rating" in message for message in _messages(response))
    pending.refresh_from_db()
    assert pending.assessed_updated is True and pending.review_note == ""
    for kind in Rating.Kind:
        rating = _rating(world, kind)
        assert rating.status == Status.LARGELY
        latest = Rating.history.filter(id=rating.pk).latest("history_id")
        assert latest.history_change_reason == f"Submission by jo of {stored_moment(pending.submitted_at)} accepted"
        assert latest.previous_status == Status.PARTIALLY


def test_accepting_twice_is_a_clear_error(client, analyst, pending, world):
    other = factories.user(username="bea", role=Role.Kind.ANALYST, is_staff=False)
    workflow.accept(pending, by=other)
    client.force_login(analyst)
    response = client.post(f"/review/{pending.pk}/accept/", {"update_assessed": "on"}, follow=True)
    html = response.content.decode()
    assert "was not accepted. This submission was already accepted by bea; nothing was changed." in html
    assert _rating(world, ASSESSED).status == Status.PARTIALLY


def test_accept_refused_when_the_self_report_changed_since(client, analyst, pending, world):
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF_REPORTED, status=Status.NOT_IMPLEMENTED, by=analyst,
        reason="Desk update",
    )  # fmt: skip
    client.force_login(analyst)
    response = client.post(f"/review/{pending.pk}/accept/", {"region": "caribbean"})
    assert response["Location"] == "/review/?region=caribbean"
    assert any("The self-report changed after this was submitted" in m for m in _messages(response))
    pending.refresh_from_db()
    assert pending.is_pending
    assert _rating(world, SELF_REPORTED).status == Status.NOT_IMPLEMENTED


def test_accept_creates_the_self_report_when_there_was_none(client, analyst, world, focal_jam, ratings):
    first = _submit(world, "jam", focal_jam, Status.IMPLEMENTED, measure="records")
    client.force_login(analyst)
    client.post(f"/review/{first.pk}/accept/")
    reported = _rating(world, SELF_REPORTED, measure="records")
    assert reported.status == Status.IMPLEMENTED and reported.set_by == analyst
    assert not Rating.objects.filter(measure=world["records"], kind=ASSESSED).exists()


# Return


def test_return_with_a_note_changes_no_rating(client, analyst, pending, world):
    history = Rating.history.count()
    client.force_login(analyst)
    response = client.post(f"/review/{pending.pk}/return/", {"note": "  Cite the regulation's number.  "})
    assert response.status_code == 302
    assert any("Returned Jamaica" in message for message in _messages(response))
    pending.refresh_from_db()
    assert (pending.review, pending.review_note, pending.reviewed_by) == (
        Submission.Review.RETURNED, "Cite the regulation's number.", analyst,
    )  # fmt: skip
    assert _rating(world, SELF_REPORTED).status == Status.PARTIALLY
    assert Rating.history.count() == history


@pytest.mark.parametrize("note", ["", "   "])
def test_return_without_a_note_is_refused_with_a_message(client, analyst, pending, note):
    client.force_login(analyst)
    response = client.post(f"/review/{pending.pk}/return/", {"note": note, "state": "JAM"}, follow=True)
    assert response.redirect_chain[-1][0] == "/review/?state=JAM"
    html = response.content.decode()
    assert f"Jamaica&#x27;s submission on SALW-04 (#{pending.pk}) was not returned." in html
    assert "Say why the submission is returned" in html
    pending.refresh_from_db()
    assert pending.is_pending


def test_the_focal_point_reads_the_returned_note(client, analyst, pending, focal_jam):
    client.force_login(analyst)
    client.post(f"/review/{pending.pk}/return/", {"note": "Which regulation?"})
    client.force_login(focal_jam)
    assert "Which regulation?" in client.get("/my-state/").content.decode()


# Query counts


@pytest.fixture
def crowded_queue(world, analyst, ratings):
    """Forty pending submissions from twenty more Caribbean States, each with both ratings."""
    at = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    caribbean = Region.objects.get(slug="caribbean")
    for number in range(20):
        state = factories.member_state(
            iso3=f"Q{chr(65 + number)}A", iso2=f"Q{chr(65 + number)}", m49=f"{900 + number}", name=f"State {number}",
            region=caribbean, m49_region="Americas", m49_subregion="Caribbean",
        )  # fmt: skip
        focal = factories.user(username=f"focal{number}", role=Role.Kind.FOCAL_POINT, state=state, is_staff=False)
        for measure in Measure.objects.all():
            for kind in Rating.Kind:
                factories.rating(state=state, measure=measure, kind=kind, by=analyst, at=at, reason="Load")
            factories.submission(state=state, measure=measure, by=focal, status=Status.LARGELY, at=at, explanation="x")


# 1. session, 2. user, 3. the user's roles, 4. the region choices, 5. the State choices,
# 6. the count of pending submissions, 7. the page of them, 8. their ratings, 9. the
# menu's regions, 10. the menu's pending count.
QUEUE_QUERIES = 10


@pytest.mark.parametrize("query", ["", "?region=caribbean", "?state=JAM", "?page=2"])
def test_query_count_does_not_grow_with_submissions(
    client, analyst, world, focal_jam, pending, crowded_queue, django_assert_num_queries, query
):
    client.force_login(analyst)
    # Validating a filter looks up its region or State: one query each, when given.
    extra = 1 if "region" in query or "state" in query else 0
    with django_assert_num_queries(QUEUE_QUERIES + extra):
        html = client.get(f"/review/{query}").content.decode()
    items = html.count('<article class="review-item"')
    assert items == {"": 25, "?region=caribbean": 25, "?state=JAM": 1, "?page=2": 16}[query]


def test_query_count_on_small_data(client, analyst, pending, django_assert_num_queries):
    client.force_login(analyst)
    with django_assert_num_queries(QUEUE_QUERIES):
        assert client.get("/review/").status_code == 200
