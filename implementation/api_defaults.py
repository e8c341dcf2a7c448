"""
Classes ``REST_FRAMEWORK`` names (config/settings.py), applied to every endpoint of the
API: who may use it at all, and how lists are paged.

They live apart from api.py (and from api_schema.py) because DRF imports them while its
own views are being defined, which is while those modules are still importing DRF.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import pagination
from rest_framework.permissions import BasePermission

from states.models import can_read_aggregates


class HasTrackerRole(BasePermission):
    """
    Anyone with a role in the tracker; an account without one is refused, as on the
    pages. Which rows each person then reads is each queryset's ``visible_to(user)``.
    """

    message = _("Your account has no role in the tracker yet. Ask a CTED analyst to give you one.")

    def has_permission(self, request, view):
        return can_read_aggregates(request.user)


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=2``, and ``?page_size=`` up to a cap, so that one request cannot ask for every rating at once."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
