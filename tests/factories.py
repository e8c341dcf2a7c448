"""
Builders the tests share, so that a test names only what it is about. Each is
keyword-only and writes the way the app does: ratings through the ratings service
(with their history row at ``at``), submissions through the workflow.
"""

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from implementation import ratings, spreadsheets, workflow
from implementation.models import Assessment, AssistanceNeed, ConfidentialNote, Rating, Recommendation, StagedUpload
from states.models import MemberState, RegionMembership, Role


def member_state(*, iso3, iso2, m49, name, region=None, m49_region="Test", m49_subregion="Test"):
    state = MemberState.objects.create(
        iso3=iso3, iso2=iso2, m49=m49, name=name, m49_region=m49_region, m49_subregion=m49_subregion
    )
    if region is not None:
        RegionMembership.objects.create(region=region, state=state)
    return state


def user(*, username, role=None, state=None, region=None, is_staff=True, password="not-used", **role_fields):
    """A user with one ``role`` (a ``Role.Kind``) for ``state`` or ``region``, or none; ``password=None``: unusable."""
    made = get_user_model().objects.create_user(username, password=password, is_staff=is_staff)
    if role is not None:
        Role.objects.create(user=made, kind=role, state=state, region=region, **role_fields)
    return made


def rating(*, state, measure, by, kind=Rating.Kind.ASSESSED, reason="Test", at=None, **values):
    """``state``'s rating of ``kind`` on ``measure`` set to ``values`` by ``by`` at ``at`` (now if ``None``)."""
    return ratings.set_rating(state=state, measure=measure, kind=kind, by=by, reason=reason, at=at, **values)


def saved_rating(rating, *, by, reason, at=None):
    return ratings.save_rating(rating, by=by, reason=reason, at=at)


def confirmed_rating(rating, *, by, at=None):
    return ratings.confirm_rating(rating, by=by, at=at)


def rating_without_history(**fields):
    """A rating written straight to the table, with no history row: data the app itself never writes."""
    return Rating.objects.create(**fields)


def assessment(*, state, conducted_on, kind=Assessment.Kind.DESK_REVIEW, **fields):
    return Assessment.objects.create(state=state, kind=kind, conducted_on=conducted_on, **fields)


def recommendation(*, state, text, measures=(), **fields):
    made = Recommendation.objects.create(state=state, text=text, **fields)
    if measures:
        made.measures.add(*measures)
    return made


def assistance_need(*, state, kind=AssistanceNeed.Kind.TRAINING, description="Training", measures=(), **fields):
    made = AssistanceNeed.objects.create(state=state, kind=kind, description=description, **fields)
    if measures:
        made.measures.add(*measures)
    return made


def submission(*, state, measure, by, status=Rating.Status.LARGELY, **values):
    """A focal point's pending self-report, submitted as the form does (``values`` as ``workflow.submit`` takes)."""
    return workflow.submit(state=state, measure=measure, by=by, status=status, **values)


def note(*, state, author, body="CTED-ONLY", **fields):
    return ConfidentialNote.objects.create(state=state, author=author, body=body, **fields)


def staged_upload(*, upload, by, state=None):
    """
    ``upload`` received and checked at once, as the background task does: a State's spreadsheet if ``state`` is
    given, else a bulk import. Ready to confirm, or ``UploadRefused`` raised.
    """
    staged = StagedUpload.objects.receive(
        kind=StagedUpload.Kind.SELF_REPORT if state else StagedUpload.Kind.ASSESSED,
        state=state,
        file_name=upload.name,
        content=upload.read(),
        by=by,
    )
    staged.start_checking()
    return spreadsheets.stage(staged)


def confirmed(staged):
    """``staged`` confirmed, to be applied by ``spreadsheets.apply_*``."""
    assert staged.confirm()
    return staged


def token_client(user):
    """An API client that sends a new token of ``user``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client
