"""
The dashboards: a scoped fetch, one ``build_*`` call, then render or export. Who may
see what is decided in states/models.py (``visible_to``, ``can_read_aggregates``).
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext

from states.models import MemberState, Region, can_read_aggregates

from . import dashboards, tables
from .exports import export_response
from .filters import RatingFilterSet


@login_required
def overview(request):
    filters = _filters(request)
    if not filters.is_valid():
        return _bad_filters(request, filters)
    board = dashboards.build_overview(user=request.user, filters=filters)
    return _render_or_export(request, "implementation/overview.html", board, filters, tables.overview_tables)


@login_required
def region_dashboard(request, slug):
    region = get_object_or_404(Region, slug=slug)
    filters = _filters(request)
    if not filters.is_valid():
        return _bad_filters(request, filters)
    board = dashboards.build_region_board(region=region, user=request.user, filters=filters)
    return _render_or_export(request, "implementation/region.html", board, filters, tables.region_tables)


@login_required
def state_profile(request, iso3):
    # The role check first: someone with no role is told so, not that the State is missing.
    filters = _filters(request)
    state = _get_state_or_404(request, iso3)
    if not filters.is_valid():
        return _bad_filters(request, filters)
    board = dashboards.build_state_profile(state=state, user=request.user, filters=filters)
    return _render_or_export(request, "implementation/state.html", board, filters, tables.state_tables)


def _filters(request):
    # Every dashboard needs at least the right to read aggregates; per-State detail is
    # narrowed further by visible_to inside the builders.
    if not can_read_aggregates(request.user):
        raise PermissionDenied(
            gettext("Your account has no role in the tracker yet. Ask a CTED analyst to give you one.")
        )
    return RatingFilterSet(request.GET)


def _get_state_or_404(request, iso3):
    # A State the reader may not see answers exactly like one that does not exist.
    return get_object_or_404(MemberState.objects.visible_to(request.user), iso3=iso3.upper())


def _bad_filters(request, filters):
    return render(request, "implementation/bad_filters.html", {"filters": filters}, status=400)


def _render_or_export(request, template, board, filters, make_tables):
    """Render the page, or with ``?export=<table>&format=csv|xlsx`` download one of its tables."""
    available = make_tables(board)
    name = request.GET.get("export")
    if name is None:
        return render(request, template, {"board": board, "filters": filters, "tables": available})
    table = available.get(name)
    if table is None:
        raise Http404(f"This page has no table called {name!r}.")
    try:
        return export_response(table, request.GET.get("format"), table.title, notes=tables.notes(filters))
    except ValueError as error:
        return HttpResponseBadRequest(str(error))
