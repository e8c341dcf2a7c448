"""
A State's frozen snapshots: the list at /states/<ISO3>/snapshots/ with the analysts'
"Freeze now" form, one snapshot's page, and two side by side. Ratings in the
``ratings`` fixture: SALW-04 for Jamaica and for Kenya, both kinds "partially implemented".
"""

import datetime as dt
import re

import factories
import pytest

from implementation import workflow
from implementation.models import Assessment, Confidentiality, Rating, Snapshot, SnapshotEntry
from measures.models import Measure

Status = Rating.Status
SELF_REPORTED = Rating.Kind.SELF_REPORTED
ASSESSED = Rating.Kind.ASSESSED
AT = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
LIST_URL = "/states/JAM/snapshots/"


def _freeze(world, analyst, label, *, at=AT, key="jam", **extra):
    return workflow.freeze(state=world[key], label=label, by=analyst, at=at, **extra)


def _get(client, user, path):
    client.force_login(user)
    return client.get(path)


def _page(client, user, path=LIST_URL):
    response = _get(client, user, path)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def two_snapshots(world, analyst, ratings):
    """ "2024 review" with the fixture's ratings; "2025 follow-up" after the self-report rose to largely."""
    earlier = _freeze(world, analyst, "2024 review", at=AT)
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF_REPORTED, status=Status.LARGELY, by=analyst,
        explanation="Import marking enforced.",
    )  # fmt: skip
    later = _freeze(world, analyst, "2025 follow-up", at=AT + dt.timedelta(days=200))
    return earlier, later


# Who may see and freeze


def test_anonymous_is_sent_to_log_in(client, world):
    for path in (LIST_URL, f"{LIST_URL}compare/", f"{LIST_URL}1/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_someone_with_no_role_is_refused(client, nobody, two_snapshots):
    assert _get(client, nobody, LIST_URL).status_code == 403


@pytest.mark.parametrize("who", ["analyst", "focal_jam", "coordinator"])
def test_whoever_may_see_the_state_sees_its_snapshots(client, request, two_snapshots, who):
    user = request.getfixturevalue(who)
    html = _page(client, user)
    assert "2024 review" in html and "2025 follow-up" in html
    assert html.index("2025 follow-up") < html.index("2024 review")  # newest first
    assert ("Freeze now" in html) == (who == "analyst")
    earlier, _ = two_snapshots
    assert _get(client, user, f"{LIST_URL}{earlier.pk}/").status_code == 200
    assert _get(client, user, f"{LIST_URL}compare/").status_code == 200


def test_focal_point_of_kenya_cannot_see_jamaicas_snapshots(client, focal_ken, two_snapshots):
    earlier, later = two_snapshots
    assert _get(client, focal_ken, LIST_URL).status_code == 404
    assert _get(client, focal_ken, f"{LIST_URL}{earlier.pk}/").status_code == 404
    assert _get(client, focal_ken, f"{LIST_URL}compare/?a={earlier.pk}&b={later.pk}").status_code == 404


def test_a_snapshot_of_another_state_is_not_found_under_this_one(client, analyst, world, ratings):
    kenya = _freeze(world, analyst, "Kenya 2025", key="ken")
    assert _get(client, analyst, f"{LIST_URL}{kenya.pk}/").status_code == 404


@pytest.mark.parametrize("who", ["focal_jam", "coordinator"])
def test_only_analysts_freeze(client, request, ratings, who):
    client.force_login(request.getfixturevalue(who))
    response = client.post(LIST_URL, {"label": "Unofficial"})
    assert response.status_code == 403
    assert not Snapshot.objects.exists()


def test_state_profile_links_to_its_snapshots(client, focal_jam, ratings):
    assert f'href="{LIST_URL}"' in _page(client, focal_jam, "/states/JAM/")


# Freezing


def test_freeze_now_copies_every_current_rating(client, analyst, world, ratings):
    factories.rating(
        state=world["jam"], measure=world["records"], status=Status.NOT_APPLICABLE, by=analyst,
        justification="No registry needed.",
    )  # fmt: skip
    client.force_login(analyst)
    response = client.post(LIST_URL, {"label": "  2025 follow-up  ", "assessment": ""})
    snapshot = Snapshot.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{LIST_URL}{snapshot.pk}/"
    assert (snapshot.label, snapshot.taken_by, snapshot.state) == ("2025 follow-up", analyst, world["jam"])
    frozen = {
        (e.measure_id, e.kind): (e.status, e.explanation, e.justification, e.source_document, e.set_at)
        for e in snapshot.entries.all()
    }
    current = {
        (r.measure_id, r.kind): (r.status, r.explanation, r.justification, r.source_document, r.set_at)
        for r in Rating.objects.filter(state=world["jam"])
    }
    assert frozen == current and len(frozen) == 3
    html = client.get(response["Location"]).content.decode()
    assert "Froze 3 ratings of Jamaica as “2025 follow-up”" in html
    assert "No registry needed." in html


def test_later_rating_changes_do_not_touch_a_snapshot(client, analyst, focal_jam, world, ratings):
    snapshot = _freeze(world, analyst, "2024 review")
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst,
        explanation="Now fully marked.",
    )  # fmt: skip
    submission = factories.submission(
        state=world["jam"], measure=world["marking"], by=focal_jam, status=Status.IMPLEMENTED, explanation="Done."
    )
    workflow.accept(submission, by=analyst)
    assert set(snapshot.entries.values_list("status", flat=True)) == {Status.PARTIALLY}
    html = _page(client, focal_jam, f"{LIST_URL}{snapshot.pk}/")
    row = re.search(r'id="measure-SALW-04">(.*?)</article>', html, re.S).group(1)
    assert row.count("Partially implemented") == 2 and "Implemented" not in row.replace("implemented", "")
    assert "Now fully marked." not in row


def test_a_second_freeze_with_the_same_label_is_a_clear_error(client, analyst, world, ratings):
    _freeze(world, analyst, "2025 follow-up")
    client.force_login(analyst)
    response = client.post(LIST_URL, {"label": "2025 follow-up"})
    assert response.status_code == 200
    html = response.content.decode()
    errors = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', html, re.S)
    assert errors and "This State already has a snapshot with this label." in errors.group(1)
    assert 'value="2025 follow-up"' in html
    assert Snapshot.objects.count() == 1 and SnapshotEntry.objects.count() == 2


def test_the_same_label_is_fine_for_another_state(client, analyst, world, ratings):
    _freeze(world, analyst, "2025 follow-up", key="ken")
    client.force_login(analyst)
    assert client.post(LIST_URL, {"label": "2025 follow-up"}).status_code == 302


def test_freezing_a_state_with_no_ratings_says_there_is_nothing_to_freeze(client, analyst, world):
    client.force_login(analyst)
    response = client.post(LIST_URL, {"label": "Empty"})
    assert response.status_code == 200
    assert "Jamaica has no ratings in the current catalogue yet" in response.content.decode()
    assert not Snapshot.objects.exists()


def test_a_blank_label_is_refused_beside_the_field(client, analyst, ratings):
    client.force_login(analyst)
    html = client.post(LIST_URL, {"label": "   "}).content.decode()
    assert re.search(r'id="id_label_error">\s*<li>This field is required.', html)
    assert not Snapshot.objects.exists()


def test_freeze_records_the_assessment_and_hides_a_cted_only_one_from_the_state(
    client, analyst, focal_jam, world, ratings
):
    visit = factories.assessment(
        state=world["jam"], kind=Assessment.Kind.COUNTRY_VISIT, conducted_on=dt.date(2025, 2, 10),
        confidentiality=Confidentiality.CTED_ONLY,
    )  # fmt: skip
    client.force_login(analyst)
    assert client.post(LIST_URL, {"label": "Visit", "assessment": str(visit.pk)}).status_code == 302
    snapshot = Snapshot.objects.get()
    assert snapshot.assessment == visit
    assert "Country visit of Jamaica" in _page(client, analyst)
    assert "Country visit" not in _page(client, focal_jam)
    assert "Country visit" not in _page(client, focal_jam, f"{LIST_URL}{snapshot.pk}/")


def test_an_assessment_of_another_state_is_not_a_choice(client, analyst, world, ratings):
    kenyan = factories.assessment(state=world["ken"], conducted_on=dt.date(2025, 1, 1))
    client.force_login(analyst)
    response = client.post(LIST_URL, {"label": "X", "assessment": str(kenyan.pk)})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Snapshot.objects.exists()


def test_no_snapshots_yet(client, focal_jam, analyst, ratings):
    assert "none has been taken for Jamaica yet" in _page(client, focal_jam)
    assert "Freeze the State's current ratings below" in _page(client, analyst)


# Comparing


def _compared_row(html, code):
    match = re.search(rf'<tbody class="([^"]*)" id="measure-{code}">(.*?)</tbody>', html, re.S)
    assert match, f"no row for {code}"
    return match.group(1), match.group(2)


def test_compare_marks_what_changed_in_words(client, focal_jam, two_snapshots):
    earlier, later = two_snapshots
    html = _page(client, focal_jam, f"{LIST_URL}compare/?a={earlier.pk}&b={later.pk}")
    assert "<strong>1</strong> of 1 measure changed" in html
    css, row = _compared_row(html, "SALW-04")
    assert css == "is-changed"
    rows = re.findall(r"<tr( class=\"is-changed\")?>(.*?)</tr>", row, re.S)
    (assessed_changed, assessed), (reported_changed, reported) = rows
    assert not assessed_changed and "Unchanged" in assessed
    assert reported_changed
    assert "Changed</span> status, explanation" in reported
    assert reported.index("Partially implemented") < reported.index("Largely implemented")
    assert "Import marking enforced." in reported


def test_compare_puts_the_earlier_snapshot_first_whichever_way_round(client, analyst, two_snapshots):
    earlier, later = two_snapshots
    html = _page(client, analyst, f"{LIST_URL}compare/?a={later.pk}&b={earlier.pk}")
    _, row = _compared_row(html, "SALW-04")
    assert row.index("Partially implemented") < row.index("Largely implemented")


def test_compare_defaults_to_the_latest_two(client, analyst, two_snapshots):
    earlier, later = two_snapshots
    html = _page(client, analyst, f"{LIST_URL}compare/")
    assert f'<option value="{earlier.pk}" selected>' in html.split('name="a"')[1].split("</select>")[0]
    assert f'<option value="{later.pk}" selected>' in html.split('name="b"')[1].split("</select>")[0]
    assert "changed between" in html


def test_compare_a_measure_added_between_snapshots(client, analyst, world, two_snapshots):
    earlier, _ = two_snapshots
    factories.rating(state=world["jam"], measure=world["records"], status=Status.IMPLEMENTED, by=analyst)
    latest = _freeze(world, analyst, "2026", at=AT + dt.timedelta(days=400))
    html = _page(client, analyst, f"{LIST_URL}compare/?a={earlier.pk}&b={latest.pk}")
    css, row = _compared_row(html, "SALW-06")
    assert css == "is-changed" and "Changed</span> added" in row and "not rated" in row


def test_compare_refuses_the_same_snapshot_twice_or_an_unknown_one(client, analyst, world, two_snapshots):
    earlier, _ = two_snapshots
    response = _get(client, analyst, f"{LIST_URL}compare/?a={earlier.pk}&b={earlier.pk}")
    assert response.status_code == 400
    assert "Choose two different snapshots to compare." in response.content.decode()
    kenya = _freeze(world, analyst, "Kenya", key="ken")
    response = _get(client, analyst, f"{LIST_URL}compare/?a={earlier.pk}&b={kenya.pk}")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_compare_with_one_snapshot_says_two_are_needed(client, analyst, world, ratings):
    _freeze(world, analyst, "Only one")
    assert "Comparing needs two snapshots; Jamaica has 1." in _page(client, analyst, f"{LIST_URL}compare/")


# Query counts


def _many_measures(world, analyst, count=30):
    for number in range(count):
        measure = Measure.objects.create(
            edition=world["edition"], section=world["section"], code=f"XFER-{number + 10}", title=f"Measure {number}",
            domain=Measure.Domain.SALW, phase=Measure.Phase.UPSTREAM, legislative=True, position=number + 2,
        )  # fmt: skip
        for kind in Rating.Kind:
            factories.rating(state=world["jam"], measure=measure, kind=kind, by=analyst, at=AT, reason="Load")


# 1. session, 2. user, 3. the user's roles, 4. the State, 5. the State's assessments,
# 6. its snapshots with their sizes, 7. the menu's regions, 8. the menu's pending count
# (an analyst's; a focal point's own State instead).
LIST_QUERIES = 8
# 1.-4. as above, 5. the snapshot, 6. its assessment, 7. its entries, 8.-9. the menu.
DETAIL_QUERIES = 9
# 1.-4. as above, 5. the State's snapshots, 6. the entries of both, 7.-8. the menu.
COMPARE_QUERIES = 8


@pytest.mark.parametrize("who", ["analyst", "focal_jam"])
@pytest.mark.parametrize("many", [False, True])
def test_query_counts_do_not_grow_with_measures_or_snapshots(
    client, request, world, analyst, ratings, django_assert_num_queries, who, many
):
    if many:
        _many_measures(world, analyst)
    snapshots = [_freeze(world, analyst, f"Cycle {n}", at=AT + dt.timedelta(days=n)) for n in range(5 if many else 2)]
    client.force_login(request.getfixturevalue(who))
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get(LIST_URL).status_code == 200
    with django_assert_num_queries(DETAIL_QUERIES):
        html = client.get(f"{LIST_URL}{snapshots[-1].pk}/").content.decode()
    assert html.count('<article class="measure-row"') == (31 if many else 1)
    with django_assert_num_queries(COMPARE_QUERIES):
        html = client.get(f"{LIST_URL}compare/?a={snapshots[0].pk}&b={snapshots[-1].pk}").content.decode()
    assert html.count("<tbody") == (31 if many else 1)


def test_compare_can_show_changed_measures_only(client, analyst, world, two_snapshots):
    earlier, later = two_snapshots
    factories.rating(state=world["jam"], measure=world["records"], status=Status.IMPLEMENTED, by=analyst)
    factories.rating(
        state=world["jam"], measure=world["records"], kind=SELF_REPORTED, status=Status.IMPLEMENTED, by=analyst
    )
    earlier = _freeze(world, analyst, "With records", at=AT + dt.timedelta(days=300))
    factories.rating(
        state=world["jam"], measure=world["marking"], kind=SELF_REPORTED, status=Status.NOT_IMPLEMENTED, by=analyst
    )
    later = _freeze(world, analyst, "Later", at=AT + dt.timedelta(days=400))
    url = f"{LIST_URL}compare/?a={earlier.pk}&b={later.pk}"
    html = _page(client, analyst, url)
    assert "<strong>1</strong> of 2 measures changed" in html
    assert 'id="measure-SALW-06"' in html and 'id="measure-SALW-04"' in html
    html = _page(client, analyst, f"{url}&changed=on")
    assert "<strong>1</strong> of 2 measures changed" in html
    assert 'id="measure-SALW-06"' not in html and 'id="measure-SALW-04"' in html
