from django.contrib import admin
from django.urls import include, path

from implementation import spreadsheet_views, views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("regions/<slug:slug>/", views.region_dashboard, name="region"),
    path("states/<str:iso3>/", views.state_profile, name="state"),
    path("my-state/<str:iso3>/spreadsheet.xlsx", spreadsheet_views.my_state_spreadsheet, name="my_state_spreadsheet"),
    path("my-state/<str:iso3>/upload/", spreadsheet_views.my_state_upload, name="my_state_upload"),
    path(
        "my-state/<str:iso3>/upload/<int:pk>/",
        spreadsheet_views.my_state_upload_preview,
        name="my_state_upload_preview",
    ),
    path("imports/ratings/", spreadsheet_views.bulk_import, name="bulk_import"),
    path("imports/ratings/<int:pk>/", spreadsheet_views.bulk_import_preview, name="bulk_import_preview"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("implementation.api")),
    path("admin/", admin.site.urls),
]
