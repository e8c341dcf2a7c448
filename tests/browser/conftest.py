"""
Real-browser journeys: Playwright drives Debian's Chromium against a live server on the
test database. They need PostgreSQL (a live server empties tables between tests, which the
append-only triggers refuse on SQLite), so off PostgreSQL they are skipped like every
``postgres`` test; in CI a missing Chromium fails them rather than skipping them.

Screenshots of each step go to SCREENSHOT_DIR (default build/screenshots).
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

# Playwright's sync API runs an event loop in this thread; the test's own database calls
# (fixtures, assertions) are still plain synchronous Django, which is safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", settings.BASE_DIR / "build" / "screenshots"))
PASSWORD = "a browser-test pass phrase 2370"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # Before the root conftest's hook, which skips "postgres" tests off PostgreSQL.
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set CHROMIUM)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server):
    """
    ``open_page()``: a fresh browser context on the live server, 1280 px wide, with no cookies
    unless ``language`` (a code of settings.LANGUAGES, set as the language cookie) or ``user``
    (signed in without the sign-in form, which has journeys of its own) is given.
    """
    contexts = []

    def open_page(width=1280, height=900, language=None, user=None):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}, accept_downloads=True
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        cookies = {}
        if language:
            cookies[settings.LANGUAGE_COOKIE_NAME] = language
        if user:
            client = Client()
            client.force_login(user)
            cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
        if cookies:
            context.add_cookies(
                [{"name": name, "value": value, "url": live_server.url} for name, value in cookies.items()]
            )
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def shoot(page, name):
    """Save a full-page screenshot of the current step."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def sign_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


@pytest.fixture
def passwords(analyst, focal_jam, focal_ken, coordinator):
    """The cast, with a password each, for signing in through the login form."""
    for user in (analyst, focal_jam, focal_ken, coordinator):
        user.set_password(PASSWORD)
        user.save()
