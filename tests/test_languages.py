"""
Languages: which language a page comes out in (the reader's stored choice, the language
cookie, the browser's Accept-Language), the switch that stores the choice, right-to-left
Arabic, and the catalogue, State and region names shipped in French, Spanish and Arabic.
"""

import json
import shutil

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Preference
from core.loading import ReferenceDataError
from implementation.editions import create_edition
from measures.models import Edition, Instrument, Measure, Section
from measures.services import DATA_DIR as CATALOGUE_DIR
from measures.services import load_catalogue
from states.models import MemberState, Region, Workshop
from states.services import DATA_DIR as STATES_DIR

OTHER_LANGUAGES = ("fr", "es", "ar")
PASSWORD = "a long enough pass phrase 2370"


def page(response):
    return response.content.decode()


# Which language


@pytest.mark.parametrize(
    ("accept", "lang", "direction"),
    [("fr", "fr", "ltr"), ("es-419,es;q=0.9", "es", "ltr"), ("ar-MA,ar;q=0.9", "ar", "rtl"), ("de", "en", "ltr")],
)
def test_the_first_visit_follows_accept_language(client, db, accept, lang, direction):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 200
    assert f'<html lang="{lang}" dir="{direction}">' in page(response)
    assert response["Content-Language"] == lang
    assert "Accept-Language" in response["Vary"]


def test_the_language_cookie_wins_over_the_browser(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    html = page(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr"))
    assert '<html lang="ar" dir="rtl">' in html


def test_the_switcher_lists_every_language_in_its_own_name_and_marks_the_current_one(client, db):
    html = page(client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="es"))
    for code, name in [("en", "English"), ("fr", "Français"), ("es", "Español"), ("ar", "العربيّة")]:
        current = ' aria-current="true"' if code == "es" else ""
        assert f'name="language" value="{code}" lang="{code}"{current}>{name}</button>' in html


# The switch


def test_switching_sets_the_cookie_and_goes_back_to_the_page(client, db):
    response = client.post("/accounts/language/", {"language": "fr", "next": "/accounts/login/?next=/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert '<html lang="fr"' in page(client.get("/accounts/login/"))
    # An anonymous visitor's choice lives in the cookie only.
    assert not Preference.objects.exists()


def test_switching_never_redirects_off_the_site(client, db):
    response = client.post("/accounts/language/", {"language": "fr", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("language", ["de", "", "fr-XX"])
def test_an_unknown_language_is_refused_and_changes_nothing(client, focal_jam, language):
    client.force_login(focal_jam)
    response = client.post("/accounts/language/", {"language": language, "next": "/"})
    assert response.status_code == 400
    assert "Unknown language" in page(response)
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert not Preference.objects.exists()


def test_the_switch_does_not_answer_get(client, focal_jam):
    client.force_login(focal_jam)
    assert client.get("/accounts/language/?language=fr").status_code == 405
    assert not Preference.objects.exists()


def test_a_signed_in_choice_is_stored_and_comes_back_at_the_next_sign_in_elsewhere(
    client, focal_jam, django_user_model
):
    focal_jam.set_password(PASSWORD)
    focal_jam.save()
    client.force_login(focal_jam)
    client.post("/accounts/language/", {"language": "ar", "next": "/"})
    client.post("/accounts/language/", {"language": "es", "next": "/"})
    assert Preference.language_of(focal_jam) == "es"
    assert Preference.objects.filter(user=focal_jam).count() == 1

    # Another device: no cookie, a French browser.
    other = client.__class__()
    response = other.post(
        "/accounts/login/", {"username": focal_jam.username, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert '<html lang="es"' in page(other.get("/", HTTP_ACCEPT_LANGUAGE="fr"))


def test_signing_in_without_a_stored_choice_keeps_the_browser_language(client, focal_jam):
    focal_jam.set_password(PASSWORD)
    focal_jam.save()
    response = client.post(
        "/accounts/login/", {"username": focal_jam.username, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert '<html lang="fr"' in page(client.get("/", HTTP_ACCEPT_LANGUAGE="fr"))


def test_the_language_adds_no_query(client, focal_jam, django_assert_num_queries):
    client.force_login(focal_jam)
    client.get("/my-state/")
    with CaptureQueriesContext(connection) as english:
        client.get("/my-state/")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    with django_assert_num_queries(len(english)):
        response = client.get("/my-state/")
    assert '<html lang="ar" dir="rtl">' in page(response)


# The catalogue and the names in every language


def _translations(stem):
    return {code: json.loads((CATALOGUE_DIR / f"{stem}.{code}.json").read_text()) for code in OTHER_LANGUAGES}


def test_the_shipped_catalogue_is_translated_in_full():
    catalogue = json.loads((CATALOGUE_DIR / "catalogue.json").read_text())
    edition = catalogue["edition"]
    sections = {section["code"] for section in edition["sections"]}
    measures = {measure["code"] for section in edition["sections"] for measure in section["measures"]}
    instruments = {instrument["code"] for instrument in catalogue["instruments"]}
    for code, data in _translations("catalogue").items():
        assert data["language"] == code
        assert set(data["sections"]) == sections, code
        assert set(data["measures"]) == measures, code
        assert set(data["instruments"]) == instruments, code
        texts = [data["edition"]["title"], data["edition"]["provenance"], *data["sections"].values()]
        texts += [*data["instruments"].values()]
        texts += [text for measure in data["measures"].values() for text in (measure["title"], measure["description"])]
        assert all(isinstance(text, str) and text.strip() for text in texts), code
        english = {m["code"]: m["title"] for s in edition["sections"] for m in s["measures"]}
        untranslated = [c for c, measure in data["measures"].items() if measure["title"] == english[c]]
        assert not untranslated, f"{code}: titles left in English: {untranslated}"


def test_the_shipped_names_cover_every_state_region_and_workshop():
    names = json.loads((STATES_DIR / "names.i18n.json").read_text())
    iso3s = {line.split(",")[0] for line in (STATES_DIR / "member_states.csv").read_text().splitlines()[1:]}
    regions = json.loads((STATES_DIR / "regions.json").read_text())["regions"]
    assert set(names["member_states"]) == iso3s
    assert set(names["regions"]) == {region["slug"] for region in regions}
    assert set(names["workshops"]) == {w["title"] for region in regions for w in region.get("workshops", [])}
    for part in ("member_states", "regions", "workshops"):
        for key, translated in names[part].items():
            assert set(translated) == set(OTHER_LANGUAGES), (part, key)
            assert all(name.strip() for name in translated.values()), (part, key)


@pytest.mark.django_db
def test_loading_fills_every_language_and_a_page_reads_its_own():
    call_command("load_reference_data", verbosity=0)
    french = _translations("catalogue")["fr"]
    measure = Measure.objects.get(code="GOV-01")
    assert measure.title_fr == french["measures"]["GOV-01"]["title"]
    assert measure.title_en == measure.title  # read in English
    with translation.override("ar"):
        measure = Measure.objects.get(code="GOV-01")
        assert measure.title == _translations("catalogue")["ar"]["measures"]["GOV-01"]["title"]
        assert MemberState.objects.get(iso3="JAM").name == "جامايكا"
        assert Region.objects.get(slug="caribbean").name == "منطقة البحر الكاريبي"
        assert Section.objects.get(code="A").title == _translations("catalogue")["ar"]["sections"]["A"]
        assert Instrument.objects.get(code="ATT").name == _translations("catalogue")["ar"]["instruments"]["ATT"]
    with translation.override("es"):
        assert Workshop.objects.get(region__slug="caribbean").title.startswith("Taller regional")
    # A second load finds nothing to change, so history does not grow.
    history = Measure.history.count()
    call_command("load_reference_data", verbosity=0)
    assert Measure.history.count() == history


@pytest.fixture
def catalogue_copy(tmp_path):
    for name in ("catalogue.json", *(f"catalogue.{code}.json" for code in OTHER_LANGUAGES)):
        shutil.copy(CATALOGUE_DIR / name, tmp_path / name)
    return tmp_path


@pytest.mark.django_db
def test_a_missing_translation_reads_as_english(catalogue_copy):
    path = catalogue_copy / "catalogue.fr.json"
    data = json.loads(path.read_text())
    del data["measures"]["GOV-01"]
    path.write_text(json.dumps(data, ensure_ascii=False))
    load_catalogue(catalogue_copy / "catalogue.json")
    with translation.override("fr"):
        measure = Measure.objects.get(code="GOV-01")
        assert measure.title.startswith("National strategy")
        assert Measure.objects.filter(code="GOV-01").values_list("title", flat=True).get().startswith("National")
        assert Measure.objects.get(code="GOV-02").title == data["measures"]["GOV-02"]["title"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda data: data["measures"].update({"NOPE-01": {"title": "x"}}), "measures: NOPE-01 is not in the English"),
        (lambda data: data["sections"].update({"Z": "x"}), "sections: Z is not in the English"),
        (lambda data: data.update(language="es"), "field language: 'es' should be 'fr'"),
        (lambda data: data["measures"]["GOV-01"].update(summary="x"), "measure GOV-01: unknown field summary"),
        (lambda data: data.update(measures=[]), "measures: expected an object keyed by code"),
    ],
)
def test_a_bad_translation_file_stops_the_load_naming_the_file_and_entry(catalogue_copy, change, message):
    path = catalogue_copy / "catalogue.fr.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False))
    with pytest.raises(ReferenceDataError, match="catalogue") as error:
        load_catalogue(catalogue_copy / "catalogue.json")
    assert message in str(error.value)
    assert not Measure.objects.exists()


def test_a_new_edition_keeps_every_translation(world, analyst):
    marking = world["marking"]
    Measure.objects.filter(pk=marking.pk).update(title_fr="Marquage unique", title_ar="وسم فريد")
    Section.objects.filter(pk=world["section"].pk).update(title_es="Control de las armas pequeñas")
    edition = create_edition(previous=Edition.objects.current(), code="next", title="Next", by=analyst)
    copy = edition.measures.get(code="SALW-04")
    assert (copy.title_en, copy.title_fr, copy.title_ar) == (marking.title, "Marquage unique", "وسم فريد")
    assert edition.sections.get().title_es == "Control de las armas pequeñas"
