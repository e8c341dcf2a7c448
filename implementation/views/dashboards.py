"""The dashboards: the access check, then the page or a download, from the cache or one ``build_*`` call."""

import functools
import re

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from states.models import MIN_HIDDEN_STATES_IN_TOTAL, Region

from .. import caching, dashboards, tables
from ..access import get_visible_state_or_404, require_role
from ..filters import RatingFilterSet, RegionTableFilterSet

# "As of" a past day a page reads its ratings and memberships from history; these it reads as they stand now:
# the heat map links a State's column to its measures once it has a rating, and a profile names its current
# assessments and lists the open recommendations and needs.
OVERVIEW = caching.Dashboard("implementation/overview.html", tables.overview_tables)
REGION = caching.Dashboard("implementation/region.html", tables.region_tables, reads_now=("ratings", "needs"))
# The region's data table reads as the heat map does; the page of rows asked is part of the address, so of the key.
REGION_TABLE = caching.Dashboard(
    "implementation/region_table.html",
    tables.region_table_tables,
    reads_now=("ratings", "needs"),
    context=tables.region_table_page,
)
STATE = caching.Dashboard(
    "implementation/state.html", tables.state_tables, reads_now=("assessments", "recommendations", "needs")
)


@login_required
def overview(request):
    filters = _filters(request)
    if not filters.is_valid():
        return _bad_filters(request, filters)
    build = functools.partial(dashboards.build_overview, user=request.user, filters=filters)
    return caching.respond(request, OVERVIEW, filters, build)


@login_required
def region_dashboard(request, slug):
    region = get_object_or_404(Region, slug=slug)
    filters = _filters(request)
    if not filters.is_valid():
        return _bad_filters(request, filters)
    build = functools.partial(dashboards.build_region_board, region=region, user=request.user, filters=filters)
    return caching.respond(request, REGION, filters, build)


@login_required
def region_table(request, slug):
    """The region's heat map as a table: a page of its rows in the order asked, or every row downloaded."""
    region = get_object_or_404(Region, slug=slug)
    require_role(request.user)
    filters = RegionTableFilterSet(request.GET, request=request)
    if not filters.is_valid():
        return _bad_filters(request, filters)
    build = functools.partial(dashboards.build_region_table, region=region, user=request.user, filters=filters)
    return caching.respond(request, REGION_TABLE, filters, build)


@login_required
def state_profile(request, iso3):
    # The role check first: someone with no role is told so, not that the State is missing.
    filters = _filters(request)
    state = get_visible_state_or_404(request, iso3)
    if not filters.is_valid():
        return _bad_filters(request, filters)
    build = functools.partial(dashboards.build_state_profile, state=state, user=request.user, filters=filters)
    return caching.respond(request, STATE, filters, build)


def _filters(request):
    require_role(request.user)
    return RatingFilterSet(request.GET, request=request)


def _bad_filters(request, filters):
    return render(request, "implementation/bad_filters.html", {"filters": filters}, status=400)


def help_page(request):
    """How the figures are made and who sees what: the same for everyone, signed in or not."""
    return render(request, "implementation/help.html", {"min_hidden": MIN_HIDDEN_STATES_IN_TOTAL})


# A day: the page margins' words change only with a new release, and each language has its own address.
@require_GET
@cache_control(public=True, max_age=86400)
def print_stylesheet(request, language):
    """
    The printed page's margins in ``language`` ("Page 2 of 5"), as ``@page`` boxes in a small
    stylesheet per language, since the site's policy allows no inline style.
    """
    if language not in dict(settings.LANGUAGES):
        raise Http404(f"No stylesheet for the language {language!r}.")
    with translation.override(language):
        rtl = translation.get_language_bidi()
        notice = css_string(gettext("Shared with the State concerned — not for publication"))
        # Translators: the footer of each printed page, e.g. "Page 2 of 5".
        pages = css_content(gettext("Page %(page)s of %(pages)s"))
    # The notice stands where lines begin, the page number where they end, as the text reads.
    start, end = ("right", "left") if rtl else ("left", "right")
    css = (
        "@media print {\n  @page {\n"
        f"    @bottom-{start} {{ content: {notice}; font: 7.5pt system-ui, sans-serif; color: #444; }}\n"
        f"    @bottom-{end} {{ content: {pages}; font: 7.5pt system-ui, sans-serif; color: #444; }}\n"
        "  }\n}\n"
    )
    return HttpResponse(css, content_type="text/css; charset=utf-8")


def css_string(text):
    """``text`` as a quoted CSS string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ") + '"'


def css_content(pattern):
    """A translated "Page %(page)s of %(pages)s" as a CSS ``content`` value: strings around the two counters."""
    parts = re.split(r"%\((page|pages)\)s", pattern)
    # re.split keeps the names it splits on at the odd positions: text, name, text, name, text.
    return " ".join(
        f"counter({part})" if index % 2 else css_string(part) for index, part in enumerate(parts) if index % 2 or part
    )
