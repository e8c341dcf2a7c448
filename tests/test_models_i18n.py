"""
The data-entry side in other languages: model, field and choice names, the admin's own
texts, the sign-in pages and the error pages are all marked for translation, and the
catalogue's admins take the text of each language.

"Marked" is checked with a pseudo-translation: French is made to render every marked
string as ⟦…⟧, so that any text still in plain English on a page was not marked. Nothing
here needs the real catalogues (locale/), which translators fill in separately.
"""

import datetime as dt
import re
from html.parser import HTMLParser

import factories
import pytest
from django.conf import settings
from django.db import connection
from django.template import loader
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

from implementation.models import Assessment, Rating
from measures.models import Measure
from states.models import MemberState, Region, Role, Workshop

PASSWORD = "the right password 2370"


@pytest.fixture
def pseudo_french(monkeypatch):
    """French renders every marked string as ⟦string⟧ (without its context), other languages as usual."""
    gettext, ngettext = trans_real.DjangoTranslation.gettext, trans_real.DjangoTranslation.ngettext

    def marked(message):
        return "⟦" + message.split(trans_real.CONTEXT_SEPARATOR)[-1] + "⟧"

    def pseudo_gettext(self, message):
        return marked(message) if self.language() == "fr" else gettext(self, message)

    def pseudo_ngettext(self, singular, plural, number):
        if self.language() != "fr":
            return ngettext(self, singular, plural, number)
        return marked(singular if number == 1 else plural)

    monkeypatch.setattr(trans_real.DjangoTranslation, "gettext", pseudo_gettext)
    monkeypatch.setattr(trans_real.DjangoTranslation, "ngettext", pseudo_ngettext)


class _Texts(HTMLParser):
    """Each text of a page with the tags (and their attributes) it sits in."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.texts = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in ("input", "br", "meta", "link", "img", "hr", "rect", "path", "use", "circle"):
            self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if data.strip():
            self.texts.append((data.strip(), list(self.stack)))


def texts(html, inside):
    """The texts of ``html`` within an element for which ``inside(tag, attrs)`` is true."""
    parser = _Texts()
    parser.feed(html)
    return [text for text, stack in parser.texts if any(inside(tag, attrs) for tag, attrs in stack)]


def unmarked(strings):
    # Django's own label suffix ("⟦:⟧") is not enough to count a label as marked.
    return [s for s in strings if "⟦" not in s.replace("⟦:⟧", "")]


def in_main(tag, attrs):
    return tag == "main"


# Models, fields and choices


def test_choice_labels_model_and_field_names_follow_the_language_they_are_read_in(pseudo_french):
    with translation.override("fr"):
        assert str(Rating.Status.PARTIALLY.label) == "⟦Partially implemented⟧"
        assert str(Measure.Domain.SALW.label) == "⟦Small arms and light weapons⟧"
        assert str(MemberState._meta.verbose_name_plural) == "⟦Member States⟧"
        assert str(Rating._meta.get_field("state").verbose_name) == "⟦state⟧"
        assert str(Rating._meta.get_field("source_reference").help_text) == "⟦Where in the document, e.g. 's. 12(3)'.⟧"
    # Read again in English: nothing was fixed in the first language used.
    assert Rating.Status.PARTIALLY.label == "Partially implemented"
    assert MemberState._meta.verbose_name_plural == "Member States"


def test_every_model_of_the_tracker_has_translated_names_and_field_labels(pseudo_french):
    from django.apps import apps

    missing = []
    with translation.override("fr"):
        for app in ("states", "measures", "implementation"):
            for model in apps.get_app_config(app).get_models():
                if model._meta.model_name.startswith("historical") or model._meta.model_name == "preference":
                    continue
                for name in ("verbose_name", "verbose_name_plural"):
                    if "⟦" not in str(getattr(model._meta, name)):
                        missing.append(f"{model.__name__}.{name}")
                for field in model._meta.get_fields():
                    # Reverse relations and modeltranslation's per-language copies (labelled
                    # "<label> [fr]" from the original's label) are not fields of their own.
                    if not field.concrete or field.auto_created or hasattr(field, "translated_field"):
                        continue
                    if "⟦" not in str(field.verbose_name):
                        missing.append(f"{model.__name__}.{field.name}")
                    if field.help_text and "⟦" not in str(field.help_text):
                        missing.append(f"{model.__name__}.{field.name}.help_text")
                    for value, label in field.flatchoices if field.choices else ():
                        if "⟦" not in str(label):
                            missing.append(f"{model.__name__}.{field.name}={value}")
    assert missing == []


def test_a_status_abbreviation_reads_in_the_language_it_is_shown_in(pseudo_french):
    # Dashboards keep the abbreviations in module-level legends: they must stay lazy.
    implemented = Rating.Status.IMPLEMENTED
    assert str(implemented.abbreviation) == "I"
    with translation.override("fr"):
        assert str(implemented.abbreviation) == "⟦I⟧"
    assert str(implemented.abbreviation) == "I"


def test_capacities_are_labelled_in_the_active_language(pseudo_french, world):
    marking = world["marking"]
    assert marking.capacities == ["Legislative", "Operational"]
    with translation.override("fr"):
        assert marking.capacities == ["⟦Legislative⟧", "⟦Operational⟧"]


def test_a_constraint_message_comes_in_the_readers_language(pseudo_french, world):
    workshop = Workshop(
        region=world["caribbean"], title="Late", starts_on=dt.date(2024, 5, 2), ends_on=dt.date(2024, 5, 1)
    )
    with translation.override("fr"), pytest.raises(Exception) as error:
        workshop.full_clean()
    assert "⟦A workshop cannot end before it starts.⟧" in str(error.value)


def test_a_records_name_has_its_date_in_the_readers_language(world, analyst):
    # No catalogue of ours is needed: month names come from Django's own.
    visit = factories.assessment(
        state=world["jam"], kind=Assessment.Kind.COUNTRY_VISIT, conducted_on=dt.date(2024, 5, 1), author=analyst
    )
    assert str(visit) == "Country visit of Jamaica, 01 May 2024"
    with translation.override("fr"):
        visit.conducted_on = dt.date(2024, 2, 1)
        assert str(visit).endswith(", 01 Fév 2024")
    with translation.override("ar"):
        # Arabic separates with its own comma.
        assert str(visit).endswith("، 01 فبراير 2024")


def test_a_roles_name_is_one_translated_sentence(pseudo_french, focal_jam, world):
    role = Role.objects.get(user=focal_jam)
    assert str(role) == "jo — main focal point for Jamaica"
    with translation.override("fr"):
        assert str(role) == "⟦jo — main focal point for Jamaica⟧"


# Sign-in pages


def test_the_login_page_is_marked_throughout(client, db, pseudo_french):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr")
    html = response.content.decode()
    assert '<html lang="fr"' in html
    assert unmarked(texts(html, in_main)) == []
    assert "⟦Code from your authenticator app⟧" in html
    assert "⟦Only if you have set up two-factor sign-in.⟧" in html
    # Django's own labels, which its French catalogue already translates.
    assert "⟦Log in⟧ · ⟦SCR 2370 implementation tracker⟧" in html


def test_the_login_errors_are_marked(client, focal_jam, pseudo_french):
    response = client.post("/accounts/login/", {"username": "jo", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    errors = texts(response.content.decode(), lambda tag, attrs: attrs.get("class") == "error")
    assert errors and unmarked(errors) == []


def test_the_otp_error_is_marked(client, focal_jam, pseudo_french):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    focal_jam.set_password(PASSWORD)
    focal_jam.save()
    TOTPDevice.objects.create(user=focal_jam, name="phone", confirmed=True)
    response = client.post("/accounts/login/", {"username": "jo", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="fr")
    html = response.content.decode()
    assert "⟦Enter the current six-digit code from your authenticator app.⟧" in html
    assert unmarked(texts(html, in_main)) == []


def test_the_lockout_page_is_marked_and_counts_in_words(client, analyst, pseudo_french):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "ana", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 429
    html = response.content.decode()
    assert unmarked(texts(html, in_main)) == []
    assert f"⟦There were {settings.AXES_FAILURE_LIMIT} failed attempts in a row" in html


def test_the_lockout_page_says_how_long_in_minutes(client, analyst):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "ana", "password": "wrong"})
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"It unlocks by itself after {minutes} minutes." in response.content.decode()


def test_the_two_factor_pages_are_marked(client, focal_jam, pseudo_french):
    client.force_login(focal_jam)
    html = client.get("/accounts/two-factor/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    # The key to type (base32, in groups of four) is data, not text.
    words = [text for text in texts(html, in_main) if not re.fullmatch(r"[A-Z2-7 ]+", text)]
    assert words and unmarked(words) == []
    assert "⟦QR code for your authenticator app⟧" in html


def test_the_two_factor_requirement_message_is_marked(client, settings, analyst, pseudo_french):
    settings.REQUIRE_TWO_FACTOR_FOR_ANALYSTS = True
    client.force_login(analyst)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr", follow=True)
    assert "⟦Your role requires two-factor sign-in: set it up to continue.⟧" in response.content.decode()


# Error pages


@pytest.mark.parametrize("template", ["403.html", "404.html", "500.html", "503.html"])
def test_the_error_pages_are_marked_and_in_the_readers_language(template, rf, db, pseudo_french):
    request = rf.get("/")
    with translation.override("fr"):
        html = loader.render_to_string(template, request=request if template[0] == "4" else None)
    assert '<html lang="fr"' in html
    assert texts(html, in_main) and unmarked(texts(html, in_main)) == []


def test_the_server_error_page_is_right_to_left_in_arabic(db):
    with translation.override("ar"):
        assert '<html lang="ar" dir="rtl">' in loader.render_to_string("503.html")


def test_a_page_not_found_is_marked(client, focal_jam, pseudo_french):
    client.force_login(focal_jam)
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 404
    assert unmarked(texts(response.content.decode(), in_main)) == []


# The admin


def admin_url(name, *args):
    return reverse(f"admin:{name}", args=args)


def column_headers(html):
    # Without the numbers that show the sorting order of columns.
    headers = texts(html, lambda tag, attrs: tag == "th" and attrs.get("scope") == "col")
    return [header for header in headers if not header.isdigit()]


ADMIN_LISTS = [
    "states_memberstate",
    "states_region",
    "states_workshop",
    "states_role",
    "measures_edition",
    "measures_section",
    "measures_instrument",
    "measures_measure",
    "implementation_rating",
    "implementation_assessment",
    "implementation_recommendation",
    "implementation_assistanceneed",
    "implementation_confidentialnote",
    "implementation_submission",
    "implementation_snapshot",
]


@pytest.mark.parametrize("name", ADMIN_LISTS)
def test_every_admin_list_and_form_of_the_tracker_is_labelled_in_the_readers_language(
    client, analyst, ratings, name, pseudo_french
):
    client.force_login(analyst)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    listing = client.get(admin_url(f"{name}_changelist")).content.decode()
    assert column_headers(listing) and unmarked(column_headers(listing)) == []
    # Filter titles, e.g. "⟦By ⟦region⟧⟧": Django's words around ours.
    filters = texts(listing, lambda tag, attrs: tag == "summary")
    assert [title for title in filters if title.count("⟦") < 2] == []

    add = client.get(admin_url(f"{name}_add"))
    if name in ("implementation_submission", "implementation_snapshot"):
        # Made through their own pages: the admin only lists them.
        assert add.status_code == 403
        return
    form = add.content.decode()
    labels = texts(form, lambda tag, attrs: tag == "label" or (tag == "th" and "column-" in attrs.get("class", "")))
    helps = texts(form, lambda tag, attrs: "help" in attrs.get("class", "").split())
    headings = texts(form, lambda tag, attrs: tag == "h2" and "fieldset-heading" in attrs.get("class", ""))
    assert labels and unmarked(labels + helps + headings) == []


def test_the_admins_own_texts_are_marked(client, analyst, ratings, world, pseudo_french):
    client.force_login(analyst)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    state = client.get(admin_url("states_memberstate_change", world["jam"].pk)).content.decode()
    assert "⟦SCR 2370 implementation tracker⟧" in state
    assert "⟦Latest 25 ratings set (open a rating to change it)⟧" in state
    assert "⟦Open all 2 ratings of Jamaica⟧" in state
    assert "⟦CTED assessment⟧: ⟦1 ⟦partially implemented⟧⟧" in state
    rating = ratings["jam", Rating.Kind.SELF_REPORTED]
    page = client.get(admin_url("implementation_rating_change", rating.pk)).content.decode()
    assert "⟦Reason for this change⟧" in page and "⟦This change⟧" in page
    listing = client.get(admin_url("implementation_rating_changelist")).content.decode()
    assert "⟦Import assessed ratings⟧" in listing
    assert "⟦self-report and assessment⟧" in listing and "⟦Only one of the two⟧" in listing
    # The same page in English afterwards: nothing kept from the French one.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    state = client.get(admin_url("states_memberstate_change", world["jam"].pk)).content.decode()
    assert "Latest 25 ratings set (open a rating to change it)" in state and "⟦" not in state


def test_a_state_with_one_rating_links_to_it_in_the_singular(client, analyst, world):
    factories.rating_without_history(state=world["fra"], measure=world["marking"], kind=Rating.Kind.ASSESSED)
    client.force_login(analyst)
    page = client.get(admin_url("states_memberstate_change", world["fra"].pk)).content.decode()
    assert "Open the 1 rating of France" in page


def test_the_hand_over_page_is_marked(client, analyst, focal_jam, pseudo_french, django_user_model):
    django_user_model.objects.create_user("successor", password="not-used", is_staff=True)
    role = Role.objects.get(user=focal_jam)
    client.force_login(analyst)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = client.post(admin_url("states_role_changelist"), {"action": "hand_over", "_selected_action": [role.pk]})
    html = response.content.decode()
    paragraph = texts(html, lambda tag, attrs: tag == "p")
    assert "⟦jo stops reporting for Jamaica." in html
    assert [text for text in paragraph if "stops reporting" in text and "⟦" not in text] == []
    assert unmarked(texts(html, lambda tag, attrs: tag == "label")) == []
    assert 'value="⟦Hand over⟧"' in html
    assert "⟦Hand over: ⟦jo — main focal point for Jamaica⟧⟧" in html


def test_ratings_set_in_an_assessment_keep_an_english_reason_whoever_saves(client, analyst, world, pseudo_french):
    client.force_login(analyst)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = client.post(
        admin_url("implementation_assessment_add"),
        {
            "state": world["jam"].pk,
            "kind": "country_visit",
            "conducted_on": "2024-05-01",
            "status": "draft",
            "confidentiality": "cted_only",
            "author": analyst.pk,
            "summary": "",
            "ratings-TOTAL_FORMS": "1",
            "ratings-INITIAL_FORMS": "0",
            "ratings-0-measure": world["marking"].pk,
            "ratings-0-status": "implemented",
            "ratings-0-explanation": "In force.",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    # The reason is stored and read by everyone later: it is in English, not in the saver's language,
    # and it does not name the assessment, which some of its readers may not read.
    reason = Rating.history.get().history_change_reason
    assert reason == "Set in an assessment"


# The catalogue's admins, one input per language


@pytest.fixture
def measure_form(world):
    marking = world["marking"]
    return {
        "edition": world["edition"].pk,
        "section": world["section"].pk,
        "code": marking.code,
        "title_en": marking.title,
        "title_fr": "Marquage unique lors de la fabrication et de l'importation",
        "title_es": "",
        "title_ar": "وسم فريد عند الصنع والاستيراد",
        "description_en": "",
        "description_fr": "",
        "description_es": "",
        "description_ar": "",
        "position": "0",
        "domain": "salw",
        "phase": "upstream",
        "legislative": "on",
        "operational": "on",
        "basis": "",
        "_save": "Save",
    }


def test_an_analyst_edits_the_french_title_of_a_measure(client, analyst, world, measure_form):
    client.force_login(analyst)
    marking = world["marking"]
    url = admin_url("measures_measure_change", marking.pk)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for code in ("en", "fr", "es", "ar"):
        assert f'name="title_{code}"' in html
    # Each input says its language; Arabic is typed right to left even on an English page.
    assert re.search(r'<input[^>]*name="title_ar"[^>]*>', html).group(0).count('dir="rtl"') == 1
    assert 'lang="ar"' in re.search(r'<input[^>]*name="title_ar"[^>]*>', html).group(0)
    assert 'dir="ltr"' in re.search(r'<input[^>]*name="title_fr"[^>]*>', html).group(0)
    assert 'name="title"' not in html

    response = client.post(url, measure_form)
    assert response.status_code == 302, response.content.decode()[:3000]
    marking = Measure.objects.get(pk=marking.pk)
    assert marking.title_fr == measure_form["title_fr"]
    assert marking.title_en == "Unique marking at manufacture and on import"
    with translation.override("fr"):
        assert Measure.objects.get(pk=marking.pk).title == measure_form["title_fr"]
    with translation.override("es"):
        # No Spanish yet: English stands in.
        assert Measure.objects.get(pk=marking.pk).title == "Unique marking at manufacture and on import"
    # The change is in the measure's history, which follows the English text.
    assert marking.history.count() == 2


def test_the_english_title_is_required_the_others_are_not(client, analyst, world, measure_form):
    client.force_login(analyst)
    response = client.post(admin_url("measures_measure_change", world["marking"].pk), {**measure_form, "title_en": ""})
    assert response.status_code == 200
    assert "title_en" in response.context["adminform"].form.errors
    assert Measure.objects.get(pk=world["marking"].pk).title_en == "Unique marking at manufacture and on import"


def test_a_measures_change_page_and_past_version_render_in_every_language(client, analyst, world, measure_form):
    client.force_login(analyst)
    marking = world["marking"]
    client.post(admin_url("measures_measure_change", marking.pk), measure_form)
    first = marking.history.order_by("history_id").first()
    for code, _name in settings.LANGUAGES:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
        assert client.get(admin_url("measures_measure_change", marking.pk)).status_code == 200, code
        assert client.get(admin_url("measures_measure_history", marking.pk)).status_code == 200, code
        past = client.get(admin_url("measures_measure_simple_history", marking.pk, first.history_id))
        assert past.status_code == 200, code


def test_a_focal_point_reads_the_measure_page_without_inputs(client, focal_jam, world):
    client.force_login(focal_jam)
    response = client.get(admin_url("measures_measure_change", world["marking"].pk))
    assert response.status_code == 200
    assert 'name="title_fr"' not in response.content.decode()


def test_sections_are_edited_inline_in_every_language(client, analyst, world):
    client.force_login(analyst)
    html = client.get(admin_url("measures_edition_change", world["edition"].pk)).content.decode()
    for code in ("en", "fr", "es", "ar"):
        assert f'name="sections-0-title_{code}"' in html
        assert f'name="title_{code}"' in html  # the edition's own title


def test_the_catalogue_search_finds_a_title_in_any_language(client, analyst, world, django_assert_num_queries):
    Measure.objects.filter(pk=world["marking"].pk).update(title_fr="Marquage unique")
    MemberState.objects.filter(pk=world["jam"].pk).update(name_es="Jamaica (es)", name_fr="Jamaïque")
    client.force_login(analyst)
    for language in ("en", "fr"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        found = client.get(admin_url("measures_measure_changelist"), {"q": "marquage"}).context["cl"].result_list
        assert [m.code for m in found] == ["SALW-04"], language
        found = client.get(admin_url("measures_measure_changelist"), {"q": "unique marking"}).context["cl"]
        assert [m.code for m in found.result_list] == ["SALW-04"], language
        states = client.get(admin_url("states_memberstate_changelist"), {"q": "jamaïque"}).context["cl"]
        assert [s.iso3 for s in states.result_list] == ["JAM"], language


def test_a_region_is_added_with_its_names_in_every_language(client, analyst, world):
    client.force_login(analyst)
    response = client.post(
        admin_url("states_region_add"),
        {
            "name_en": "Sahel",
            "name_fr": "Sahel (fr)",
            "name_ar": "الساحل",
            "name_es": "",
            "slug": "sahel",
            "kind": "workshop",
            "description": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with translation.override("ar"):
        assert Region.objects.get(slug="sahel").name == "الساحل"
    with translation.override("es"):
        assert Region.objects.get(slug="sahel").name == "Sahel"


def test_the_admin_costs_no_more_queries_in_another_language(client, analyst, ratings, world):
    client.force_login(analyst)
    for name, args in [
        ("measures_measure_changelist", ()),
        ("measures_measure_change", (world["marking"].pk,)),
        ("implementation_rating_changelist", ()),
        ("states_memberstate_change", (world["jam"].pk,)),
    ]:
        url = admin_url(name, *args)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        client.get(url)
        with CaptureQueriesContext(connection) as english:
            client.get(url)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
        client.get(url)
        with CaptureQueriesContext(connection) as arabic:
            assert client.get(url).status_code == 200
        assert len(arabic) == len(english), name
