"""The API's routes: the viewsets under /api/v1/, the OpenAPI schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import routers

from . import views

# Path converters rather than regexes: a lookup takes any value but "/", so that a
# malformed one (an id with a dot, a lowercase ISO3) gets the API's JSON 404, not the site's page.
router = routers.DefaultRouter(use_regex_path=False)
# ?format=csv chooses the renderer; a second spelling (ratings.csv) would only double the schema.
router.include_format_suffixes = False
router.register("states", views.StateViewSet, basename="api-state")
router.register("regions", views.RegionViewSet, basename="api-region")
router.register("editions", views.EditionViewSet, basename="api-edition")
router.register("measures", views.MeasureViewSet, basename="api-measure")
router.register("ratings", views.RatingViewSet, basename="api-rating")
router.register("rating-history", views.RatingHistoryViewSet, basename="api-rating-history")
router.register("assessments", views.AssessmentViewSet, basename="api-assessment")
router.register("recommendations", views.RecommendationViewSet, basename="api-recommendation")
router.register("submissions", views.SubmissionViewSet, basename="api-submission")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="implementation/api_docs.html"),
        name="api-docs",
    ),
]
