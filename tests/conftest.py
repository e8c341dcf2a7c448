"""
The cast shared by every test, on a small world built in memory rather than from
the reference files (tests of the reference data load those themselves).

States: Jamaica and Trinidad and Tobago (Caribbean), Kenya (East Africa), France.
Catalogue: one current edition, one section, two measures.
"""

import datetime as dt
import os

import background
import factories
import pytest
import redis_server
from django.contrib.auth import get_user_model
from django.core.cache import cache, caches
from django.utils import translation

from implementation.models import Rating
from measures.models import Edition, Measure, Section
from states.models import Region, Role

User = get_user_model()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The cast is created with passwords, and Django's default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    # Each test's database starts again from the same ids, so a dashboard's key could repeat another test's.
    cache.clear()


@pytest.fixture(autouse=True)
def english_to_start_with():
    # A request leaves its language active in the thread (LocaleMiddleware does not undo it),
    # and the test client runs requests in the test's thread: each test starts in English,
    # as a fresh worker process would, so that fixtures write the English texts.
    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture
def world(db):
    """Four States, two regions and a two-measure catalogue."""
    caribbean = Region.objects.create(slug="caribbean", name="Caribbean", kind=Region.Kind.WORKSHOP)
    east_africa = Region.objects.create(slug="east-africa", name="East Africa", kind=Region.Kind.WORKSHOP)
    americas = dict(m49_region="Americas", m49_subregion="Caribbean")
    jam = factories.member_state(iso3="JAM", iso2="JM", m49="388", name="Jamaica", region=caribbean, **americas)
    tto = factories.member_state(
        iso3="TTO", iso2="TT", m49="780", name="Trinidad and Tobago", region=caribbean, **americas
    )
    ken = factories.member_state(
        iso3="KEN", iso2="KE", m49="404", name="Kenya", region=east_africa, m49_region="Africa",
        m49_subregion="Eastern Africa",
    )  # fmt: skip
    fra = factories.member_state(
        iso3="FRA", iso2="FR", m49="250", name="France", m49_region="Europe", m49_subregion="Western Europe"
    )
    edition = Edition.objects.create(code="test", title="Test edition", is_current=True)
    section = Section.objects.create(edition=edition, code="B", title="SALW controls")
    marking = Measure.objects.create(
        edition=edition,
        section=section,
        code="SALW-04",
        title="Unique marking at manufacture and on import",
        domain=Measure.Domain.SALW,
        phase=Measure.Phase.UPSTREAM,
        legislative=True,
        operational=True,
    )
    records = Measure.objects.create(
        edition=edition,
        section=section,
        code="SALW-06",
        title="Record-keeping and central registry",
        domain=Measure.Domain.SALW,
        phase=Measure.Phase.UPSTREAM,
        legislative=True,
        position=1,
    )
    return dict(
        jam=jam, tto=tto, ken=ken, fra=fra, caribbean=caribbean, east_africa=east_africa, marking=marking,
        records=records, edition=edition, section=section,
    )  # fmt: skip


@pytest.fixture
def admin_user(db):
    # Administrator: a superuser, sees and writes everything.
    return User.objects.create_superuser("root", password="not-used")


@pytest.fixture
def analyst(world):
    # CTED analyst: reads and writes every State.
    return factories.user(username="ana", role=Role.Kind.ANALYST)


@pytest.fixture
def focal_jam(world):
    # Main focal point for Jamaica: reads Jamaica, reports on it through submissions an analyst reviews.
    return factories.user(username="jo", role=Role.Kind.FOCAL_POINT, state=world["jam"])


@pytest.fixture
def focal_ken(world):
    # Main focal point for Kenya.
    return factories.user(username="kip", role=Role.Kind.FOCAL_POINT, state=world["ken"])


@pytest.fixture
def coordinator(world):
    # Coordinator for the Caribbean: reads Jamaica and Trinidad and Tobago, writes nothing.
    return factories.user(username="cora", role=Role.Kind.COORDINATOR, region=world["caribbean"])


@pytest.fixture
def nobody(world):
    # Staff account with no role: sees no State.
    return factories.user(username="nemo")


@pytest.fixture
def ratings(world, analyst):
    """Both ratings of SALW-04 for Jamaica and for Kenya, set in 2024."""
    at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    made = {}
    for key in ("jam", "ken"):
        for kind in Rating.Kind:
            made[key, kind] = factories.rating(
                state=world[key], measure=world["marking"], kind=kind, by=analyst, reason="Initial rating", at=at,
                status=Rating.Status.PARTIALLY, explanation="Marking law adopted; import marking not yet enforced.",
                source_document="Firearms Act",
            )  # fmt: skip
    return made


# M49 codes of States the cast does not use: Uganda, Tanzania, Rwanda, Burundi, Ethiopia, Djibouti, Eritrea,
# Somalia, Madagascar, Comoros.
_SPARE_M49 = ["800", "834", "646", "108", "231", "262", "232", "706", "450", "174"]


@pytest.fixture
def add_rated_states(world, analyst):
    """
    A factory: ``add_rated_states("caribbean", 2)`` adds two Member States to the region,
    each assessed "partially implemented" on SALW-04 in 2024 (``status``, ``measures`` and
    ``needs`` change that), and returns them. For totals that count enough States hidden
    from a reader to be shown (states.models.withholds_total).
    """
    made = []

    def add(region_key, count, *, status=Rating.Status.PARTIALLY, measures=("marking",), needs=0):
        at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
        for _ in range(count):
            number = len(made)
            state = factories.member_state(
                iso3=f"X{chr(65 + number // 26)}{chr(65 + number % 26)}",
                iso2=f"{'XY'[number // 26]}{chr(65 + number % 26)}",
                m49=_SPARE_M49[number],  # real codes, so that the world map has their shapes
                name=f"Other State {number:02}",
                region=world[region_key],
            )
            for measure in measures:
                factories.rating(state=state, measure=world[measure], by=analyst, reason="test", at=at, status=status)
            for _ in range(needs):
                factories.assistance_need(state=state)
            made.append(state)
        return made[-count:] if count else []

    return add


@pytest.fixture
def run_tasks(db):
    """``run_tasks()``: runs the queued background tasks, as a worker would (see background.py)."""
    return background.run_tasks


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis this run may write to: CI's ``TEST_REDIS_URL``, or one started for the run (tests/redis_server.py)."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    server = redis_server.RedisServer(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture
def redis_cache(redis_url, settings):
    """The default cache, on the run's Redis as the settings would configure it, with keys no other test shares."""
    settings.CACHES = redis_server.cache_settings(redis_url)
    return caches["default"]


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``postgres`` unless the test database is PostgreSQL."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)
