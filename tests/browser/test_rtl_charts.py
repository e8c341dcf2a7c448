"""
The dashboards' charts in Arabic, laid out by a real browser: bars grow from the right, the
trend's labels stay clear of the plot and of each other, and the world map is not mirrored.
"""

import datetime as dt

import factories
import pytest
from django.conf import settings
from django.test import Client

from implementation.models import Rating
from states.models import Workshop

from .conftest import shoot

Status = Rating.Status


@pytest.fixture
def open_as(browser, live_server):
    """``open_as(user, language)``: a page of a fresh browser context, signed in as ``user``, in ``language``."""
    contexts = []

    def open_as(user, language):
        client = Client()
        client.force_login(user)
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies(
            [
                {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url},
                {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
            ]
        )
        return context.new_page()

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def caribbean_history(world, analyst, ratings):
    """Trinidad and Tobago implemented, Jamaica improving over two years, and a workshop between."""
    for at, status in [(dt.datetime(2025, 2, 1, tzinfo=dt.UTC), Status.LARGELY), (None, Status.IMPLEMENTED)]:
        factories.rating(
            state=world["jam"], measure=world["marking"], status=status, by=analyst,
            at=at or dt.datetime(2025, 9, 1, tzinfo=dt.UTC), reason="test",
        )  # fmt: skip
    factories.rating(
        state=world["tto"], measure=world["marking"], status=Status.IMPLEMENTED, by=analyst,
        at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC), reason="test",
    )  # fmt: skip
    Workshop.objects.create(
        region=world["caribbean"], title="Caribbean workshop", starts_on=dt.date(2024, 11, 5),
        status=Workshop.Status.HELD,
    )  # fmt: skip


def boxes(page, selector):
    return [element.bounding_box() for element in page.locator(selector).all()]


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_region_pages_charts_read_in_the_pages_direction(open_as, analyst, caribbean_history, language):
    page = open_as(analyst, language)
    page.goto("/regions/caribbean/")
    shoot(page, f"rtl-region-{language}")

    # The bar of all measures grows from the inline start: the right in Arabic.
    bar = page.locator(".bar-list-total svg.stacked-bar")
    outline = bar.bounding_box()
    implemented = bar.locator(f'rect[fill="{Status.IMPLEMENTED.colour}"]').bounding_box()
    if language == "ar":
        assert implemented["x"] + implemented["width"] == pytest.approx(outline["x"] + outline["width"], abs=1)
    else:
        assert implemented["x"] == pytest.approx(outline["x"], abs=1)

    # The trend's score labels: inside the chart, left of the plot, one under the other.
    chart = page.locator("svg.trend-chart")
    chart.scroll_into_view_if_needed()
    frame = chart.bounding_box()
    axis = chart.locator("line.axis").bounding_box()
    labels = sorted(boxes(page, "svg.trend-chart .score-label"), key=lambda box: box["y"])
    assert len(labels) == 4
    for label in labels:
        assert label["x"] >= frame["x"] - 0.5
        assert label["x"] + label["width"] <= axis["x"] + 0.5
        # Against the axis (right-aligned in both directions), not left wherever the text ends.
        assert label["x"] + label["width"] == pytest.approx(axis["x"] - 8 * frame["width"] / 640, abs=2)
    for upper, lower in zip(labels, labels[1:], strict=False):
        assert upper["y"] + upper["height"] <= lower["y"]
    # The workshop's label: after its line, inside the chart.
    mark_line = chart.locator(".workshop-mark line").bounding_box()
    mark_label = chart.locator(".workshop-mark text").bounding_box()
    assert mark_label["x"] >= mark_line["x"]
    assert mark_label["x"] + mark_label["width"] <= frame["x"] + frame["width"]


def test_the_world_map_is_not_mirrored_in_arabic(open_as, analyst, ratings):
    page = open_as(analyst, "ar")
    page.goto("/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    frame = page.locator(".map-frame")
    assert frame.evaluate("element => getComputedStyle(element).direction") == "ltr"
    # Kenya lies east of Jamaica, so right of it on the map, in Arabic as in English.
    jamaica = page.locator('use.state[data-iso3="JAM"]').bounding_box()
    kenya = page.locator('use.state[data-iso3="KEN"]').bounding_box()
    assert kenya["x"] > jamaica["x"] + jamaica["width"]
    shoot(page, "rtl-overview-ar")
