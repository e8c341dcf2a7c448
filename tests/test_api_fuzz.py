"""
Fuzzing the API from its own OpenAPI schema: schemathesis generates requests for every
operation (paths, filters, bodies) and checks each answer against the schema.

Driven through schemathesis's Python API inside an ordinary test: its pytest plugin
(``schemathesis.pytest.from_fixture``) fails under pytest 9.2 ("'Function' object has no
attribute '_nodeid'"). Requests go to Django's WSGI application in this process, on the
test database, as an analyst, a focal point and a coordinator, each with a token.

What it covers: every operation, with requests the schema allows (positive) and requests it refuses
(negative), under every schemathesis check but one (``EXCLUDED``, with its reason): no 500, every
status code and content type documented, every body as its schema says, and what the schema
refuses refused. Bounded: a few examples per operation and mode, so that it stays around a minute.
"""

import datetime as dt

import factories
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from implementation.models import Assessment, Confidentiality, Rating
from measures.models import Edition, Measure, Section

# None: every check schemathesis has (``--checks all``), including that what the schema refuses is refused
# and what it allows is accepted (each reader's schema lists the States they may name).
CHECKS = None
EXCLUDED = []
# A submission's rules across its fields (a justification when not applicable, a State the sender reports for, a
# measure of the current catalogue) are more than a schema says: a body the schema allows may still be a 400.
EXCLUDED_FOR = {"POST /api/v1/submissions/": [positive_data_acceptance]}
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
# Per operation, mode and user: few, so that the whole test (19 operations, two modes, three
# users) stays around a minute on a shared CI runner.
EXAMPLES = 5
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # Repeatable in CI: the same requests every run.
    derandomize=True,
    # The data is made once per test, not per example, on purpose: the requests only read,
    # or write submissions that later examples may meet, as clients would.
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def demo_like(world, analyst, focal_jam, focal_ken, coordinator):
    """A little of everything seed_demo makes: history, both kinds, shared and CTED-only records, a submission."""
    older = Edition.objects.create(code="2019", title="2019 edition", published_on=dt.date(2019, 6, 1))
    old_section = Section.objects.create(edition=older, code="B", title="SALW")
    old_marking = Measure.objects.create(
        edition=older, section=old_section, code="SALW-04", title="Marking", domain="salw", phase="upstream",
        legislative=True,
    )  # fmt: skip
    world["edition"].previous = older
    world["edition"].save()
    world["marking"].predecessor = old_marking
    world["marking"].save()
    shared = factories.assessment(
        state=world["jam"], kind=Assessment.Kind.COUNTRY_VISIT, conducted_on=dt.date(2024, 3, 1),
        confidentiality=Confidentiality.SHARED, status=Assessment.Status.FINAL, summary="DEMO — visit",
    )  # fmt: skip
    factories.assessment(state=world["jam"], conducted_on=dt.date(2025, 1, 5))
    steps = [Rating.Status.NO_INFORMATION, Rating.Status.NOT_IMPLEMENTED, Rating.Status.PARTIALLY]
    for year, status in enumerate(steps, start=2023):
        for key in ("jam", "tto", "ken"):
            for measure in ("marking", "records"):
                for kind in Rating.Kind:
                    factories.rating(
                        state=world[key], measure=world[measure], kind=kind, status=status, by=analyst,
                        at=dt.datetime(year, 6, 1, tzinfo=dt.UTC), reason=f"Review {year}",
                        explanation="=HYPERLINK(\"http://x\") — Décret n° 12", source_document="Firearms Act",
                        assessment=shared if key == "jam" and kind == Rating.Kind.ASSESSED else None,
                    )  # fmt: skip
    factories.rating(
        state=world["ken"], measure=world["records"], kind=Rating.Kind.SELF_REPORTED,
        status=Rating.Status.NOT_APPLICABLE, by=analyst, reason="No registry", justification="No civilian holdings",
    )  # fmt: skip
    factories.recommendation(
        state=world["jam"],
        text="DEMO — Mark on import",
        measures=[world["marking"], world["records"]],
        assessment=shared,
    )
    factories.submission(
        state=world["jam"], measure=world["marking"], by=focal_jam, status=Rating.Status.LARGELY,
        explanation="Regulation adopted",
    )  # fmt: skip
    return world


@pytest.fixture
def wsgi_app():
    # Django's test client does the same: a request must not close the connection that
    # holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def fuzz(app, user):
    """Every operation of the schema as ``user``; returns the failures as (operation, error) pairs."""
    # identity: the WSGI client would not un-gzip what GZipMiddleware compresses.
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}", "Accept-Encoding": "identity"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app, headers=headers)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        excluded = EXCLUDED_FOR.get(operation.label, EXCLUDED)
        for mode in MODES:

            @FUZZ_SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case):
                case.call_and_validate(headers=headers, checks=CHECKS, excluded_checks=excluded)  # noqa: B023 - run at once

            try:
                check()
            except Exception as error:  # noqa: BLE001 - every failure is collected and reported below
                failures.append((f"{operation.label} ({mode.value})", error))
    return failures


@pytest.mark.parametrize("who", ["analyst", "focal_jam", "coordinator"])
def test_every_operation_answers_as_its_schema_says(request, demo_like, wsgi_app, who):
    failures = fuzz(wsgi_app, request.getfixturevalue(who))
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures)


def test_the_fuzzer_reaches_every_operation(demo_like, analyst, wsgi_app):
    # A schema that lost its operations (or failed to load) would make the fuzz test pass vacuously.
    headers = {"Authorization": f"Token {Token.objects.create(user=analyst).key}", "Accept-Encoding": "identity"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app, headers=headers)
    labels = {result.ok().label for result in schema.get_all_operations()}
    assert {"GET /api/v1/ratings/", "GET /api/v1/rating-history/", "POST /api/v1/submissions/"} <= labels
    assert len(labels) == 19
