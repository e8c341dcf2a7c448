"""
The dashboards' cache (implementation/caching.py): never shared across scopes, never stale after any
kind of write, and revalidated with an ETag that a change hidden from the reader does not move.
"""

import datetime as dt

import factories
import pytest
import test_bulk_import as bulk
import test_spreadsheets as sheets
from django.contrib.messages import constants
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from test_admin import rating_form_data

from implementation import caching, workflow
from implementation.models import STALE_AFTER, Rating
from states.models import RegionMembership, Role

Status = Rating.Status
ASSESSED, SELF_REPORTED = Rating.Kind.ASSESSED, Rating.Kind.SELF_REPORTED

# A page served from the cache, for an analyst: 1. the session, 2. the user, 3. their role kinds, 4. the States
# they may read and 5. the data's fingerprint (the key), 6. the menu's regions, 7. the menu's review count.
HIT_QUERIES = 7
# A State's page also looks the State up first (get_visible_state_or_404): 8. The filter form's section choices
# are drawn in the cached content: no query.
STATE_HIT_QUERIES = 8


def _etag(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response["ETag"]


def _revalidated(client, url, etag):
    return client.get(url, HTTP_IF_NONE_MATCH=etag).status_code


# --- Scope isolation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("other", ["analyst", "coordinator", "focal_ken"])
def test_a_focal_point_never_gets_the_overview_built_for_another_scope(client, ratings, focal_jam, other, request):
    for first, second in [(other, "focal_jam"), ("focal_jam", other)]:
        pages = {}
        for who in (first, second):
            client.force_login(request.getfixturevalue(who))
            pages[who] = client.get("/").content.decode()
        # Jamaica's focal point reads Jamaica alone; each other reader reads a State they do not.
        assert 'href="/states/JAM/"' in pages["focal_jam"]
        assert 'href="/states/KEN/"' not in pages["focal_jam"]
        assert 'href="/states/TTO/"' not in pages["focal_jam"]
        assert 'href="/states/KEN/"' in pages[other] or 'href="/states/TTO/"' in pages[other]
        client.logout()


@pytest.mark.parametrize("other", ["analyst", "coordinator"])
def test_a_focal_point_never_gets_a_state_page_built_for_another_scope(
    client, world, analyst, focal_jam, other, request
):
    reader = request.getfixturevalue(other)
    client.force_login(reader)
    assert client.get("/states/JAM/").status_code == 200
    client.force_login(focal_jam)
    page = client.get("/states/JAM/").content.decode()
    # Only Jamaica's own focal point is offered to report its status on an empty profile.
    assert reverse("my_state_detail", args=["JAM"]) in page


@pytest.mark.parametrize("other", ["analyst", "coordinator", "focal_ken"])
def test_an_etag_from_another_scope_never_gets_a_304(client, ratings, focal_jam, other, request):
    client.force_login(request.getfixturevalue(other))
    etag = _etag(client, "/")
    client.force_login(focal_jam)
    assert _revalidated(client, "/", etag) == 200


def test_two_analysts_share_an_entry(client, ratings, analyst, django_assert_num_queries):
    colleague = factories.user(username="colleague", role=Role.Kind.ANALYST)
    client.force_login(analyst)
    first = client.get("/regions/caribbean/").content.decode()
    client.force_login(colleague)
    with django_assert_num_queries(HIT_QUERIES + 1):  # and the region, looked up by its slug
        second = client.get("/regions/caribbean/").content.decode()
    assert second.split('<main id="content">')[1] == first.split('<main id="content">')[1]


# --- Freshness after each kind of write ----------------------------------------------------------------------------


def _before(client, who, url):
    client.force_login(who)
    return _etag(client, url)


def _after(client, who, url, etag, expected):
    client.force_login(who)
    page = client.get(url).content.decode()
    assert expected in page
    assert _revalidated(client, url, etag) == 200


def test_the_workflow_shows_at_once(client, world, ratings, analyst, focal_jam):
    etag = _before(client, analyst, "/states/JAM/")
    submission = workflow.submit(
        state=world["jam"], measure=world["marking"], by=focal_jam, status=Status.LARGELY, explanation="Now enforced."
    )
    workflow.accept(submission, by=analyst)
    _after(client, analyst, "/states/JAM/", etag, "Now enforced.")


def test_the_admin_shows_at_once(client, ratings, analyst):
    etag = _before(client, analyst, "/states/JAM/")
    rating = ratings["jam", ASSESSED]
    url = reverse("admin:implementation_rating_change", args=[rating.pk])
    response = client.post(url, rating_form_data(rating, explanation="Changed in the admin."))
    assert response.status_code == 302
    _after(client, analyst, "/states/JAM/", etag, "Changed in the admin.")


def test_a_states_spreadsheet_shows_at_once(client, ratings, analyst, focal_jam):
    etag = _before(client, analyst, "/states/JAM/")
    client.force_login(focal_jam)
    response = sheets.upload(client, sheets.csv_upload([sheets.row(explanation="From the spreadsheet.")]))
    sheets.confirm(client, response["Location"])
    # The submission waits for review: the analyst's menu counts it, around the same content.
    _after(client, analyst, "/states/JAM/", etag, "Review (1)")


def test_the_bulk_import_shows_at_once(client, ratings, analyst):
    etag = _before(client, analyst, "/states/JAM/")
    bulk.confirm(client, bulk.stage(client, bulk.csv_file(bulk.FILE_ROWS)))
    _after(client, analyst, "/states/JAM/", etag, "Import marking enforced since 2025.")


def test_a_new_membership_shows_at_once(client, world, ratings, analyst):
    etag = _before(client, analyst, "/regions/caribbean/")
    RegionMembership.objects.create(region=world["caribbean"], state=world["ken"])
    _after(client, analyst, "/regions/caribbean/", etag, 'href="/states/KEN/"')


def test_a_new_role_shows_at_once(client, world, ratings, focal_jam):
    etag = _before(client, focal_jam, "/")
    Role.objects.create(user=focal_jam, kind=Role.Kind.COORDINATOR, region=world["east_africa"])
    _after(client, focal_jam, "/", etag, 'href="/states/KEN/"')


def test_a_catalogue_edit_shows_at_once(client, world, ratings, analyst):
    etag = _before(client, analyst, "/states/JAM/")
    world["marking"].title = "Marking of every weapon"
    world["marking"].save()
    _after(client, analyst, "/states/JAM/", etag, "Marking of every weapon")


# --- Conditional requests -----------------------------------------------------------------------------------------


def test_an_unchanged_page_is_not_sent_again(client, ratings, analyst, django_assert_num_queries):
    client.force_login(analyst)
    response = client.get("/")
    assert response["Cache-Control"] == "private, no-cache"
    assert "Cookie" in response["Vary"]
    # As a hit: the content and the header compared by their hashes, nothing drawn.
    with django_assert_num_queries(HIT_QUERIES):
        again = client.get("/", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == response["ETag"]


def test_an_unchanged_compressed_page_is_not_sent_again(client, ratings, analyst):
    # As a browser asks: compressed, so GZipMiddleware marks the ETag weak, and the browser sends that back.
    client.force_login(analyst)
    response = client.get("/", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip" and response["ETag"].startswith('W/"')
    assert client.get("/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_an_unchanged_download_is_not_sent_again(client, ratings, analyst):
    client.force_login(analyst)
    url = "/states/JAM/?export=ratings&format=xlsx"
    etag = _etag(client, url)
    assert _revalidated(client, url, etag) == 304


def test_the_etag_changes_with_the_language(client, ratings, analyst):
    client.force_login(analyst)
    english = _etag(client, "/", HTTP_ACCEPT_LANGUAGE="en")
    french = _etag(client, "/", HTTP_ACCEPT_LANGUAGE="fr")
    assert english != french
    assert client.get("/", HTTP_IF_NONE_MATCH=french, HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    assert client.get("/", HTTP_IF_NONE_MATCH=english, HTTP_ACCEPT_LANGUAGE="en").status_code == 304


def test_a_state_page_is_served_from_the_cache(client, ratings, analyst, django_assert_num_queries):
    client.force_login(analyst)
    client.get("/states/JAM/")
    with django_assert_num_queries(STATE_HIT_QUERIES):
        assert client.get("/states/JAM/").status_code == 200


def test_a_past_overview_stays_cached_after_a_rating_changes(
    client, world, ratings, analyst, django_assert_num_queries
):
    client.force_login(analyst)
    past = "/?as_of=2024-06-01"
    before = client.get(past).content
    factories.saved_rating(ratings["jam", ASSESSED], by=analyst, reason="Checked again")
    factories.rating(state=world["tto"], measure=world["marking"], by=analyst, status=Status.IMPLEMENTED)
    with django_assert_num_queries(HIT_QUERIES):
        after = client.get(past).content
    assert after.split(b'<main id="content">')[1] == before.split(b'<main id="content">')[1]
    # Today's overview is built again.
    with django_assert_num_queries(HIT_QUERIES + 6):
        client.get("/")


def test_a_change_hidden_from_the_reader_keeps_their_etag(client, ratings, analyst, focal_jam):
    client.force_login(focal_jam)
    etag = _etag(client, "/")
    kenya = ratings["ken", ASSESSED]
    kenya.status = Status.IMPLEMENTED
    factories.saved_rating(kenya, by=analyst, reason="Kenya only")
    assert _revalidated(client, "/", etag) == 304
    assert _etag(client, "/") == etag


def test_a_profile_is_built_again_when_a_rating_turns_a_year_unconfirmed(client, world, analyst, monkeypatch):
    now = timezone.now()
    factories.rating(
        state=world["jam"], measure=world["marking"], by=analyst, status=Status.PARTIALLY,
        at=now - STALE_AFTER + dt.timedelta(minutes=1),
    )  # fmt: skip
    client.force_login(analyst)
    assert "flag-stale" not in client.get("/states/JAM/").content.decode()
    # Two minutes on, the same day: the kept copy has ended with the rating's year.
    monkeypatch.setattr(timezone, "now", lambda: now + dt.timedelta(minutes=2))
    assert "flag-stale" in client.get("/states/JAM/").content.decode()


def test_a_page_that_shows_a_message_is_sent_whole_and_without_an_etag(client, ratings, analyst):
    # A message is shown once: a browser copy holding it must not come back through a 304.
    client.force_login(analyst)
    etag = _etag(client, "/")
    storage = CookieStorage(RequestFactory().get("/"))
    storage.add(constants.SUCCESS, "Your changes were saved.")
    carrier = HttpResponse()
    storage.update(carrier)
    client.cookies[storage.cookie_name] = carrier.cookies[storage.cookie_name].value
    shown = client.get("/", HTTP_IF_NONE_MATCH=etag)
    assert shown.status_code == 200 and "Your changes were saved." in shown.content.decode()
    assert "ETag" not in shown and shown["Cache-Control"] == "private, no-cache"
    # Once shown, the page is the one the browser already holds.
    assert _revalidated(client, "/", etag) == 304


def test_the_etag_follows_what_the_header_shows(client, world, ratings, analyst, focal_jam):
    client.force_login(analyst)
    etag = _etag(client, "/")
    # A submission waiting for review changes only the analyst's menu ("Review (1)"), not the overview.
    workflow.submit(
        state=world["jam"], measure=world["marking"], by=focal_jam, status=Status.LARGELY, explanation="Drafted."
    )
    assert _revalidated(client, "/", etag) == 200
    assert "Review (1)" in client.get("/").content.decode()


def test_signing_in_leaves_the_fingerprint_but_renaming_someone_moves_it(client, ratings, analyst):
    # Each sign-in stamps last_login: were that history, every sign-in would empty the cache.
    analyst.set_password("a-long-enough-password")
    analyst.save()
    before = caching.fingerprint()
    signed_in = client.post(reverse("login"), {"username": analyst.username, "password": "a-long-enough-password"})
    assert signed_in.status_code == 302
    analyst.refresh_from_db()
    assert analyst.last_login is not None
    assert caching.fingerprint() == before
    analyst.first_name = "Ana"
    analyst.save()
    assert caching.fingerprint()["users"] != before["users"]
