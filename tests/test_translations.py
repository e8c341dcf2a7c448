"""
The French, Spanish and Arabic catalogues (locale/<language>/LC_MESSAGES/django.po) are
complete: every string marked in the code is in them, translated, with the same
placeholders, and the committed .mo files are compiled from them.

The first test runs ``makemessages`` (gettext's xgettext) on a copy of the project, so that
a string marked but never translated fails here rather than reaching a focal point in English.
"""

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import CharField, TextField
from django.utils import translation
from django.utils.text import capfirst

# The route table and its data: every page the app has, with who may open it.
from test_route_matrix import ROLES, ROUTES, cast, ids_of, objects  # noqa: F401

LANGUAGES = ("fr", "es", "ar")
LOCALE = settings.BASE_DIR / "locale"
SOURCES = ("config", "core", "states", "measures", "accounts", "implementation", "devtools", "templates", "manage.py")
# %(name)s, %s, %d, %%: what Python's % operator fills in.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]?\d*(?:\.\d+)?[sdifr%]")
# {name}: what str.format and Django's format_lazy fill in.
BRACES = re.compile(r"\{\w*\}")


def po(language):
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def key(entry):
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def translations(entry):
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    """The strings marked in the code, as makemessages gathers them from a copy of the project."""
    if shutil.which("xgettext") is None:
        message = "xgettext not found: apt-get install gettext (.ci/run installs it)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("project")
    for name in SOURCES:
        source = settings.BASE_DIR / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    (root / "locale").mkdir()
    env = {**os.environ, "DJANGO_DEBUG": "true", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "fr", "--no-location", "--verbosity", "0"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    return {key(entry) for entry in polib.pofile(str(root / "locale" / "fr" / "LC_MESSAGES" / "django.po"))}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_holds_every_marked_string_and_nothing_stale(marked, language):
    listed = {key(entry) for entry in po(language) if not entry.obsolete}
    missing = sorted(marked - listed)
    stale = sorted(listed - marked)
    assert not missing, (
        f"{language}: {len(missing)} marked strings are not in the catalogue (make messages): {missing}"
    )
    assert not stale, f"{language}: {len(stale)} strings are no longer in the code (make messages): {stale}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(language):
    catalogue = po(language)
    assert len(catalogue) > 100
    untranslated = [entry.msgid for entry in catalogue if not entry.obsolete and not entry.translated()]
    assert not untranslated, f"{language}: {len(untranslated)} strings lack a translation: {untranslated}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    wrong = []
    for entry in po(language):
        # Only a python-format string fills in %-placeholders: elsewhere "% implemented" is text.
        patterns = (PLACEHOLDER, BRACES) if "python-format" in entry.flags else (BRACES,)
        for pattern in patterns:
            english = pattern.findall(entry.msgid) + pattern.findall(entry.msgid_plural or "")
            for text in translations(entry):
                found = pattern.findall(text)
                if entry.msgid_plural:
                    # A plural form may leave the count out ("un seul État"), never add one.
                    if not set(found) <= set(english):
                        wrong.append((entry.msgid, text))
                elif sorted(found) != sorted(english):
                    wrong.append((entry.msgid, text))
    assert not wrong, f"{language}: placeholders differ from the English: {wrong}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_is_compiled_from_the_po(language):
    compiled = polib.mofile(str(LOCALE / language / "LC_MESSAGES" / "django.mo"))
    expected = {key(entry): translations(entry) for entry in po(language) if entry.translated()}
    found = {key(entry): translations(entry) for entry in compiled if entry.msgid}
    assert found == expected, f"{language}: django.mo is out of date; run make messages"


def test_arabic_has_its_six_plural_forms():
    header = po("ar").metadata["Plural-Forms"]
    assert header.startswith("nplurals=6;")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sign_in_page_is_in_the_browsers_language(client, db, language):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    with translation.override(language):
        heading = translation.gettext("Log in")
        # The label is the user model's field name, which Django's own catalogue translates.
        username = capfirst(get_user_model()._meta.get_field("username").verbose_name)
    assert heading != "Log in"
    assert f"<h1>{heading}</h1>" in html
    assert f'<label for="id_username">{username}</label>' in html
    for english in ("Log in", "Username", "Password", "Skip to content"):
        assert f">{english}<" not in html


# Every page in French: no English left that is neither data nor a translation


class Texts(HTMLParser):
    """
    The text a reader meets: text nodes, and the attributes read aloud or shown on hover.
    Text marked with its own language (the switcher's "English", "Español"…) is left out.
    """

    ATTRIBUTES = {"aria-label", "title", "alt", "placeholder", "aria-description"}
    SKIPPED = {"script", "style", "code", "pre"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.found, self.open = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        other_language = "lang" in attrs and tag != "html"
        if tag not in self.VOID:
            self.open.append(tag in self.SKIPPED or other_language)
        if not any(self.open) and not other_language:
            self.found.update(" ".join(v.split()) for n, v in attrs.items() if n in self.ATTRIBUTES and v)

    def handle_startendtag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(False)
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.open.pop()
            self.open.pop()

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.open:
            self.open.pop()

    def handle_data(self, data):
        if not any(self.open):
            self.found.add(" ".join(data.split()))


# A date in Django's own French format may read as in English ("27 Nov 2026").
DATE = re.compile(r"^\d{1,2} \w{3,4}\.? \d{4}(, \d\d:\d\d)?$")


def texts(html):
    parser = Texts()
    parser.feed(html)
    return {text for text in parser.found if re.search(r"[A-Za-z]{3}", text) and not DATE.match(text)}


def data_texts():
    """Every text stored in the database: names, titles, explanations, usernames."""
    found = set()
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields if isinstance(f, (CharField, TextField))]
        if fields and model._meta.app_label in {"states", "measures", "implementation", "auth"}:
            for row in model._base_manager.values_list(*fields):
                found.update(" ".join(str(value).split()) for value in row if value)
    return found


def is_data(text, data):
    return any(text in value or value in text for value in data if len(value) > 2)


# Names that read the same in every language.
SAME_IN_EVERY_LANGUAGE = {
    "https://",
    "CTED",
    "CSV",
    "XLSX",
    "SCR 2370",
    "ISO3",
    "OpenAPI",
    "Swagger UI",
    "ReDoc",
    "TOTP",
}


@pytest.mark.parametrize("role", ["analyst", "focal_jam", "coordinator"])
def test_no_page_is_left_in_english(client, cast, objects, role):  # noqa: F811
    client.force_login(cast[role])
    ids = ids_of(objects)
    data = data_texts()
    kept = {entry.msgstr for entry in po("fr") if entry.msgstr == entry.msgid}
    leaks = {}
    for route, samples in ROUTES.items():
        if route.startswith(("admin/", "api/")):
            continue  # Django translates the admin's own texts; the API speaks JSON
        for template, expected in samples:
            if expected[ROLES.index(role)] != 200:
                continue
            url = template.format(**ids)
            english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
            if not english["Content-Type"].startswith("text/html"):
                continue
            french = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
            left = texts(french) & texts(english.content.decode())
            left = {t for t in left if t not in kept and t not in SAME_IN_EVERY_LANGUAGE and not is_data(t, data)}
            if left:
                leaks[url] = sorted(left)
    assert not leaks, "English left on French pages (mark it for translation):\n" + "\n".join(
        f"{url}: {left}" for url, left in leaks.items()
    )
