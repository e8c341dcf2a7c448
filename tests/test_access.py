"""The access module's answers for the views and the API, beyond what each page's tests see."""

import datetime as dt

from django.utils import timezone

from implementation.access import ScopedViewSetMixin, reporting_states
from implementation.api.urls import router
from states.models import Role


def test_a_focal_point_reports_for_their_own_state_only(focal_jam, world):
    assert list(reporting_states(focal_jam)) == [world["jam"]]


def test_a_focal_point_whose_role_has_ended_reports_for_no_state(focal_jam):
    today = timezone.localdate()
    Role.objects.filter(user=focal_jam).update(starts_on=today - dt.timedelta(days=10), ends_on=today)
    assert not reporting_states(focal_jam).exists()


def test_readers_who_are_not_focal_points_report_for_no_state(analyst, coordinator, nobody):
    for user in (analyst, coordinator, nobody):
        assert not reporting_states(user).exists()


def test_every_api_viewset_over_a_states_records_starts_from_the_readers_rows():
    # A viewset over State-linked rows that forgot the mixin would list every State's records.
    scoped, forgotten = set(), set()
    for _prefix, viewset, basename in router.registry:
        model = viewset.serializer_class.Meta.model
        if any(field.name == "state" for field in model._meta.get_fields()):
            (scoped if issubclass(viewset, ScopedViewSetMixin) else forgotten).add(basename)
    assert not forgotten
    assert scoped == {"api-rating", "api-rating-history", "api-assessment", "api-recommendation", "api-submission"}
