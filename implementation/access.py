"""
Where the pages and the API ask who may do what. The rule itself is the States a reader
may read (``MemberState.objects.visible_to``, states/models.py); this module turns it
into the checks that views repeat, so that each is written once.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from states.models import MemberState, Role, can_read_aggregates

NO_ROLE_YET = _("Your account has no role in the tracker yet. Ask a CTED analyst to give you one.")


def require_role(user):
    """Refuse someone with no role in force: they are told so, not shown an empty page."""
    if not can_read_aggregates(user):
        raise PermissionDenied(NO_ROLE_YET)


def get_visible_state_or_404(request, iso3):
    """The State ``iso3`` if the reader may read it; a State hidden from them answers exactly like none."""
    return get_object_or_404(MemberState.objects.visible_to(request.user), iso3=iso3.upper())


def reporting_states(user):
    """The States ``user`` reports for as a current focal point, among those they may read, by name."""
    roles = Role.objects.current().filter(user=user, kind=Role.Kind.FOCAL_POINT)
    return MemberState.objects.visible_to(user).filter(pk__in=roles.values("state")).order_by("name")


class ScopedViewSetMixin:
    """
    An API viewset over the rows of its ``queryset`` that the reader may read (the model's
    ``visible_to``), so that each endpoint shows exactly what the pages show. Kept free of DRF
    imports: ``REST_FRAMEWORK``'s classes import this module while DRF itself is loading.
    """

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)
