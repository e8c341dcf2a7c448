"""
Accessibility (WCAG 2.1 AA): axe-core over every page of the site, in each of its languages,
on the reference data and the demo seeding, so that the map, the heat map and the tables
are full. No page may have a serious or critical violation; the moderate and minor ones are
listed beside them in the failure message.

"Every page" comes from the route matrix (tests/test_route_matrix.py), which must name every
route of the URLconf: each route that some role opens (200) is checked once, on its first
sample URL that someone opens, as the first role of PREFERENCE that opens it. Downloads are
left out (see is_download); a few pages are added for what the matrix does not open (the
404 and 403 pages, the dashboards as a focal point and a coordinator see them).

Arabic pages must be right to left, and each is saved as a full-page screenshot under
SCREENSHOT_DIR/rtl/ for a person to look over.

Beside axe, the charts are checked for what it cannot see: that the heat map and the map
tell the statuses apart without colour, and that a data table stands behind each chart.
"""

import re
import time
from dataclasses import dataclass
from io import StringIO
from urllib.parse import urlsplit

import factories
import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from test_route_matrix import ROLES, ROUTES

from implementation.dashboards.overview import LEVEL_KEYS
from implementation.models import (
    Assessment,
    AssistanceNeed,
    Confidentiality,
    ConfidentialNote,
    Rating,
    Recommendation,
    Snapshot,
    Submission,
)
from measures.models import Edition, Instrument, Measure, Section
from states.models import MemberState, Region, Role, Workshop

from .conftest import PASSWORD, shoot

LANGUAGES = [code for code, _name in settings.LANGUAGES]
RIGHT_TO_LEFT = {"ar"}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
FAILING_IMPACTS = {"serious", "critical"}
# The role a page is checked as, of those who open it: a signed-out visitor for the pages
# they open (the sign-in page), then whoever sees the most on it.
PREFERENCE = ("anonymous", "analyst", "coordinator", "focal_jam", "focal_ken")
# The demo seeding's account for each role of the route matrix (same roles, same scopes).
DEMO_USERNAMES = {
    "analyst": "analyst",
    "coordinator": "coordinator",
    "focal_jam": "focal-jam",
    "focal_ken": "focal-ken",
}


@dataclass(frozen=True)
class Page:
    """A URL (ids in braces, as in the route matrix) opened as ``role``, which must answer ``status``."""

    url: str
    role: str
    status: int = 200


# Pages the matrix does not open, or opens only as another role than a reader would.
EXTRA_PAGES = [
    Page("/states/KEN/", "focal_jam", 404),
    Page("/review/", "focal_jam", 403),
    # The dashboards as a focal point sees them: one State in detail, the rest by level only.
    Page("/", "focal_jam"),
    Page("/states/JAM/", "focal_jam"),
    Page("/regions/europe/", "focal_jam"),
    Page("/regions/caribbean/", "coordinator"),
]

# No exceptions: the markup the project takes from others is fixed where it falls short (the
# admin's Select2 boxes by static/js/admin-autocomplete-names.js, Swagger UI's colours by
# static/css/api-docs.css and its nested links by SWAGGER_UI_SETTINGS), so every rule holds
# on every page.

# Pages drawn by script after they load: what to wait for before checking them.
READY = {"/api/docs/": "#swagger-ui .information-container"}


def is_download(url):
    """Whether ``url`` answers a file rather than a page: those are not checked."""
    parts = urlsplit(url)
    if re.search(r"(^|&)(export|format)=", parts.query) or parts.path.endswith(".xlsx"):
        return True  # CSV and XLSX downloads
    if parts.path.startswith("/api/") and parts.path != "/api/docs/":
        return True  # the API's JSON and CSV, and its OpenAPI schema (YAML)
    if parts.path.endswith(".css"):
        return True  # the printed pages' margins, a stylesheet per language
    # The admin's JavaScript catalogue and the JSON behind its search-as-you-type boxes, and
    # the load balancer's plain-text health check: none is a page anyone reads.
    return parts.path in ("/admin/jsi18n/", "/admin/autocomplete/", "/healthz")


def pages_to_check():
    pages = []
    for samples in ROUTES.values():
        for url, answers in samples:
            openers = [role for role, answer in zip(ROLES, answers, strict=True) if answer == 200]
            if openers and not is_download(url):
                pages.append(Page(url, min(openers, key=PREFERENCE.index)))
                break
    return pages + EXTRA_PAGES


def csv_upload(*rows):
    text = "State,Code,Status,Explanation\n" + "".join(f"{row}\n" for row in rows)
    return SimpleUploadedFile("ratings.csv", text.encode())


def demo_data():
    """Load the reference data and the demo seeding; return the cast by role and the ids the sample URLs name."""
    call_command("load_reference_data", stdout=StringIO())
    call_command("seed_demo", allow_without_debug=True, password=PASSWORD, stdout=StringIO())
    users = {role: get_user_model().objects.get(username=name) for role, name in DEMO_USERNAMES.items()}
    jam = MemberState.objects.get(iso3="JAM")
    current = Edition.objects.get(is_current=True)
    objects = {
        "jam": jam,
        "caribbean": Region.objects.get(slug="caribbean"),
        "workshop": Workshop.objects.filter(region__slug="caribbean").first(),
        "role_jam": Role.objects.get(user=users["focal_jam"]),
        "user": users["focal_jam"],
        "edition": current,
        "section": Section.objects.filter(edition=current).first(),
        "instrument": Instrument.objects.first(),
        "measure": Measure.objects.get(edition=current, code="SALW-04"),
        "rating_jam": Rating.objects.filter(state=jam, kind=Rating.Kind.ASSESSED).first(),
        "assessment_jam": Assessment.objects.filter(state=jam, confidentiality=Confidentiality.SHARED).first(),
        "recommendation_jam": Recommendation.objects.filter(state=jam).first(),
        "need_jam": AssistanceNeed.objects.filter(state=jam).first(),
        # The demo seeding writes CTED-only notes for a few States, Jamaica not among them.
        "note_jam": ConfidentialNote.objects.create(
            state=jam, body="DEMO — Follow up on the registry's funding.", author=users["analyst"]
        ),
        "submission_jam": Submission.objects.filter(state=jam).first(),
        "snapshot_jam": Snapshot.objects.filter(state=jam).first(),
        "upload_jam": factories.staged_upload(
            state=jam,
            upload=csv_upload("JAM,SALW-04,Largely implemented,Marking at import is enforced at the port."),
            by=users["focal_jam"],
        ),
        "bulk_upload": factories.staged_upload(
            upload=csv_upload("JAM,SALW-06,Implemented,Central registry online", "KEN,SALW-06,Partially implemented,"),
            by=users["analyst"],
        ),
    }
    missing = [name for name, obj in objects.items() if obj is None]
    assert not missing, f"The demo data has no {', '.join(missing)} to open"
    ids = {}
    for name, obj in objects.items():
        ids[name] = obj.pk
        if hasattr(type(obj), "history"):
            # The latest row of its history, for the admin's page of one past version.
            latest = obj.history.order_by("-history_id").values_list("history_id", flat=True).first()
            if latest is not None:
                ids[f"{name}_version"] = latest
    return users, ids


def screenshot_name(page):
    return f"rtl/{page.role}{re.sub(r'[^a-z0-9]+', '-', page.url.lower()).rstrip('-') or '-overview'}"


def describe(violation, limit=3):
    targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
    more = f" (+{len(targets) - limit} more)" if len(targets) > limit else ""
    return f"{violation['impact']} {violation['id']} ({violation['help']}): {', '.join(targets[:limit])}{more}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_has_no_serious_accessibility_violation(open_page, language):
    users, ids = demo_data()
    pages = pages_to_check()
    axe = Axe()
    problems, failing, wrong = [], 0, []
    started = time.perf_counter()
    for role in PREFERENCE:
        browser_page = None
        for page in (page for page in pages if page.role == role):
            if browser_page is None:
                browser_page = open_page(language=language, user=users.get(role))
            try:
                url = page.url.format(**ids)
            except KeyError as exc:
                pytest.fail(f"{page.url} names {exc}, which demo_data() does not provide")
            response = browser_page.goto(url)
            where = f"[{language}] {page.url} as {role}"
            if response.status != page.status or not response.headers["content-type"].startswith("text/html"):
                wrong.append(f"{where}: {response.status} {response.headers['content-type']}, expected a page")
                continue
            html = browser_page.evaluate("[document.documentElement.lang, document.documentElement.dir]")
            expected = [language, "rtl" if language in RIGHT_TO_LEFT else "ltr"]
            if html != expected:
                wrong.append(f"{where}: <html lang={html[0]!r} dir={html[1]!r}>, expected {expected}")
            if page.url in READY:
                browser_page.wait_for_selector(READY[page.url])
            violations = axe.run(browser_page, options=AXE_OPTIONS).response["violations"]
            failing += sum(violation["impact"] in FAILING_IMPACTS for violation in violations)
            problems += [f"{where}: {describe(violation)}" for violation in violations]
            if language in RIGHT_TO_LEFT:
                shoot(browser_page, screenshot_name(page))
    elapsed = time.perf_counter() - started
    print(f"[{language}] {len(pages)} pages checked in {elapsed:.1f} s", *problems, sep="\n")
    assert not wrong, "\n".join(wrong)
    assert not failing, f"{failing} serious or critical violations; all violations found:\n" + "\n".join(problems)


# Each heat-map cell: the status letter it shows, the full status it is described by, and its elements.
HEAT_MAP_CELLS = """() => [...document.querySelectorAll(".heatmap td a")].map(a => ({
  letter: a.textContent.trim(), name: a.title.trim(), elements: a.parentElement.querySelectorAll("*").length + 1,
}))"""
# Each chart, and whether a data table with a caption sits beside it (in the nearest ancestor holding
# one), or a link to the page that holds it (the heat map's). The total bar is left out: its figures
# are written out beside it.
CHART_TABLES = """() => [...document.querySelectorAll(
  "main .bar-list:not(.bar-list-total), main svg.trend-chart, main table.heatmap")].map(chart => {
  for (let el = chart.parentElement; el; el = el.parentElement) {
    const data = [...el.children].find(child => child.matches(".data-behind"));
    if (data) return [chart.outerHTML.slice(0, 60), data.matches("details") ?
      !!data.querySelector("table caption") : data.querySelector("a")?.getAttribute("href") ?? false];
  }
  return [chart.outerHTML.slice(0, 60), false];
})"""
# Each entry of the map's legend: its label, and the marks of its fill without their colours.
MAP_KEY_MARKS = """() => Object.fromEntries([...document.querySelectorAll(".map-legend li")].map(li => {
  const fill = li.querySelector("rect").getAttribute("fill");
  const pattern = fill.startsWith("url(") ? document.querySelector(fill.slice(4, -1)) : null;
  const marks = pattern ? [pattern.getAttribute("patternTransform"), ...[...pattern.children].slice(1).map(
    mark => mark.tagName + (mark.getAttribute("d") || "") + (mark.getAttribute("r") || ""))].join(" ") : "solid";
  const label = li.cloneNode(true);
  label.querySelectorAll("svg, abbr, span").forEach(part => part.remove());
  return [label.textContent.trim(), marks];
}))"""


def test_the_heat_map_and_the_map_show_status_without_colour_and_have_tables(open_page, analyst, ratings, world):
    page = open_page(user=analyst)
    page.goto("/regions/caribbean/")
    cells = page.evaluate(HEAT_MAP_CELLS)
    letters = page.evaluate("[...document.querySelectorAll('.heatmap-key .hm-swatch')].map(t => t.textContent)")
    assert cells and all(cell["name"] and cell["elements"] == 2 for cell in cells), cells
    assert {cell["letter"] for cell in cells} <= set(letters), (cells, letters)
    assert "L" in letters and "P" in {cell["letter"] for cell in cells}
    # By domain, by section, the trend, the least implemented, the States and the heat map, whose table has a page.
    charts = page.evaluate(CHART_TABLES)
    assert len(charts) == 6 and all(has_table for _chart, has_table in charts), charts
    assert charts[-1][1] == "/regions/caribbean/table/", charts
    page.goto(charts[-1][1])
    assert page.locator("table caption").first.inner_text().startswith("Ratings, Caribbean")

    page.goto("/")
    marks = page.evaluate(MAP_KEY_MARKS)
    levels = [marks[str(key.label)] for key in LEVEL_KEYS.values()]
    assert len(set(levels)) == len(levels), marks
    linked = page.evaluate("[...document.querySelectorAll('.world-map a')].map(a => a.getAttribute('href'))")
    listed = page.locator("#table-states tbody").inner_text()
    assert linked and all(re.fullmatch(r"/states/[A-Z]{3}/", url) and url[8:11] in listed for url in linked), linked


def test_every_entry_of_the_map_legend_has_marks_of_its_own(open_page, focal_jam, ratings, world):
    page = open_page(user=focal_jam)
    page.goto("/")
    marks = page.evaluate(MAP_KEY_MARKS)
    assert len(set(marks.values())) == len(marks), marks
