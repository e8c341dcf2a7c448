"""
The main journeys with the keyboard alone: Tab, Enter and typing, no mouse. At every stop
of the focus, the focused element must show a focus indicator (an outline or a ring).
"""

import pytest
from playwright.sync_api import expect

from implementation.models import Submission

from .conftest import PASSWORD, shoot

# What the focused element is, and whether it shows that it has the focus.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(),
    href: el.getAttribute("href"),
    name: el.getAttribute("name"),
    value: el.value ?? null,
    text: (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 80),
    classes: [...el.classList],
    ring: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none",
    onScreen: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0
      && box.right <= innerWidth && box.bottom <= innerHeight,
    inMain: !!el.closest("main"),
    heatMapCell: !!el.closest(".heatmap td"),
    letter: el.closest(".heatmap td") ? el.textContent.trim() : null,
  };
}"""


def focused(page):
    """The focused element (see FOCUSED), which must show its focus."""
    element = page.evaluate(FOCUSED)
    assert element is not None, "Nothing on the page has the focus"
    assert element["ring"], f"The focused element shows no focus indicator: {element}"
    return element


def tab_to(page, wanted, what, limit=300):
    """Press Tab until ``wanted(focused element)``; every element passed on the way must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED) is None:
            pytest.fail(f"Tab went through {page.url} without reaching {what}")
        element = focused(page)
        if wanted(element):
            return element
    pytest.fail(f"{limit} presses of Tab on {page.url} did not reach {what}")


def press_and_wait(page, key):
    """Press ``key`` on the focused link or button, and wait for the page it opens."""
    with page.expect_navigation():
        page.keyboard.press(key)


def sign_in_by_keyboard(page, username):
    page.goto("/accounts/login/")
    tab_to(page, lambda element: element["name"] == "username", "the username box")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "password"
    page.keyboard.type(PASSWORD)
    press_and_wait(page, "Enter")
    expect(page.get_by_role("navigation").first).to_be_visible()
    assert "/accounts/login/" not in page.url


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_first_tab_reaches_a_visible_skip_link_that_moves_to_the_content(open_page, language):
    page = open_page(language=language)
    page.goto("/accounts/login/")
    page.keyboard.press("Tab")
    skip_link = focused(page)
    assert "skip-link" in skip_link["classes"] and skip_link["href"] == "#content", skip_link
    assert skip_link["onScreen"], f"The focused skip link is off screen: {skip_link}"
    shoot(page, f"keyboard-skip-link-{language}")

    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#content"
    assert page.evaluate("document.querySelector('main').getBoundingClientRect().top") >= 0
    # The next Tab starts from <main>: past the header's links and the language buttons.
    page.keyboard.press("Tab")
    assert focused(page)["inMain"]
    assert focused(page)["name"] == "username"


def test_a_coordinator_signs_in_switches_to_french_and_opens_a_heat_map_cell(open_page, passwords, ratings, world):
    page = open_page()
    sign_in_by_keyboard(page, "cora")

    tab_to(page, lambda element: element["tag"] == "button" and element["value"] == "fr", "the French button")
    press_and_wait(page, "Enter")
    assert page.evaluate("document.documentElement.lang") == "fr"

    tab_to(page, lambda element: element["href"] == "/regions/caribbean/", "the Caribbean in the menu")
    press_and_wait(page, "Enter")
    assert page.url.endswith("/regions/caribbean/")
    assert page.evaluate("document.documentElement.lang") == "fr"

    # Jamaica's SALW-04, the one rated cell: "P", partially implemented.
    cell = tab_to(page, lambda element: element["heatMapCell"] and element["letter"] == "P", "a rated heat-map cell")
    shoot(page, "keyboard-heat-map-cell")
    assert cell["href"] == "/states/JAM/#measure-SALW-04", cell
    press_and_wait(page, "Enter")
    assert page.url.endswith(cell["href"])
    expect(page.locator(f"#{cell['href'].split('#')[1]}")).to_be_visible()


def test_a_focal_point_reports_on_a_measure_with_the_keyboard(open_page, passwords, ratings, world):
    page = open_page()
    sign_in_by_keyboard(page, "jo")

    tab_to(page, lambda element: element["href"] == "/my-state/", "My State in the menu")
    press_and_wait(page, "Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jamaica")

    tab_to(page, lambda element: element["href"] == "/my-state/JAM/SALW-04/", "the report link of SALW-04")
    press_and_wait(page, "Enter")
    tab_to(page, lambda element: element["name"] == "status", "the status")
    # A closed <select> takes the first letters of an option's label.
    page.keyboard.type("Largely")
    assert focused(page)["value"] == "largely"
    tab_to(page, lambda element: element["name"] == "explanation", "the explanation")
    page.keyboard.type("Marking at import is now enforced at the port.")
    tab_to(page, lambda element: element["name"] == "source_document", "the source document")
    page.keyboard.type("Firearms (Marking) Regulations 2026")
    shoot(page, "keyboard-report-form")
    tab_to(page, lambda element: element["tag"] == "button" and element["inMain"], "the button that sends the report")
    press_and_wait(page, "Enter")

    expect(page.get_by_role("status")).to_contain_text("sent for review")
    expect(page.locator("#measure-SALW-04")).to_contain_text("Pending review")
    submission = Submission.objects.get()
    assert (submission.state, submission.status, submission.source_document) == (
        world["jam"],
        "largely",
        "Firearms (Marking) Regulations 2026",
    )
