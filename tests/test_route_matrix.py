"""
Every route of the URLconf, tried as each of five people: who gets in, who is refused,
and how. The table below is the access rules written out route by route; a route added
without a row, or a row left behind by a removed route, fails the suite.

Each person's data carries a marker (JAM-DETAIL, KEN-DETAIL, CTED-ONLY): besides the
status, no page may show a marker its reader may not read.
"""

import datetime as dt
from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

import factories
import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, get_resolver, resolve
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tasks_db.models import DBTaskResult
from rest_framework.authtoken.models import Token

from implementation import tasks, workflow
from implementation.models import (
    Assessment,
    Confidentiality,
    Rating,
    Snapshot,
    StagedUpload,
    Submission,
)
from measures.models import Instrument
from states.models import Role, Workshop

ROLES = ("anonymous", "focal_jam", "focal_ken", "coordinator", "analyst")
# An anonymous visitor is sent to sign in, with the page asked for as ?next=.
LOGIN = "→ /accounts/login/"
ADMIN_LOGIN = "→ /admin/login/"
# What each reader must never be shown (CTED-ONLY: whoever is not an analyst).
FORBIDDEN_MARKERS = {
    "anonymous": (b"JAM-DETAIL", b"KEN-DETAIL", b"CTED-ONLY"),
    "focal_jam": (b"KEN-DETAIL", b"CTED-ONLY"),
    "focal_ken": (b"JAM-DETAIL", b"CTED-ONLY"),
    "coordinator": (b"KEN-DETAIL", b"CTED-ONLY"),
    "analyst": (),
}
CSV_HEADER = "State,Code,Status,Explanation\n"


def route_keys(patterns=None, prefix=""):
    """The full pattern string of every route, the admin's and the API router's included."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from route_keys(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def csv_file(*rows, name="ratings.csv"):
    return SimpleUploadedFile(name, (CSV_HEADER + "".join(f"{row}\n" for row in rows)).encode())


@pytest.fixture
def cast(world, analyst, focal_jam, focal_ken, coordinator):
    return {"analyst": analyst, "focal_jam": focal_jam, "focal_ken": focal_ken, "coordinator": coordinator}


@pytest.fixture
def objects(world, cast):
    """A Jamaica and a Kenya object of each kind, by name, for the URLs' ids."""
    analyst, focal_jam, focal_ken = cast["analyst"], cast["focal_jam"], cast["focal_ken"]
    made = {"jam": world["jam"], "ken": world["ken"], "caribbean": world["caribbean"]}
    made["east_africa"] = world["east_africa"]
    made["edition"], made["section"], made["measure"] = world["edition"], world["section"], world["marking"]
    at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    for key in ("jam", "ken"):
        marker = f"{key.upper()}-DETAIL"
        for kind in Rating.Kind:
            rating = factories.rating(
                state=world[key], measure=world["marking"], kind=kind, status=Rating.Status.PARTIALLY, by=analyst,
                at=at, reason=f"Initial rating {marker}", explanation=f"Marking law adopted {marker}",
            )  # fmt: skip
        made[f"rating_{key}"] = rating
        made[f"rating_history_{key}"] = rating.history.get()
        shared = factories.assessment(
            state=world[key], kind=Assessment.Kind.COUNTRY_VISIT, conducted_on=dt.date(2024, 4, 1),
            confidentiality=Confidentiality.SHARED, summary=f"Visit {marker}", author=analyst,
        )  # fmt: skip
        made[f"assessment_{key}"] = shared
        made[f"cted_assessment_{key}"] = factories.assessment(
            state=world[key], conducted_on=dt.date(2024, 3, 1), summary="CTED-ONLY"
        )
        made[f"recommendation_{key}"] = factories.recommendation(
            state=world[key], text=f"Mark on import {marker}", measures=[world["marking"]]
        )
        made[f"need_{key}"] = factories.assistance_need(state=world[key], description=f"Training {marker}")
        made[f"note_{key}"] = factories.note(state=world[key], author=analyst)
        made[f"snapshot_{key}"] = workflow.freeze(state=world[key], label=f"2024 {marker}", by=analyst)
        focal = focal_jam if key == "jam" else focal_ken
        made[f"submission_{key}"] = factories.submission(
            state=world[key], measure=world["records"], by=focal, status="partially", explanation=f"Pilot {marker}"
        )
        made[f"upload_{key}"] = factories.staged_upload(
            state=world[key],
            upload=csv_file(f"{key.upper()},SALW-04,Largely implemented,Enforced {marker}"),
            by=focal,
        )
        made[f"role_{key}"] = Role.objects.get(user=focal)
    made["bulk_upload"] = factories.staged_upload(
        upload=csv_file("JAM,SALW-06,Implemented,Registry JAM-DETAIL", "KEN,SALW-06,Implemented,Registry KEN-DETAIL"),
        by=analyst,
    )
    made["workshop"] = Workshop.objects.create(
        region=world["caribbean"], title="Caribbean workshop", starts_on=dt.date(2023, 6, 1)
    )
    made["instrument"] = Instrument.objects.create(
        code="ITI", name="International Tracing Instrument", kind="political"
    )
    made["user"] = focal_jam
    made["group"] = Group.objects.create(name="Unused")
    made["token"] = Token.objects.create(user=analyst)
    made["device"] = TOTPDevice.objects.create(user=analyst, name="phone", confirmed=True)
    seen = {"user_agent": "test", "ip_address": "127.0.0.1", "username": "someone", "http_accept": "*/*"}
    seen["path_info"] = "/accounts/login/"
    made["attempt"] = AccessAttempt.objects.create(**seen, get_data="", post_data="", failures_since_start=1)
    made["access_log"] = AccessLog.objects.create(**seen)
    made["failure_log"] = AccessFailureLog.objects.create(**seen, locked_out=False)
    # A background task queued (and never run here), for the admin's list of tasks.
    made["task_result"] = DBTaskResult.objects.get(id=tasks.check_upload.enqueue(made["upload_jam"].pk).id)
    return made


def ids_of(objects):
    """What a URL template may name: ``{rating_jam}`` is that rating's id; history rows by history id."""
    ids = {}
    for name, obj in objects.items():
        ids[name] = obj.history_id if name.startswith("rating_history_") else obj.pk
    ids["token"] = objects["token"].user_id
    for name, obj in objects.items():
        # The latest row of an object's history, for the admin's page of one past version.
        if hasattr(type(obj), "history") and not name.startswith("rating_history_"):
            ids[f"{name}_version"] = obj.history.order_by("-history_id").values_list("history_id", flat=True)[0]
    ids["rating_content_type"] = ContentType.objects.get_for_model(Rating).pk
    return ids


# Every route, keyed by its full pattern, with sample URLs and what each person gets:
# (anonymous, focal_jam, focal_ken, coordinator, analyst). Ids in braces come from
# ``objects``. 404 is how a State's record answers someone who may not read it (it looks
# like one that does not exist); 403 is a page that refuses the person's role whatever
# the State. GET on a POST-only route answers 405. The rules: analysts read everything;
# the Caribbean coordinator reads Jamaica and Trinidad and Tobago in full and only totals
# elsewhere, and writes nothing; a focal point reads and reports for their own State
# only; anyone signed out is sent to sign in (pages, admin) or refused (API, 401).
# A filter naming a State the reader may not read is refused (400) like a code that names
# no State, on the pages, their downloads and the API alike.
ROUTES = {
    "": [
        ("/", (LOGIN, 200, 200, 200, 200)),
        ("/?export=regions&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/?export=states&format=xlsx", (LOGIN, 200, 200, 200, 200)),
        ("/?export=nope&format=csv", (LOGIN, 404, 404, 404, 404)),
        ("/?export=states&format=pdf", (LOGIN, 400, 400, 400, 400)),
        ("/?state=KEN", (LOGIN, 400, 200, 400, 200)),
        ("/?state=JAM&export=regions&format=csv", (LOGIN, 200, 400, 200, 200)),
        ("/?state=XXX", (LOGIN, 400, 400, 400, 400)),
    ],
    "regions/<slug:slug>/": [
        ("/regions/caribbean/", (LOGIN, 200, 200, 200, 200)),
        ("/regions/east-africa/", (LOGIN, 200, 200, 200, 200)),
        ("/regions/nowhere/", (LOGIN, 404, 404, 404, 404)),
        ("/regions/caribbean/?export=heatmap&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/caribbean/?export=states&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/caribbean/?export=domains&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/caribbean/?export=sections&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/caribbean/?export=least&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/caribbean/?export=trend&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/caribbean/?export=needs&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/east-africa/?export=heatmap&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/east-africa/?export=states&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/east-africa/?export=domains&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/east-africa/?export=sections&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/east-africa/?export=least&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/east-africa/?export=trend&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/east-africa/?export=needs&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/east-africa/?export=heatmap&format=xlsx", (LOGIN, 200, 200, 200, 200)),
        ("/regions/east-africa/?state=KEN&measure=SALW-04&status=partially", (LOGIN, 400, 200, 400, 200)),
        ("/regions/east-africa/?state=KEN&export=least&format=csv", (LOGIN, 400, 200, 400, 200)),
        ("/regions/caribbean/?state=TTO", (LOGIN, 400, 400, 200, 200)),
    ],
    "regions/<slug:slug>/table/": [
        ("/regions/caribbean/table/", (LOGIN, 200, 200, 200, 200)),
        ("/regions/east-africa/table/?sort=-assessed&page=2", (LOGIN, 200, 200, 200, 200)),
        ("/regions/nowhere/table/", (LOGIN, 404, 404, 404, 404)),
        ("/regions/caribbean/table/?sort=nope", (LOGIN, 400, 400, 400, 400)),
        ("/regions/caribbean/table/?export=heatmap&format=csv", (LOGIN, 200, 200, 200, 200)),
        ("/regions/caribbean/table/?export=heatmap&format=xlsx&sort=title", (LOGIN, 200, 200, 200, 200)),
        ("/regions/caribbean/table/?export=states&format=csv", (LOGIN, 404, 404, 404, 404)),
        ("/regions/caribbean/table/?export=heatmap&format=pdf", (LOGIN, 400, 400, 400, 400)),
        ("/regions/caribbean/table/?state=TTO", (LOGIN, 400, 400, 200, 200)),
        ("/regions/east-africa/table/?state=KEN&export=heatmap&format=csv", (LOGIN, 400, 200, 400, 200)),
    ],
    "states/<str:iso3>/": [
        ("/states/JAM/", (LOGIN, 200, 404, 200, 200)),
        ("/states/jam/", (LOGIN, 200, 404, 200, 200)),
        ("/states/TTO/", (LOGIN, 404, 404, 200, 200)),
        ("/states/KEN/", (LOGIN, 404, 200, 404, 200)),
        ("/states/FRA/", (LOGIN, 404, 404, 404, 200)),
        ("/states/XXX/", (LOGIN, 404, 404, 404, 404)),
        ("/states/JAM/?export=summary&format=csv", (LOGIN, 200, 404, 200, 200)),
        ("/states/JAM/?export=summary&format=xlsx", (LOGIN, 200, 404, 200, 200)),
        ("/states/JAM/?export=ratings&format=csv", (LOGIN, 200, 404, 200, 200)),
        ("/states/JAM/?export=ratings&format=xlsx", (LOGIN, 200, 404, 200, 200)),
        ("/states/JAM/?export=timeline&format=csv", (LOGIN, 200, 404, 200, 200)),
        ("/states/JAM/?export=timeline&format=xlsx", (LOGIN, 200, 404, 200, 200)),
        ("/states/JAM/?export=recommendations&format=csv", (LOGIN, 200, 404, 200, 200)),
        ("/states/JAM/?export=recommendations&format=xlsx", (LOGIN, 200, 404, 200, 200)),
        ("/states/JAM/?export=needs&format=csv", (LOGIN, 200, 404, 200, 200)),
        ("/states/JAM/?export=needs&format=xlsx", (LOGIN, 200, 404, 200, 200)),
        ("/states/KEN/?export=summary&format=csv", (LOGIN, 404, 200, 404, 200)),
        ("/states/KEN/?export=summary&format=xlsx", (LOGIN, 404, 200, 404, 200)),
        ("/states/KEN/?export=ratings&format=csv", (LOGIN, 404, 200, 404, 200)),
        ("/states/KEN/?export=ratings&format=xlsx", (LOGIN, 404, 200, 404, 200)),
        ("/states/KEN/?export=timeline&format=csv", (LOGIN, 404, 200, 404, 200)),
        ("/states/KEN/?export=timeline&format=xlsx", (LOGIN, 404, 200, 404, 200)),
        ("/states/KEN/?export=recommendations&format=csv", (LOGIN, 404, 200, 404, 200)),
        ("/states/KEN/?export=recommendations&format=xlsx", (LOGIN, 404, 200, 404, 200)),
        ("/states/KEN/?export=needs&format=csv", (LOGIN, 404, 200, 404, 200)),
        ("/states/KEN/?export=needs&format=xlsx", (LOGIN, 404, 200, 404, 200)),
    ],
    "states/<str:iso3>/snapshots/": [
        ("/states/JAM/snapshots/", (LOGIN, 200, 404, 200, 200)),
        ("/states/KEN/snapshots/", (LOGIN, 404, 200, 404, 200)),
        ("/states/TTO/snapshots/", (LOGIN, 404, 404, 200, 200)),
    ],
    "states/<str:iso3>/snapshots/compare/": [
        ("/states/JAM/snapshots/compare/", (LOGIN, 200, 404, 200, 200)),
        ("/states/KEN/snapshots/compare/", (LOGIN, 404, 200, 404, 200)),
        ("/states/JAM/snapshots/compare/?a={snapshot_jam}&b={snapshot_jam}", (LOGIN, 400, 404, 400, 400)),
        ("/states/JAM/snapshots/compare/?a={snapshot_ken}&b={snapshot_ken}", (LOGIN, 400, 404, 400, 400)),
    ],
    "states/<str:iso3>/snapshots/<int:pk>/": [
        ("/states/JAM/snapshots/{snapshot_jam}/", (LOGIN, 200, 404, 200, 200)),
        ("/states/KEN/snapshots/{snapshot_ken}/", (LOGIN, 404, 200, 404, 200)),
        ("/states/JAM/snapshots/{snapshot_ken}/", (LOGIN, 404, 404, 404, 404)),
    ],
    "my-state/": [
        ("/my-state/", (LOGIN, 200, 200, 200, 200)),
    ],
    "my-state/<str:iso3>/": [
        ("/my-state/JAM/", (LOGIN, 200, 404, 403, 403)),
        ("/my-state/KEN/", (LOGIN, 404, 200, 404, 403)),
        ("/my-state/TTO/", (LOGIN, 404, 404, 403, 403)),
    ],
    "^my-state/(?P<iso3>[A-Za-z]{3})/(?P<code>[A-Za-z]+-[0-9][0-9A-Za-z.-]*)/$": [
        ("/my-state/JAM/SALW-06/", (LOGIN, 200, 404, 403, 403)),
        ("/my-state/KEN/SALW-06/", (LOGIN, 404, 200, 404, 403)),
        ("/my-state/JAM/SALW-99/", (LOGIN, 404, 404, 403, 403)),
    ],
    "my-state/<str:iso3>/spreadsheet.xlsx": [
        ("/my-state/JAM/spreadsheet.xlsx", (LOGIN, 200, 404, 403, 200)),
        ("/my-state/KEN/spreadsheet.xlsx", (LOGIN, 404, 200, 404, 200)),
        ("/my-state/TTO/spreadsheet.xlsx", (LOGIN, 404, 404, 403, 200)),
    ],
    "my-state/<str:iso3>/upload/": [
        ("/my-state/JAM/upload/", (LOGIN, 200, 404, 403, 403)),
        ("/my-state/KEN/upload/", (LOGIN, 404, 200, 404, 403)),
    ],
    "my-state/<str:iso3>/upload/<int:pk>/": [
        ("/my-state/JAM/upload/{upload_jam}/", (LOGIN, 200, 404, 403, 403)),
        ("/my-state/KEN/upload/{upload_ken}/", (LOGIN, 404, 200, 404, 403)),
        ("/my-state/JAM/upload/{upload_jam}/?format=csv", (LOGIN, 200, 404, 403, 403)),
        ("/my-state/KEN/upload/{upload_ken}/?format=xlsx", (LOGIN, 404, 200, 404, 403)),
        ("/my-state/JAM/upload/{upload_ken}/", (LOGIN, 302, 404, 403, 403)),
    ],
    "imports/ratings/": [
        ("/imports/ratings/", (LOGIN, 403, 403, 403, 200)),
    ],
    "imports/ratings/<int:pk>/": [
        ("/imports/ratings/{bulk_upload}/", (LOGIN, 403, 403, 403, 200)),
        ("/imports/ratings/{bulk_upload}/?format=csv", (LOGIN, 403, 403, 403, 200)),
        ("/imports/ratings/{upload_jam}/", (LOGIN, 403, 403, 403, 302)),
    ],
    "review/": [
        ("/review/", (LOGIN, 403, 403, 403, 200)),
        ("/review/?state=KEN", (LOGIN, 403, 403, 403, 200)),
    ],
    "review/<int:pk>/accept/": [
        ("/review/{submission_jam}/accept/", (LOGIN, 405, 405, 405, 405)),
        ("/review/{submission_ken}/accept/", (LOGIN, 405, 405, 405, 405)),
    ],
    "review/<int:pk>/return/": [
        ("/review/{submission_jam}/return/", (LOGIN, 405, 405, 405, 405)),
        ("/review/{submission_ken}/return/", (LOGIN, 405, 405, 405, 405)),
    ],
    "api/v1/states/": [
        ("/api/v1/states/", (401, 200, 200, 200, 200)),
        ("/api/v1/states/?format=csv", (401, 200, 200, 200, 200)),
    ],
    "api/v1/states/<str:iso3>/": [
        ("/api/v1/states/JAM/", (401, 200, 200, 200, 200)),
        ("/api/v1/states/KEN/", (401, 200, 200, 200, 200)),
        ("/api/v1/states/KEN/?format=csv", (401, 200, 200, 200, 200)),
    ],
    "api/v1/regions/": [
        ("/api/v1/regions/", (401, 200, 200, 200, 200)),
        ("/api/v1/regions/?format=csv", (401, 200, 200, 200, 200)),
    ],
    "api/v1/regions/<str:slug>/": [
        ("/api/v1/regions/caribbean/", (401, 200, 200, 200, 200)),
        ("/api/v1/regions/east-africa/", (401, 200, 200, 200, 200)),
        ("/api/v1/regions/east-africa/?format=csv", (401, 200, 200, 200, 200)),
    ],
    "api/v1/editions/": [
        ("/api/v1/editions/", (401, 200, 200, 200, 200)),
        ("/api/v1/editions/?format=csv", (401, 200, 200, 200, 200)),
    ],
    "api/v1/editions/<str:code>/": [
        ("/api/v1/editions/test/", (401, 200, 200, 200, 200)),
        ("/api/v1/editions/test/?format=csv", (401, 200, 200, 200, 200)),
    ],
    "api/v1/measures/": [
        ("/api/v1/measures/", (401, 200, 200, 200, 200)),
        ("/api/v1/measures/?format=csv", (401, 200, 200, 200, 200)),
    ],
    "api/v1/measures/<str:code>/": [
        ("/api/v1/measures/SALW-04/", (401, 200, 200, 200, 200)),
        ("/api/v1/measures/SALW-04/?format=csv", (401, 200, 200, 200, 200)),
    ],
    "api/v1/ratings/": [
        ("/api/v1/ratings/", (401, 200, 200, 200, 200)),
        ("/api/v1/ratings/?format=csv", (401, 200, 200, 200, 200)),
        ("/api/v1/ratings/?state=JAM&format=csv", (401, 200, 400, 200, 200)),
        ("/api/v1/ratings/?state=KEN&format=csv", (401, 400, 200, 400, 200)),
        ("/api/v1/ratings/?state=JAM", (401, 200, 400, 200, 200)),
        ("/api/v1/ratings/?state=KEN", (401, 400, 200, 400, 200)),
    ],
    "api/v1/ratings/<str:id>/": [
        ("/api/v1/ratings/{rating_jam}/", (401, 200, 404, 200, 200)),
        ("/api/v1/ratings/{rating_ken}/", (401, 404, 200, 404, 200)),
        ("/api/v1/ratings/{rating_ken}/?format=csv", (401, 404, 200, 404, 200)),
    ],
    "api/v1/rating-history/": [
        ("/api/v1/rating-history/", (401, 200, 200, 200, 200)),
        ("/api/v1/rating-history/?format=csv", (401, 200, 200, 200, 200)),
        ("/api/v1/rating-history/?state=JAM&format=csv", (401, 200, 400, 200, 200)),
        ("/api/v1/rating-history/?state=KEN&format=csv", (401, 400, 200, 400, 200)),
        ("/api/v1/rating-history/?state=JAM", (401, 200, 400, 200, 200)),
        ("/api/v1/rating-history/?state=KEN", (401, 400, 200, 400, 200)),
    ],
    "api/v1/rating-history/<str:pk>/": [
        ("/api/v1/rating-history/{rating_history_jam}/", (401, 200, 404, 200, 200)),
        ("/api/v1/rating-history/{rating_history_ken}/", (401, 404, 200, 404, 200)),
        ("/api/v1/rating-history/{rating_history_ken}/?format=csv", (401, 404, 200, 404, 200)),
    ],
    "api/v1/assessments/": [
        ("/api/v1/assessments/", (401, 200, 200, 200, 200)),
        ("/api/v1/assessments/?format=csv", (401, 200, 200, 200, 200)),
        ("/api/v1/assessments/?state=JAM&format=csv", (401, 200, 400, 200, 200)),
        ("/api/v1/assessments/?state=KEN&format=csv", (401, 400, 200, 400, 200)),
        ("/api/v1/assessments/?state=JAM", (401, 200, 400, 200, 200)),
        ("/api/v1/assessments/?state=KEN", (401, 400, 200, 400, 200)),
    ],
    "api/v1/assessments/<str:pk>/": [
        ("/api/v1/assessments/{assessment_jam}/", (401, 200, 404, 200, 200)),
        ("/api/v1/assessments/{assessment_ken}/", (401, 404, 200, 404, 200)),
        ("/api/v1/assessments/{cted_assessment_jam}/", (401, 404, 404, 404, 200)),
        ("/api/v1/assessments/{cted_assessment_jam}/?format=csv", (401, 404, 404, 404, 200)),
    ],
    "api/v1/recommendations/": [
        ("/api/v1/recommendations/", (401, 200, 200, 200, 200)),
        ("/api/v1/recommendations/?format=csv", (401, 200, 200, 200, 200)),
        ("/api/v1/recommendations/?state=JAM&format=csv", (401, 200, 400, 200, 200)),
        ("/api/v1/recommendations/?state=KEN&format=csv", (401, 400, 200, 400, 200)),
        ("/api/v1/recommendations/?state=JAM", (401, 200, 400, 200, 200)),
        ("/api/v1/recommendations/?state=KEN", (401, 400, 200, 400, 200)),
    ],
    "api/v1/recommendations/<str:pk>/": [
        ("/api/v1/recommendations/{recommendation_jam}/", (401, 200, 404, 200, 200)),
        ("/api/v1/recommendations/{recommendation_ken}/", (401, 404, 200, 404, 200)),
        ("/api/v1/recommendations/{recommendation_ken}/?format=csv", (401, 404, 200, 404, 200)),
    ],
    "api/v1/submissions/": [
        ("/api/v1/submissions/", (401, 200, 200, 200, 200)),
        ("/api/v1/submissions/?format=csv", (401, 200, 200, 200, 200)),
        ("/api/v1/submissions/?state=JAM&format=csv", (401, 200, 400, 200, 200)),
        ("/api/v1/submissions/?state=KEN&format=csv", (401, 400, 200, 400, 200)),
        ("/api/v1/submissions/?state=JAM", (401, 200, 400, 200, 200)),
        ("/api/v1/submissions/?state=KEN", (401, 400, 200, 400, 200)),
    ],
    "api/v1/submissions/<str:pk>/": [
        ("/api/v1/submissions/{submission_jam}/", (401, 200, 404, 200, 200)),
        ("/api/v1/submissions/{submission_ken}/", (401, 404, 200, 404, 200)),
        ("/api/v1/submissions/{submission_ken}/?format=csv", (401, 404, 200, 404, 200)),
    ],
    "api/v1/": [
        ("/api/v1/", (401, 200, 200, 200, 200)),
    ],
    "api/schema/": [
        ("/api/schema/", (401, 200, 200, 200, 200)),
    ],
    "api/docs/": [
        ("/api/docs/", (401, 200, 200, 200, 200)),
    ],
    # Django's own login (accounts/ include) has the same pattern; this one, listed first, answers.
    "accounts/login/": [
        ("/accounts/login/", (200, 200, 200, 200, 200)),
    ],
    "accounts/two-factor/": [
        ("/accounts/two-factor/", (LOGIN, 200, 200, 200, 200)),
    ],
    # The language switch only answers a POST (it sets a cookie): see tests/test_languages.py.
    "accounts/language/": [
        ("/accounts/language/", (405, 405, 405, 405, 405)),
    ],
    "accounts/logout/": [
        ("/accounts/logout/", (405, 405, 405, 405, 405)),
    ],
    "accounts/password_change/": [
        ("/accounts/password_change/", (LOGIN, 200, 200, 200, 200)),
    ],
    "accounts/password_change/done/": [
        ("/accounts/password_change/done/", (LOGIN, 200, 200, 200, 200)),
    ],
    "help/": [
        ("/help/", (200, 200, 200, 200, 200)),
    ],
    "healthz": [
        ("/healthz", (200, 200, 200, 200, 200)),
    ],
    # The printed page's margins in one language: words of the interface only, the same for everyone.
    "print/<str:language>.css": [
        ("/print/ar.css", (200, 200, 200, 200, 200)),
        ("/print/xx.css", (404, 404, 404, 404, 404)),
    ],
    "admin/": [
        ("/admin/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/login/": [
        # The site's own sign-in page, with its two-factor code and lockout, serves the admin too.
        ("/admin/login/", (302, 302, 302, 302, 302)),
    ],
    "admin/logout/": [
        ("/admin/logout/", ("→ /admin/", 405, 405, 405, 405)),
    ],
    "admin/password_change/": [
        ("/admin/password_change/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/password_change/done/": [
        ("/admin/password_change/done/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/autocomplete/": [
        (
            "/admin/autocomplete/?app_label=implementation&model_name=rating&field_name=state",
            (ADMIN_LOGIN, 200, 200, 200, 200),
        ),
        (
            "/admin/autocomplete/?app_label=implementation&model_name=rating&field_name=state&term=Ken",
            (ADMIN_LOGIN, 200, 200, 200, 200),
        ),
        (
            "/admin/autocomplete/?app_label=implementation&model_name=rating&field_name=measure",
            (ADMIN_LOGIN, 200, 200, 200, 200),
        ),
        (
            "/admin/autocomplete/?app_label=implementation&model_name=assessment&field_name=author",
            (ADMIN_LOGIN, 403, 403, 403, 200),
        ),
        ("/admin/autocomplete/?app_label=states&model_name=role&field_name=region", (ADMIN_LOGIN, 403, 403, 200, 200)),
    ],
    "admin/jsi18n/": [
        ("/admin/jsi18n/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/r/<path:content_type_id>/<path:object_id>/": [
        ("/admin/r/{rating_content_type}/{rating_jam}/", (ADMIN_LOGIN, 404, 404, 404, 404)),
        ("/admin/r/{rating_content_type}/{rating_ken}/", (ADMIN_LOGIN, 404, 404, 404, 404)),
    ],
    "admin/auth/group/": [
        ("/admin/auth/group/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/auth/group/add/": [
        ("/admin/auth/group/add/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/auth/group/<path:object_id>/history/": [
        ("/admin/auth/group/{group}/history/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/auth/group/<path:object_id>/delete/": [
        ("/admin/auth/group/{group}/delete/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/auth/group/<path:object_id>/change/": [
        ("/admin/auth/group/{group}/change/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/auth/group/<path:object_id>/": [
        ("/admin/auth/group/{group}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/authtoken/tokenproxy/": [
        ("/admin/authtoken/tokenproxy/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/authtoken/tokenproxy/add/": [
        ("/admin/authtoken/tokenproxy/add/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/authtoken/tokenproxy/<path:object_id>/history/": [
        ("/admin/authtoken/tokenproxy/{token}/history/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/authtoken/tokenproxy/<path:object_id>/delete/": [
        ("/admin/authtoken/tokenproxy/{token}/delete/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/authtoken/tokenproxy/<path:object_id>/change/": [
        ("/admin/authtoken/tokenproxy/{token}/change/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/authtoken/tokenproxy/<path:object_id>/": [
        ("/admin/authtoken/tokenproxy/{token}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    # The background tasks (django_tasks_db): for administrators only, read-only.
    "admin/django_tasks_database/dbtaskresult/": [
        ("/admin/django_tasks_database/dbtaskresult/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/django_tasks_database/dbtaskresult/add/": [
        ("/admin/django_tasks_database/dbtaskresult/add/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/django_tasks_database/dbtaskresult/<path:object_id>/history/": [
        ("/admin/django_tasks_database/dbtaskresult/{task_result}/history/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/django_tasks_database/dbtaskresult/<path:object_id>/delete/": [
        ("/admin/django_tasks_database/dbtaskresult/{task_result}/delete/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/django_tasks_database/dbtaskresult/<path:object_id>/change/": [
        ("/admin/django_tasks_database/dbtaskresult/{task_result}/change/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/django_tasks_database/dbtaskresult/<path:object_id>/": [
        ("/admin/django_tasks_database/dbtaskresult/{task_result}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/axes/accessattempt/": [
        ("/admin/axes/accessattempt/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accessattempt/add/": [
        ("/admin/axes/accessattempt/add/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accessattempt/<path:object_id>/history/": [
        ("/admin/axes/accessattempt/{attempt}/history/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accessattempt/<path:object_id>/delete/": [
        ("/admin/axes/accessattempt/{attempt}/delete/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accessattempt/<path:object_id>/change/": [
        ("/admin/axes/accessattempt/{attempt}/change/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accessattempt/<path:object_id>/": [
        ("/admin/axes/accessattempt/{attempt}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/axes/accesslog/": [
        ("/admin/axes/accesslog/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accesslog/add/": [
        ("/admin/axes/accesslog/add/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accesslog/<path:object_id>/history/": [
        ("/admin/axes/accesslog/{access_log}/history/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accesslog/<path:object_id>/delete/": [
        ("/admin/axes/accesslog/{access_log}/delete/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accesslog/<path:object_id>/change/": [
        ("/admin/axes/accesslog/{access_log}/change/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accesslog/<path:object_id>/": [
        ("/admin/axes/accesslog/{access_log}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/axes/accessfailurelog/": [
        ("/admin/axes/accessfailurelog/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accessfailurelog/add/": [
        ("/admin/axes/accessfailurelog/add/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accessfailurelog/<path:object_id>/history/": [
        ("/admin/axes/accessfailurelog/{failure_log}/history/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accessfailurelog/<path:object_id>/delete/": [
        ("/admin/axes/accessfailurelog/{failure_log}/delete/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accessfailurelog/<path:object_id>/change/": [
        ("/admin/axes/accessfailurelog/{failure_log}/change/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/axes/accessfailurelog/<path:object_id>/": [
        ("/admin/axes/accessfailurelog/{failure_log}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/otp_totp/totpdevice/<int:pk>/config/": [
        ("/admin/otp_totp/totpdevice/{device}/config/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/otp_totp/totpdevice/<int:pk>/qrcode/": [
        ("/admin/otp_totp/totpdevice/{device}/qrcode/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/otp_totp/totpdevice/": [
        ("/admin/otp_totp/totpdevice/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/otp_totp/totpdevice/add/": [
        ("/admin/otp_totp/totpdevice/add/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/otp_totp/totpdevice/<path:object_id>/history/": [
        ("/admin/otp_totp/totpdevice/{device}/history/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/otp_totp/totpdevice/<path:object_id>/delete/": [
        ("/admin/otp_totp/totpdevice/{device}/delete/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/otp_totp/totpdevice/<path:object_id>/change/": [
        ("/admin/otp_totp/totpdevice/{device}/change/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/otp_totp/totpdevice/<path:object_id>/": [
        ("/admin/otp_totp/totpdevice/{device}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/states/memberstate/": [
        ("/admin/states/memberstate/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/states/memberstate/add/": [
        ("/admin/states/memberstate/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/states/memberstate/<path:object_id>/history/": [
        ("/admin/states/memberstate/{jam}/history/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/states/memberstate/{ken}/history/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/states/memberstate/<path:object_id>/delete/": [
        ("/admin/states/memberstate/{jam}/delete/", (ADMIN_LOGIN, 403, 404, 403, 200)),
        ("/admin/states/memberstate/{ken}/delete/", (ADMIN_LOGIN, 404, 403, 404, 200)),
    ],
    "admin/states/memberstate/<path:object_id>/change/": [
        ("/admin/states/memberstate/{jam}/change/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/states/memberstate/{ken}/change/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/states/memberstate/<path:object_id>/": [
        ("/admin/states/memberstate/{jam}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
        ("/admin/states/memberstate/{ken}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/states/region/^([^/]+)/history/([^/]+)/$": [
        ("/admin/states/region/{caribbean}/history/{caribbean_version}/", (ADMIN_LOGIN, 403, 403, 200, 200)),
        ("/admin/states/region/{east_africa}/history/{east_africa_version}/", (ADMIN_LOGIN, 403, 403, 200, 200)),
    ],
    "admin/states/region/": [
        ("/admin/states/region/", (ADMIN_LOGIN, 403, 403, 200, 200)),
    ],
    "admin/states/region/add/": [
        ("/admin/states/region/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/states/region/<path:object_id>/history/": [
        ("/admin/states/region/{caribbean}/history/", (ADMIN_LOGIN, 403, 403, 200, 200)),
        ("/admin/states/region/{east_africa}/history/", (ADMIN_LOGIN, 403, 403, 200, 200)),
    ],
    "admin/states/region/<path:object_id>/delete/": [
        ("/admin/states/region/{caribbean}/delete/", (ADMIN_LOGIN, 403, 403, 403, 200)),
        ("/admin/states/region/{east_africa}/delete/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/states/region/<path:object_id>/change/": [
        ("/admin/states/region/{caribbean}/change/", (ADMIN_LOGIN, 403, 403, 200, 200)),
        ("/admin/states/region/{east_africa}/change/", (ADMIN_LOGIN, 403, 403, 200, 200)),
    ],
    "admin/states/region/<path:object_id>/": [
        ("/admin/states/region/{caribbean}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
        ("/admin/states/region/{east_africa}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/states/workshop/": [
        ("/admin/states/workshop/", (ADMIN_LOGIN, 403, 403, 200, 200)),
    ],
    "admin/states/workshop/add/": [
        ("/admin/states/workshop/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/states/workshop/<path:object_id>/history/": [
        ("/admin/states/workshop/{workshop}/history/", (ADMIN_LOGIN, 403, 403, 200, 200)),
    ],
    "admin/states/workshop/<path:object_id>/delete/": [
        ("/admin/states/workshop/{workshop}/delete/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/states/workshop/<path:object_id>/change/": [
        ("/admin/states/workshop/{workshop}/change/", (ADMIN_LOGIN, 403, 403, 200, 200)),
    ],
    "admin/states/workshop/<path:object_id>/": [
        ("/admin/states/workshop/{workshop}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/states/role/^([^/]+)/history/([^/]+)/$": [
        ("/admin/states/role/{role_jam}/history/{role_jam_version}/", (ADMIN_LOGIN, 403, 403, 403, 200)),
        ("/admin/states/role/{role_ken}/history/{role_ken_version}/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/states/role/": [
        ("/admin/states/role/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/states/role/add/": [
        ("/admin/states/role/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/states/role/<path:object_id>/history/": [
        ("/admin/states/role/{role_jam}/history/", (ADMIN_LOGIN, 403, 403, 403, 200)),
        ("/admin/states/role/{role_ken}/history/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/states/role/<path:object_id>/delete/": [
        ("/admin/states/role/{role_jam}/delete/", (ADMIN_LOGIN, 403, 403, 403, 200)),
        ("/admin/states/role/{role_ken}/delete/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/states/role/<path:object_id>/change/": [
        ("/admin/states/role/{role_jam}/change/", (ADMIN_LOGIN, 403, 403, 403, 200)),
        ("/admin/states/role/{role_ken}/change/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/states/role/<path:object_id>/": [
        ("/admin/states/role/{role_jam}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
        ("/admin/states/role/{role_ken}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/auth/user/<id>/password/": [
        ("/admin/auth/user/{user}/password/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/auth/user/": [
        ("/admin/auth/user/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/auth/user/add/": [
        ("/admin/auth/user/add/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/auth/user/<path:object_id>/history/": [
        ("/admin/auth/user/{user}/history/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/auth/user/<path:object_id>/delete/": [
        ("/admin/auth/user/{user}/delete/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/auth/user/<path:object_id>/change/": [
        ("/admin/auth/user/{user}/change/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/auth/user/<path:object_id>/": [
        ("/admin/auth/user/{user}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/measures/edition/": [
        ("/admin/measures/edition/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/edition/add/": [
        ("/admin/measures/edition/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/measures/edition/<path:object_id>/history/": [
        ("/admin/measures/edition/{edition}/history/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/edition/<path:object_id>/delete/": [
        ("/admin/measures/edition/{edition}/delete/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/measures/edition/<path:object_id>/change/": [
        ("/admin/measures/edition/{edition}/change/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/edition/<path:object_id>/": [
        ("/admin/measures/edition/{edition}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/measures/section/": [
        ("/admin/measures/section/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/section/add/": [
        ("/admin/measures/section/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/measures/section/<path:object_id>/history/": [
        ("/admin/measures/section/{section}/history/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/section/<path:object_id>/delete/": [
        ("/admin/measures/section/{section}/delete/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/measures/section/<path:object_id>/change/": [
        ("/admin/measures/section/{section}/change/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/section/<path:object_id>/": [
        ("/admin/measures/section/{section}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/measures/instrument/": [
        ("/admin/measures/instrument/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/instrument/add/": [
        ("/admin/measures/instrument/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/measures/instrument/<path:object_id>/history/": [
        ("/admin/measures/instrument/{instrument}/history/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/instrument/<path:object_id>/delete/": [
        ("/admin/measures/instrument/{instrument}/delete/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/measures/instrument/<path:object_id>/change/": [
        ("/admin/measures/instrument/{instrument}/change/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/instrument/<path:object_id>/": [
        ("/admin/measures/instrument/{instrument}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/measures/measure/^([^/]+)/history/([^/]+)/$": [
        ("/admin/measures/measure/{measure}/history/{measure_version}/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/measure/": [
        ("/admin/measures/measure/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/measure/add/": [
        ("/admin/measures/measure/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/measures/measure/<path:object_id>/history/": [
        ("/admin/measures/measure/{measure}/history/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/measure/<path:object_id>/delete/": [
        ("/admin/measures/measure/{measure}/delete/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/measures/measure/<path:object_id>/change/": [
        ("/admin/measures/measure/{measure}/change/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/measures/measure/<path:object_id>/": [
        ("/admin/measures/measure/{measure}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/implementation/rating/^([^/]+)/history/([^/]+)/$": [
        ("/admin/implementation/rating/{rating_jam}/history/{rating_jam_version}/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/rating/{rating_ken}/history/{rating_ken_version}/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/implementation/rating/": [
        ("/admin/implementation/rating/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/implementation/rating/add/": [
        ("/admin/implementation/rating/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/implementation/rating/<path:object_id>/history/": [
        ("/admin/implementation/rating/{rating_jam}/history/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/rating/{rating_ken}/history/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/implementation/rating/<path:object_id>/delete/": [
        ("/admin/implementation/rating/{rating_jam}/delete/", (ADMIN_LOGIN, 403, 404, 403, 403)),
        ("/admin/implementation/rating/{rating_ken}/delete/", (ADMIN_LOGIN, 404, 403, 404, 403)),
    ],
    "admin/implementation/rating/<path:object_id>/change/": [
        ("/admin/implementation/rating/{rating_jam}/change/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/rating/{rating_ken}/change/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/implementation/rating/<path:object_id>/": [
        ("/admin/implementation/rating/{rating_jam}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
        ("/admin/implementation/rating/{rating_ken}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/implementation/assessment/^([^/]+)/history/([^/]+)/$": [
        (
            "/admin/implementation/assessment/{assessment_jam}/history/{assessment_jam_version}/",
            (ADMIN_LOGIN, 200, 404, 200, 200),
        ),
        (
            "/admin/implementation/assessment/{assessment_ken}/history/{assessment_ken_version}/",
            (ADMIN_LOGIN, 404, 200, 404, 200),
        ),
        (
            "/admin/implementation/assessment/{cted_assessment_jam}/history/{cted_assessment_jam_version}/",
            (ADMIN_LOGIN, 404, 404, 404, 200),
        ),
    ],
    "admin/implementation/assessment/": [
        ("/admin/implementation/assessment/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/implementation/assessment/add/": [
        ("/admin/implementation/assessment/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/implementation/assessment/<path:object_id>/history/": [
        ("/admin/implementation/assessment/{assessment_jam}/history/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/assessment/{assessment_ken}/history/", (ADMIN_LOGIN, 404, 200, 404, 200)),
        ("/admin/implementation/assessment/{cted_assessment_jam}/history/", (ADMIN_LOGIN, 404, 404, 404, 200)),
    ],
    "admin/implementation/assessment/<path:object_id>/delete/": [
        ("/admin/implementation/assessment/{assessment_jam}/delete/", (ADMIN_LOGIN, 403, 404, 403, 200)),
        ("/admin/implementation/assessment/{assessment_ken}/delete/", (ADMIN_LOGIN, 404, 403, 404, 200)),
        ("/admin/implementation/assessment/{cted_assessment_jam}/delete/", (ADMIN_LOGIN, 404, 404, 404, 200)),
    ],
    "admin/implementation/assessment/<path:object_id>/change/": [
        ("/admin/implementation/assessment/{assessment_jam}/change/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/assessment/{assessment_ken}/change/", (ADMIN_LOGIN, 404, 200, 404, 200)),
        ("/admin/implementation/assessment/{cted_assessment_jam}/change/", (ADMIN_LOGIN, 404, 404, 404, 200)),
    ],
    "admin/implementation/assessment/<path:object_id>/": [
        ("/admin/implementation/assessment/{assessment_jam}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
        ("/admin/implementation/assessment/{assessment_ken}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
        ("/admin/implementation/assessment/{cted_assessment_jam}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/implementation/recommendation/^([^/]+)/history/([^/]+)/$": [
        (
            "/admin/implementation/recommendation/{recommendation_jam}/history/{recommendation_jam_version}/",
            (ADMIN_LOGIN, 200, 404, 200, 200),
        ),
        (
            "/admin/implementation/recommendation/{recommendation_ken}/history/{recommendation_ken_version}/",
            (ADMIN_LOGIN, 404, 200, 404, 200),
        ),
    ],
    "admin/implementation/recommendation/": [
        ("/admin/implementation/recommendation/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/implementation/recommendation/add/": [
        ("/admin/implementation/recommendation/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/implementation/recommendation/<path:object_id>/history/": [
        ("/admin/implementation/recommendation/{recommendation_jam}/history/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/recommendation/{recommendation_ken}/history/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/implementation/recommendation/<path:object_id>/delete/": [
        ("/admin/implementation/recommendation/{recommendation_jam}/delete/", (ADMIN_LOGIN, 403, 404, 403, 200)),
        ("/admin/implementation/recommendation/{recommendation_ken}/delete/", (ADMIN_LOGIN, 404, 403, 404, 200)),
    ],
    "admin/implementation/recommendation/<path:object_id>/change/": [
        ("/admin/implementation/recommendation/{recommendation_jam}/change/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/recommendation/{recommendation_ken}/change/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/implementation/recommendation/<path:object_id>/": [
        ("/admin/implementation/recommendation/{recommendation_jam}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
        ("/admin/implementation/recommendation/{recommendation_ken}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/implementation/assistanceneed/^([^/]+)/history/([^/]+)/$": [
        (
            "/admin/implementation/assistanceneed/{need_jam}/history/{need_jam_version}/",
            (ADMIN_LOGIN, 200, 404, 200, 200),
        ),
        (
            "/admin/implementation/assistanceneed/{need_ken}/history/{need_ken_version}/",
            (ADMIN_LOGIN, 404, 200, 404, 200),
        ),
    ],
    "admin/implementation/assistanceneed/": [
        ("/admin/implementation/assistanceneed/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/implementation/assistanceneed/add/": [
        ("/admin/implementation/assistanceneed/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/implementation/assistanceneed/<path:object_id>/history/": [
        ("/admin/implementation/assistanceneed/{need_jam}/history/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/assistanceneed/{need_ken}/history/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/implementation/assistanceneed/<path:object_id>/delete/": [
        ("/admin/implementation/assistanceneed/{need_jam}/delete/", (ADMIN_LOGIN, 403, 404, 403, 200)),
        ("/admin/implementation/assistanceneed/{need_ken}/delete/", (ADMIN_LOGIN, 404, 403, 404, 200)),
    ],
    "admin/implementation/assistanceneed/<path:object_id>/change/": [
        ("/admin/implementation/assistanceneed/{need_jam}/change/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/assistanceneed/{need_ken}/change/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/implementation/assistanceneed/<path:object_id>/": [
        ("/admin/implementation/assistanceneed/{need_jam}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
        ("/admin/implementation/assistanceneed/{need_ken}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/implementation/confidentialnote/^([^/]+)/history/([^/]+)/$": [
        (
            "/admin/implementation/confidentialnote/{note_jam}/history/{note_jam_version}/",
            (ADMIN_LOGIN, 403, 403, 403, 200),
        ),
        (
            "/admin/implementation/confidentialnote/{note_ken}/history/{note_ken_version}/",
            (ADMIN_LOGIN, 403, 403, 403, 200),
        ),
    ],
    "admin/implementation/confidentialnote/": [
        ("/admin/implementation/confidentialnote/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/implementation/confidentialnote/add/": [
        ("/admin/implementation/confidentialnote/add/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/implementation/confidentialnote/<path:object_id>/history/": [
        ("/admin/implementation/confidentialnote/{note_jam}/history/", (ADMIN_LOGIN, 403, 403, 403, 200)),
        ("/admin/implementation/confidentialnote/{note_ken}/history/", (ADMIN_LOGIN, 403, 403, 403, 200)),
    ],
    "admin/implementation/confidentialnote/<path:object_id>/delete/": [
        ("/admin/implementation/confidentialnote/{note_jam}/delete/", (ADMIN_LOGIN, 404, 404, 404, 200)),
        ("/admin/implementation/confidentialnote/{note_ken}/delete/", (ADMIN_LOGIN, 404, 404, 404, 200)),
    ],
    "admin/implementation/confidentialnote/<path:object_id>/change/": [
        ("/admin/implementation/confidentialnote/{note_jam}/change/", (ADMIN_LOGIN, 404, 404, 404, 200)),
        ("/admin/implementation/confidentialnote/{note_ken}/change/", (ADMIN_LOGIN, 404, 404, 404, 200)),
    ],
    "admin/implementation/confidentialnote/<path:object_id>/": [
        ("/admin/implementation/confidentialnote/{note_jam}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
        ("/admin/implementation/confidentialnote/{note_ken}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/implementation/submission/^([^/]+)/history/([^/]+)/$": [
        (
            "/admin/implementation/submission/{submission_jam}/history/{submission_jam_version}/",
            (ADMIN_LOGIN, 200, 404, 200, 200),
        ),
        (
            "/admin/implementation/submission/{submission_ken}/history/{submission_ken_version}/",
            (ADMIN_LOGIN, 404, 200, 404, 200),
        ),
    ],
    "admin/implementation/submission/": [
        ("/admin/implementation/submission/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/implementation/submission/add/": [
        ("/admin/implementation/submission/add/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/implementation/submission/<path:object_id>/history/": [
        ("/admin/implementation/submission/{submission_jam}/history/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/submission/{submission_ken}/history/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/implementation/submission/<path:object_id>/delete/": [
        ("/admin/implementation/submission/{submission_jam}/delete/", (ADMIN_LOGIN, 403, 404, 403, 403)),
        ("/admin/implementation/submission/{submission_ken}/delete/", (ADMIN_LOGIN, 404, 403, 404, 403)),
    ],
    "admin/implementation/submission/<path:object_id>/change/": [
        ("/admin/implementation/submission/{submission_jam}/change/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/submission/{submission_ken}/change/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/implementation/submission/<path:object_id>/": [
        ("/admin/implementation/submission/{submission_jam}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
        ("/admin/implementation/submission/{submission_ken}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/implementation/snapshot/": [
        ("/admin/implementation/snapshot/", (ADMIN_LOGIN, 200, 200, 200, 200)),
    ],
    "admin/implementation/snapshot/add/": [
        ("/admin/implementation/snapshot/add/", (ADMIN_LOGIN, 403, 403, 403, 403)),
    ],
    "admin/implementation/snapshot/<path:object_id>/history/": [
        ("/admin/implementation/snapshot/{snapshot_jam}/history/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/snapshot/{snapshot_ken}/history/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/implementation/snapshot/<path:object_id>/delete/": [
        ("/admin/implementation/snapshot/{snapshot_jam}/delete/", (ADMIN_LOGIN, 403, 404, 403, 403)),
        ("/admin/implementation/snapshot/{snapshot_ken}/delete/", (ADMIN_LOGIN, 404, 403, 404, 403)),
    ],
    "admin/implementation/snapshot/<path:object_id>/change/": [
        ("/admin/implementation/snapshot/{snapshot_jam}/change/", (ADMIN_LOGIN, 200, 404, 200, 200)),
        ("/admin/implementation/snapshot/{snapshot_ken}/change/", (ADMIN_LOGIN, 404, 200, 404, 200)),
    ],
    "admin/implementation/snapshot/<path:object_id>/": [
        ("/admin/implementation/snapshot/{snapshot_jam}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
        ("/admin/implementation/snapshot/{snapshot_ken}/", (ADMIN_LOGIN, 302, 302, 302, 302)),
    ],
    "admin/^(?P<app_label>auth|authtoken|axes|otp_totp|django_tasks_database|states|implementation|measures)/$": [
        ("/admin/states/", (ADMIN_LOGIN, 200, 200, 200, 200)),
        ("/admin/measures/", (ADMIN_LOGIN, 200, 200, 200, 200)),
        ("/admin/implementation/", (ADMIN_LOGIN, 200, 200, 200, 200)),
        ("/admin/auth/", (ADMIN_LOGIN, 404, 404, 404, 200)),
        ("/admin/axes/", (ADMIN_LOGIN, 404, 404, 404, 404)),
        ("/admin/django_tasks_database/", (ADMIN_LOGIN, 404, 404, 404, 404)),
    ],
    "admin/(?P<url>.*)$": [
        ("/admin/no-such-page/", (ADMIN_LOGIN, 404, 404, 404, 404)),
    ],
}

# The writes, tried by everyone who may not make them: (URL, form data, and who is refused
# how; None for whoever may write, whose own path is tested with the workflow).
REFUSED_POSTS = [
    ("/review/{submission_jam}/accept/", {}, (LOGIN, 403, 403, 403, None)),
    ("/review/{submission_ken}/accept/", {"update_assessed": "on"}, (LOGIN, 403, 403, 403, None)),
    ("/review/{submission_jam}/return/", {"note": "Add the source."}, (LOGIN, 403, 403, 403, None)),
    ("/review/{submission_ken}/return/", {"note": "Add the source."}, (LOGIN, 403, 403, 403, None)),
    (
        "/my-state/JAM/SALW-06/",
        {"status": "implemented", "replaces": "{submission_jam}"},
        (LOGIN, None, 404, 403, 403),
    ),
    (
        "/my-state/KEN/SALW-06/",
        {"status": "implemented", "replaces": "{submission_ken}"},
        (LOGIN, 404, None, 404, 403),
    ),
    ("/my-state/JAM/upload/", {"file": "JAM"}, (LOGIN, None, 404, 403, 403)),
    ("/my-state/KEN/upload/", {"file": "KEN"}, (LOGIN, 404, None, 404, 403)),
    ("/my-state/JAM/upload/{upload_jam}/", {}, (LOGIN, None, 404, 403, 403)),
    ("/my-state/KEN/upload/{upload_ken}/", {}, (LOGIN, 404, None, 404, 403)),
    # Someone else's preview, as if confirmed: sent back to the upload page, nothing applied.
    ("/my-state/KEN/upload/{upload_jam}/", {}, (LOGIN, 404, 302, 404, 403)),
    ("/imports/ratings/", {"file": "JAM"}, (LOGIN, 403, 403, 403, None)),
    ("/imports/ratings/{bulk_upload}/", {}, (LOGIN, 403, 403, 403, None)),
    ("/states/JAM/snapshots/", {"label": "Refused"}, (LOGIN, 403, 404, 403, None)),
    ("/states/KEN/snapshots/", {"label": "Refused"}, (LOGIN, 404, 403, 404, None)),
    ("/api/v1/submissions/", {"state": "JAM", "measure": "SALW-04", "status": "largely"}, (401, None, 403, 403, 403)),
    ("/api/v1/submissions/", {"state": "KEN", "measure": "SALW-04", "status": "largely"}, (401, 403, None, 403, 403)),
]


def test_every_route_has_expectations():
    keys = list(dict.fromkeys(route_keys()))
    missing = [key for key in keys if key not in ROUTES]
    assert not missing, "Routes without expectations in ROUTES:\n" + "\n".join(missing)


def test_no_expectations_for_routes_that_are_gone():
    gone = set(ROUTES) - set(route_keys())
    assert not gone, "ROUTES names routes that no longer exist:\n" + "\n".join(sorted(gone))


def test_each_sample_url_reaches_its_route():
    # A sample that resolves to another route would leave its own route untested.
    wrong = []
    for key, samples in ROUTES.items():
        assert samples, f"{key} has no sample URL"
        for url, expected in samples:
            assert len(expected) == len(ROLES), url
            route = resolve(urlsplit(url.format_map(defaultdict(lambda: 1))).path).route
            # Django drops the "^" of an included regex when it joins the route.
            if route.replace("^", "") != key.replace("^", ""):
                wrong.append(f"{url} reaches {route!r}, not {key!r}")
    assert not wrong, "\n".join(wrong)


def mismatch(response, url, expected, role):
    """What is wrong with ``response`` to ``url`` for ``role``, or None."""
    if isinstance(expected, str):
        target = expected.removeprefix("→ ")
        location = urlsplit(response.get("Location", ""))
        if response.status_code != 302 or location.path != target:
            return f"{response.status_code} {response.get('Location', '')}, expected a redirect to {target}"
        if expected in (LOGIN, ADMIN_LOGIN) and parse_qs(location.query).get("next") != [url]:
            return f"redirects to {response['Location']}, which does not come back to {url}"
    elif response.status_code != expected:
        return f"{response.status_code}, expected {expected}"
    shown = [marker.decode() for marker in FORBIDDEN_MARKERS[role] if marker in response.content]
    if shown:
        return f"{response.status_code} shows {', '.join(shown)}"
    return None


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_the_rules_say(client, cast, objects, role):
    if role != "anonymous":
        client.force_login(cast[role])
    ids = ids_of(objects)
    wrong = []
    for key, samples in ROUTES.items():
        for template, expected in samples:
            url = template.format(**ids)
            problem = mismatch(client.get(url), url, expected[ROLES.index(role)], role)
            if problem:
                wrong.append(f"{key}  GET {template} ({url}): {problem}")
    assert not wrong, f"{len(wrong)} routes answer {role} otherwise than ROUTES says:\n" + "\n".join(wrong)


def everything_a_write_could_change():
    return (
        list(Submission.objects.order_by("pk").values_list("pk", "review", "status", "reviewed_by")),
        Submission.history.count(),
        list(Rating.objects.order_by("pk").values_list("pk", "status", "explanation", "set_at", "last_confirmed_at")),
        Rating.history.count(),
        list(Snapshot.objects.order_by("pk").values_list("pk", "label")),
        list(StagedUpload.objects.order_by("pk").values_list("pk", "uploaded_by")),
    )


def post_data(data, ids):
    """The form data with ids filled in, and a spreadsheet of the named State as ``file``."""
    filled = {name: value.format(**ids) for name, value in data.items()}
    if "file" in filled:
        iso3 = filled["file"]
        filled["file"] = csv_file(f"{iso3},SALW-04,Implemented,Refused upload")
    return filled


@pytest.mark.parametrize("role", ROLES)
def test_refused_writes_change_nothing(client, cast, objects, role):
    if role != "anonymous":
        client.force_login(cast[role])
    ids = ids_of(objects)
    before = everything_a_write_could_change()
    wrong = []
    for template, data, refusals in REFUSED_POSTS:
        expected = refusals[ROLES.index(role)]
        if expected is None:
            continue
        url = template.format(**ids)
        problem = mismatch(client.post(url, post_data(data, ids)), url, expected, role)
        if problem:
            wrong.append(f"POST {template} ({url}): {problem}")
    assert not wrong, f"{len(wrong)} writes answer {role} otherwise than REFUSED_POSTS says:\n" + "\n".join(wrong)
    assert everything_a_write_could_change() == before
