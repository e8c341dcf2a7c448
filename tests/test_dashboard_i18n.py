"""
The dashboards (overview, region, State profile) and their downloads in other languages:
texts in the reader's language even where pages write them from caches, numbers and dates
written the local way, charts that read right to left in Arabic, and the same queries in
every language.

The project's own catalogues are translated separately; until they are, ``french`` brings a
small French catalogue of a few of the pages' texts, compiled for the test.
"""

import csv
import datetime as dt
import io
import math
import re
import struct

import factories
import openpyxl
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from implementation.dashboards import html as dashboard_html
from implementation.dashboards import texts as dashboard_texts
from implementation.dashboards.charts import TrendChart, TrendPoint
from implementation.models import Rating

Status = Rating.Status
ASSESSED = Rating.Kind.ASSESSED
AT_2024 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
AT_2025 = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
IMPLEMENTED_COLOUR = "#009E73"

FRENCH = {
    "Implemented": "Mis en œuvre",
    "Partially implemented": "Partiellement mis en œuvre",
    "%(state)s, %(measure)s. CTED assessment: %(assessed)s. Self-report: %(reported)s.": (
        "%(state)s, %(measure)s. Évaluation du CTED : %(assessed)s. Auto-évaluation : %(reported)s."
    ),
    "no status\x04none": "aucune",
    "%(name)s: %(summary)s": "%(name)s : %(summary)s",
    "%(share)s%%": "%(share)s\u202f%%",
    "No ratings yet": "Pas encore de notation",
    "Not rated yet.": "Pas encore noté.",
    "%(count)s self-report differs\x00%(count)s self-reports differ": (
        "%(count)s auto-évaluation diffère\x00%(count)s auto-évaluations diffèrent"
    ),
    "Member State": "État membre",
    "Workshop regions": "Régions des ateliers",
    "spreadsheet sheet\x04About": "À propos",
    "Filters: %(filters)s": "Filtres : %(filters)s",
    "%(filter)s: %(value)s": "%(filter)s : %(value)s",
    "Weapon domain": "Domaine d'armes",
    "Small arms and light weapons": "Armes légères et de petit calibre",
    "Choose today or a past date: history does not know the future.": (
        "Choisissez aujourd'hui ou une date passée : l'historique ne connaît pas l'avenir."
    ),
}


def write_catalogue(path, messages, plural_forms="nplurals=2; plural=(n > 1);"):
    """
    A compiled gettext catalogue (.mo) at ``path`` of ``messages``, msgid to msgstr: a context
    as "context\\x04msgid", plural forms joined by "\\x00" on both sides.
    """
    header = f"Content-Type: text/plain; charset=UTF-8\nPlural-Forms: {plural_forms}\n"
    entries = sorted({"": header, **messages}.items())
    keys = [key.encode() for key, _ in entries]
    values = [value.encode() for _, value in entries]
    count = len(entries)
    position, key_table, value_table = 28 + 16 * count, [], []
    for table, texts in ((key_table, keys), (value_table, values)):
        for text in texts:
            table += [len(text), position]
            position += len(text) + 1
    data = struct.pack("<7I", 0x950412DE, 0, count, 28, 28 + 8 * count, 0, 0)
    data += struct.pack(f"<{4 * count}I", *key_table, *value_table)
    data += b"".join(text + b"\0" for text in keys + values)
    path.parent.mkdir(parents=True)
    path.write_bytes(data)


def clear_text_caches():
    for cached in (dashboard_texts.texts, dashboard_html.html_texts, dashboard_html.month_abbreviations):
        cached.cache_clear()
    dashboard_html.HEAT_CELLS.clear()


@pytest.fixture
def french(settings, tmp_path):
    """French for the texts of FRENCH (changing LOCALE_PATHS makes Django load its catalogues afresh)."""
    write_catalogue(tmp_path / "fr" / "LC_MESSAGES" / "django.mo", FRENCH)
    settings.LOCALE_PATHS = [tmp_path]
    clear_text_caches()
    yield
    clear_text_caches()


def get(client, user, path, language):
    client.force_login(user)
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, path
    return response


def html(client, user, path, language):
    return get(client, user, path, language).content.decode()


def heat_cell_title(page, iso3, code):
    return re.search(rf'<td><a class="[^"]*" href="/states/{iso3}/#measure-{code}" title="([^"]*)">', page).group(1)


def map_title(page, iso3):
    return re.search(rf'<a href="/states/{iso3}/"><title>(.*?)</title>', page).group(1)


def trend_chart(page):
    return re.search(r'<svg class="trend-chart".*?</svg>', page, re.S).group(0)


# Texts written from caches, in each reader's language whoever came first


@pytest.mark.parametrize("first", ["fr", "en"])
def test_pages_written_in_python_come_out_in_each_readers_language(client, analyst, ratings, french, first):
    pages = {}
    for language in [first, "fr" if first == "en" else "en", first]:
        pages[language] = {
            "region": html(client, analyst, "/regions/caribbean/", language),
            "overview": html(client, analyst, "/", language),
            "state": html(client, analyst, "/states/JAM/", language),
        }
    french_pages, english_pages = pages["fr"], pages["en"]

    # The heat map's cells (made once per pair of statuses and language).
    assert heat_cell_title(french_pages["region"], "JAM", "SALW-04") == (
        "Jamaica, SALW-04. Évaluation du CTED : Partiellement mis en œuvre. "
        "Auto-évaluation : Partiellement mis en œuvre."
    )
    assert heat_cell_title(english_pages["region"], "JAM", "SALW-04") == (
        "Jamaica, SALW-04. CTED assessment: Partially implemented. Self-report: Partially implemented."
    )
    assert heat_cell_title(french_pages["region"], "JAM", "SALW-06") == (
        "Jamaica, SALW-06. Évaluation du CTED : aucune. Auto-évaluation : aucune."
    )
    # The bars, a plural included (French counts 0 in the singular).
    assert "0 auto-évaluation diffère" in french_pages["region"]
    assert "0 self-reports differ" in english_pages["region"]
    assert 'aria-label="Jamaica : Partiellement mis en œuvre 1"' in french_pages["region"]
    # The map's titles, with the share and the mean written the French way, and its legend.
    assert map_title(french_pages["overview"], "JAM").startswith(
        "Jamaica : Partiellement mis en œuvre (P), 0\u202f% implemented or largely, mean score 1,0 of 3"
    )
    assert map_title(english_pages["overview"], "JAM").startswith(
        "Jamaica: Partially implemented (P), 0% implemented or largely, mean score 1.0 of 3"
    )
    assert "Pas encore de notation" in french_pages["overview"]
    assert "Pas encore de notation" not in english_pages["overview"]
    # A profile's rating sides.
    assert "Pas encore noté." in french_pages["state"] and "Not rated yet." not in french_pages["state"]
    assert "Not rated yet." in english_pages["state"] and "Pas encore noté." not in english_pages["state"]


def test_numbers_and_dates_follow_the_readers_language(client, analyst, ratings, world):
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst, at=AT_2025, reason="test"
    )
    overview = html(client, analyst, "/?as_of=2024-06-01", "fr")
    region = html(client, analyst, "/regions/caribbean/", "fr")
    state = html(client, analyst, "/states/JAM/", "fr")
    # Month names come from Django's own French catalogue; decimals take a comma.
    assert "1 juin 2024" in overview
    assert '<dd>1,0<span class="unit"> sur 3</span></dd>' in overview
    assert "T2 2024\xa0: score moyen de 1,00 pour 1 mesure notée</title>" in region
    assert "T3 2025\xa0: score moyen de 3,00 pour 1 mesure notée</title>" in region
    # "j M Y", with Django's French abbreviations (written by the profile's own formatter).
    assert "<dt>Dernière confirmation</dt><dd>1 Aoû 2025</dd>" in state
    assert '<time datetime="2024-05-01T00:00:00+00:00">1 Mai 2024</time>' in state


@pytest.mark.parametrize("language", ["en", "fr", "es", "ar"])
def test_the_trend_charts_coordinates_stay_numbers_in_every_language(client, analyst, ratings, world, language):
    # A decimal comma ("230,5") would be read by SVG as two numbers, and the chart fall apart.
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst, at=AT_2025, reason="test"
    )
    chart = trend_chart(html(client, analyst, "/regions/caribbean/", language))
    values = re.findall(r'\s(?:x|y|x1|x2|y1|y2|cx|cy|r)="([^"]*)"', chart)
    assert len(values) > 20
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", value) for value in values), values
    assert re.search(r'viewBox="0 0 640 260"', chart)


def test_the_trend_leaves_room_for_longer_status_names(french):
    trend = [TrendPoint(quarter=dt.date(2024, 4, 1), mean_score=1.0, scored=1)]
    with translation.override("en"):
        english = TrendChart.lay_out(trend, [], end=dt.date(2024, 12, 31))
    with translation.override("fr"):
        french_chart = TrendChart.lay_out(trend, [], end=dt.date(2024, 12, 31))
    assert english.left == TrendChart.MARGINS["left"]
    assert [label for _, label in english.y_ticks][1] == "1 Partially implemented"
    longest = "1 Partiellement mis en œuvre"
    assert [label for _, label in french_chart.y_ticks][1] == longest
    assert french_chart.left == 16 + math.ceil(TrendChart.CHARACTER_WIDTH * len(longest)) > english.left
    assert french_chart.score_label_x == french_chart.left - 8


# Right to left


def _first_rects(page, count):
    """The ``<rect>``s of the region page's first bar (all measures, all States): (x, width, fill)."""
    bar = re.search(r'<ul class="bar-list bar-list-total">.*?</svg>', page, re.S).group(0)
    return re.findall(r'<rect x="([\d.]+)" width="([\d.]+)" height="6" fill="(#\w+)"', bar)[:count]


def test_in_arabic_bars_grow_from_the_right(client, analyst, ratings, world):
    # The Caribbean: Jamaica partially implemented, Trinidad and Tobago implemented; best first.
    factories.rating(
        state=world["tto"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst, at=AT_2024, reason="test"
    )
    english = _first_rects(html(client, analyst, "/regions/caribbean/", "en"), 2)
    arabic = _first_rects(html(client, analyst, "/regions/caribbean/", "ar"), 2)
    partially = Status.PARTIALLY.colour
    assert english == [("0.000", "50.000", IMPLEMENTED_COLOUR), ("50.000", "50.000", partially)]
    assert arabic == [("50.000", "50.000", IMPLEMENTED_COLOUR), ("0.000", "50.000", partially)]
    # The profile's summary bar, drawn by the template's partial from the same segments.
    profile = html(client, analyst, "/states/TTO/", "ar")
    assert f'<rect x="0.000" width="100.000" height="6" fill="{IMPLEMENTED_COLOUR}"' in profile


def test_in_arabic_a_changes_arrow_points_the_way_the_line_reads(client, analyst, ratings, world):
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst, at=AT_2025, reason="test"
    )
    assert '<span aria-label="to">→</span>' in html(client, analyst, "/states/JAM/", "en")
    arabic = html(client, analyst, "/states/JAM/", "ar")
    assert ">←</span>" in arabic and ">→</span>" not in arabic


def test_the_world_map_is_drawn_alike_in_every_direction(client, analyst, ratings):
    # Geography is not mirrored: the same shapes and places, in a left-to-right frame (tracker.css).
    english = html(client, analyst, "/", "en")
    arabic = html(client, analyst, "/", "ar")

    def shapes(page):
        return re.findall(r'<use class="state" data-iso3="\w+" href="[^"]*" fill="[^"]*"/>(?:<circle[^>]*/>)?', page)

    # The same shapes; their order follows the States' names, which sort differently in Arabic.
    assert sorted(shapes(arabic)) == sorted(shapes(english)) != []
    assert 'class="map-frame"' in arabic and "transform" not in re.search(
        r"<svg class=\"world-map\".*?</svg>", arabic, re.S
    ).group(0)


# Downloads and filters


def _csv(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_downloads_have_headers_in_the_readers_language_and_keep_iso_dates(client, analyst, ratings, world, french):
    factories.rating(
        state=world["jam"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst, at=AT_2025, reason="test"
    )
    states = _csv(get(client, analyst, "/?export=states&format=csv&domain=salw", "fr"))
    assert states[0][:2] == ["État membre", "ISO3"]
    assert states[1][:2] == ["Jamaica", "JAM"]
    trend = _csv(get(client, analyst, "/regions/caribbean/?export=trend&format=csv", "fr"))
    assert [row[0] for row in trend[1:]] == ["2024-04-01", "2025-07-01"]
    assert trend[1][1:] == ["1.0", "1"]  # plain numbers, as spreadsheets read them
    workbook = openpyxl.load_workbook(
        io.BytesIO(get(client, analyst, "/?export=regions&format=xlsx&domain=salw", "fr").content)
    )
    assert workbook.sheetnames == ["Régions des ateliers", "À propos"]
    about = [row[0] for row in workbook["À propos"].iter_rows(values_only=True)]
    assert about[0] == "Filtres : Domaine d'armes : Armes légères et de petit calibre"
    english = openpyxl.load_workbook(io.BytesIO(get(client, analyst, "/?export=regions&format=xlsx", "en").content))
    assert english.sheetnames == ["Workshop regions", "About"]
    assert [row[0] for row in english["About"].iter_rows(values_only=True)] == ["Filters: none", "As of: today"]


def test_filters_and_their_errors_speak_the_readers_language(client, analyst, world, french):
    page = html(client, analyst, "/regions/caribbean/", "fr")
    assert '<label for="id_domain">Domaine d&#x27;armes</label>' in page
    client.force_login(analyst)
    refused = client.get("/?as_of=2999-01-01", HTTP_ACCEPT_LANGUAGE="fr")
    assert refused.status_code == 400
    assert "Choisissez aujourd&#x27;hui ou une date passée" in refused.content.decode()


# The cost of a language


@pytest.mark.parametrize("path", ["/", "/regions/caribbean/", "/states/JAM/", "/?export=states&format=csv"])
def test_a_page_runs_the_same_queries_in_every_language(client, analyst, ratings, path):
    client.force_login(analyst)
    client.get(path)  # the session and the reader's roles, as on any first request
    counts = {}
    for language in ["en", "fr", "ar", "en"]:
        cache.clear()  # each language's page built, not served from the cache
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path, HTTP_ACCEPT_LANGUAGE=language).status_code == 200
        counts.setdefault(language, set()).add(len(queries))
    assert len(set.union(*counts.values())) == 1, counts
