"""The reads that the dashboards share: rows through the reader's filters, memberships, measures."""

from django.db.models import Count

from measures.models import Measure
from states.models import MemberState, Region, RegionMembership

from ..filters import MeasureScopeFilterSet
from ..models import AssistanceNeed

OPEN_NEEDS = [AssistanceNeed.Status.IDENTIFIED, AssistanceNeed.Status.REQUESTED, AssistanceNeed.Status.IN_DELIVERY]


def filtered(rows, filters, *, ignore=()):
    """``rows`` through the reader's (already validated) ``filters``, less those named in ``ignore``."""
    return filters.apply(rows, ignore=ignore)


def as_of(filters):
    return filters.form.cleaned_data.get("as_of")


def in_scope(state_ids, filters):
    """The States of ``state_ids`` that the State and region filters keep, never decided by ratings."""
    cleaned = filters.form.cleaned_data
    if cleaned.get("state") is not None:
        state_ids = state_ids & {cleaned["state"].pk}
    if cleaned.get("region"):
        region = Region.objects.filter(slug=cleaned["region"]).first()
        members = set(MemberState.objects.in_region(region).values_list("pk", flat=True)) if region else set()
        state_ids = state_ids & members
    return state_ids


def measures_kept(filters):
    """Measures of the current edition that the filters keep, with their sections, in catalogue order."""
    kept = MeasureScopeFilterSet.like(filters, Measure.objects.current().select_related("section")).qs
    return list(kept.order_by("section__position", "position", "code"))


def group_by_section(measures):
    grouped = {}
    for measure in measures:
        grouped.setdefault(measure.section, []).append(measure)
    return list(grouped.items())


def counted(rows, *fields):
    return rows.order_by().values_list(*fields).annotate(count=Count("pk"))


def memberships(regions, on):
    return RegionMembership.objects.current(on).filter(region__in=regions).values_list("region_id", "state_id")


def current_memberships(as_of):
    return RegionMembership.objects.current(as_of)


def first(items):
    return items[0] if items else None
