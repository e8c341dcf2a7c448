"""
The classes ``REST_FRAMEWORK`` names for every endpoint: token sign-in, who may use the API, paging.
Apart from views.py because DRF imports them while it is still defining its own views.
"""

import django_filters
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_credentials, get_failure_limit
from axes.models import AccessAttempt
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import authentication, exceptions, pagination
from rest_framework.permissions import BasePermission

from states.models import can_read_aggregates

from ..access import NO_ROLE_YET


class TokenAuthentication(authentication.TokenAuthentication):
    """
    DRF's tokens, refused (401) for an inactive account or one django-axes holds locked, so that a
    stolen token does not outlast the lockout; axes decides when it ends (``axes_reset_username``).
    """

    locked_message = _(
        "This account is locked after too many failed sign-ins, and so is its token. It works again "
        "once the lock ends by itself or an administrator lifts it."
    )
    inactive_message = _("This account has been deactivated, and so has its token. Ask an administrator.")

    def authenticate(self, request):
        user_and_token = super().authenticate(request)
        if user_and_token is None:
            return None
        user, token = user_and_token
        credentials = get_credentials(user.get_username())
        if token.failed_sign_ins >= get_failure_limit(request, credentials) and AxesProxyHandler.is_locked(
            request, credentials
        ):
            raise exceptions.AuthenticationFailed(self.locked_message)
        return user_and_token

    def authenticate_credentials(self, key):
        # Also sums the account's failed sign-ins since the cool-off began, as axes counts them:
        # below its limit the account cannot be locked (docs/performance.md, "The API").
        attempts = AccessAttempt.objects.filter(username=OuterRef("user__username"))
        cool_off = get_cool_off()
        if cool_off is not None:
            attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
        failures = attempts.order_by().values("username").annotate(n=Sum("failures_since_start")).values("n")
        model = self.get_model()
        try:
            token = (
                model.objects.select_related("user")
                .annotate(failed_sign_ins=Coalesce(Subquery(failures), 0))
                .get(key=key)
            )
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(self.inactive_message)
        return (token.user, token)


class HasTrackerRole(BasePermission):
    """Anyone with a role in the tracker, as on the pages; the rows are then each model's ``visible_to``."""

    message = NO_ROLE_YET

    def has_permission(self, request, view):
        return can_read_aggregates(request.user)


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=2``, and ``?page_size=`` up to a cap, so that one request cannot ask for every rating at once."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request):
        # DRF falls back to the default for any value it cannot read; a client asking for
        # "null" rows should learn that it was not understood.
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not (value.isascii() and value.isdigit() and int(value) > 0):
            raise exceptions.ValidationError({self.page_size_query_param: [_("Enter a whole number from 1.")]})
        return min(int(value), self.max_page_size)


class FilterBackend(DjangoFilterBackend):
    """
    django-filter's, except that a filter sent empty is a 400: on the pages an empty field means
    "any", but a client that sends ``updated_since=`` has lost its value and should be told.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            errors = {}
            for name, declared in filterset_class.base_filters.items():
                values = request.query_params.getlist(name)
                if "" in values:
                    errors[name] = [_("Give a value, or leave this parameter out.")]
                # django-filter reads any other word as "either"; the schema says true or false.
                elif isinstance(declared, django_filters.BooleanFilter) and not set(values) <= {"true", "false"}:
                    errors[name] = [_("Enter true or false.")]
            if errors:
                raise exceptions.ValidationError(errors)
        return super().filter_queryset(request, queryset, view)
