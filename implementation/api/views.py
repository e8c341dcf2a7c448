"""
The API's viewsets (routed in urls.py). Scoped ones start from the reader's rows
(``access.ScopedViewSetMixin``); the rest is set once in ``REST_FRAMEWORK`` (defaults.py).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BigIntegerField, Case, Exists, F, OuterRef, Prefetch, When
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response

from measures.models import Edition, Measure
from states.models import MemberState, Region, RegionMembership

from .. import workflow
from ..access import ScopedViewSetMixin
from ..filters import (
    AssessmentFilterSet,
    MeasureFilterSet,
    RatingFilterSet,
    RatingHistoryFilterSet,
    RecommendationFilterSet,
    StateFilterSet,
    SubmissionFilterSet,
    end_of_day,
)
from ..models import Assessment, Rating, Recommendation, Submission
from . import serializers
from .schema import DETAIL

# Ratings and their history in the order of the pages: by State, then as the catalogue lists measures.
RATING_ORDER = ("state__name", "measure__section__position", "measure__position", "measure__code", "kind")


class StateViewSet(viewsets.ReadOnlyModelViewSet):
    """Every Member State: names and codes are public. ``readable`` says whose records you may read."""

    serializer_class = serializers.StateSerializer
    filterset_class = StateFilterSet
    lookup_field = "iso3"

    def get_queryset(self):
        readable = MemberState.objects.visible_to(self.request.user)
        return MemberState.objects.annotate(readable=Exists(readable.filter(pk=OuterRef("pk")))).order_by("name")


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """Regions and the States that belong to them today."""

    serializer_class = serializers.RegionSerializer
    filterset_fields = ["kind"]
    lookup_field = "slug"

    def get_queryset(self):
        members = RegionMembership.objects.current().select_related("state").order_by("state__iso3")
        return Region.objects.prefetch_related(
            Prefetch("memberships", queryset=members, to_attr="current_memberships")
        ).order_by("name")


class EditionViewSet(viewsets.ReadOnlyModelViewSet):
    """Editions of the guideline catalogue; one of them is current."""

    serializer_class = serializers.EditionSerializer
    lookup_field = "code"

    def get_queryset(self):
        return Edition.objects.select_related("previous").order_by("-published_on", "code")


class MeasureViewSet(viewsets.ReadOnlyModelViewSet):
    """The catalogue of measures, of the current edition unless ``edition`` names another."""

    serializer_class = serializers.MeasureSerializer
    filterset_class = MeasureFilterSet
    lookup_field = "code"

    def get_queryset(self):
        return (
            Measure.objects.select_related("edition", "section", "predecessor")
            .prefetch_related("instruments")
            .order_by("edition", "section__position", "position", "code")
        )


def with_shown_assessment(rows, user):
    """Annotate ``shown_assessment``: the assessment's id if ``user`` may read it, else ``None``."""
    readable = Assessment.objects.visible_to(user)
    return rows.annotate(
        shown_assessment=Case(
            When(assessment__in=readable, then=F("assessment_id")), default=None, output_field=BigIntegerField()
        )
    )


class RatingViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """
    Ratings of the current edition, both kinds. With ``as_of``, each as it stood at the
    end of that day; with ``updated_since``, only those saved or confirmed since.
    """

    serializer_class = serializers.RatingSerializer
    filterset_class = RatingFilterSet
    # The rating's id, which its history rows share: the same lookup works "as of" a day.
    lookup_field = "id"
    queryset = Rating.objects.current_edition()

    def filter_queryset(self, queryset):
        # "As of" swaps the ratings for history rows, so the joins come after the filters.
        rows = super().filter_queryset(queryset).select_related("state", "measure", "set_by")
        return with_shown_assessment(rows, self.request.user).order_by(*RATING_ORDER)

    def get_serializer_context(self):
        # "Stale" at the end of the as-of day; the FilterSet has already refused a bad date.
        as_of = self.request.query_params.get("as_of")
        context = super().get_serializer_context()
        context["at"] = (
            end_of_day(RatingFilterSet.base_filters["as_of"].field.clean(as_of)) if as_of else timezone.now()
        )
        return context


class RatingHistoryViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """
    Every change to the ratings you may read, newest first: as on a State's profile
    timeline, with who made it and why.
    """

    serializer_class = serializers.RatingHistorySerializer
    filterset_class = RatingHistoryFilterSet
    queryset = Rating.history.all()

    def filter_queryset(self, queryset):
        rows = super().filter_queryset(queryset).select_related("state", "measure", "history_user")
        rows = with_shown_assessment(rows, self.request.user).with_shown_reason(self.request.user)
        return rows.order_by("-history_date", "-history_id")


class AssessmentViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Assessments of the States you may read; CTED-only ones for analysts alone."""

    serializer_class = serializers.AssessmentSerializer
    filterset_class = AssessmentFilterSet
    queryset = Assessment.objects.select_related("state").order_by("-conducted_on", "state__name", "pk")


class RecommendationViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """CTED's recommendations to the States you may read, with the measures they concern."""

    serializer_class = serializers.RecommendationSerializer
    filterset_class = RecommendationFilterSet
    queryset = Recommendation.objects.select_related("state").prefetch_related(
        Prefetch("measures", queryset=Measure.objects.order_by("code"))
    )

    def get_queryset(self):
        rows = with_shown_assessment(super().get_queryset(), self.request.user)
        return rows.order_by("state__name", "status", "priority", "pk")


class SubmissionViewSet(ScopedViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """
    Focal points' proposed self-reports and their review, newest first. A focal point
    POSTs one for their State; it changes no rating until an analyst accepts it.
    """

    serializer_class = serializers.SubmissionSerializer
    filterset_class = SubmissionFilterSet
    queryset = Submission.objects.select_related("state", "measure", "submitted_by", "reviewed_by").order_by(
        "-submitted_at", "-id"
    )

    @extend_schema(
        responses={
            201: serializers.SubmissionSerializer,
            409: OpenApiResponse(
                DETAIL, description="Someone else's submission for this measure is pending; name it in `replaces`."
            ),
        }
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        try:
            submission = workflow.submit(
                state=values.pop("state"),
                measure=values.pop("measure"),
                replaces=values.pop("replaces_id", None),
                by=request.user,
                channel=Submission.Channel.API,
                **values,
            )
        # EditConflict is a ValidationError, so it is caught first.
        except workflow.EditConflict as conflict:
            return Response({"detail": " ".join(conflict.messages)}, status=status.HTTP_409_CONFLICT)
        except ValidationError as error:
            raise exceptions.ValidationError(_by_field(error)) from None
        except PermissionDenied as refusal:
            raise exceptions.PermissionDenied(str(refusal)) from None
        return Response(self.get_serializer(submission).data, status=status.HTTP_201_CREATED)


def _by_field(error):
    """A Django ``ValidationError``'s messages by field, as DRF answers bad input."""
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"non_field_errors": error.messages}
