from django.urls import path, re_path

from .views import dashboards, spreadsheets, workflow

urlpatterns = [
    path("", dashboards.overview, name="overview"),
    path("regions/<slug:slug>/", dashboards.region_dashboard, name="region"),
    path("regions/<slug:slug>/table/", dashboards.region_table, name="region_table"),
    path("states/<str:iso3>/", dashboards.state_profile, name="state"),
    path("states/<str:iso3>/snapshots/", workflow.snapshots, name="state_snapshots"),
    path("states/<str:iso3>/snapshots/compare/", workflow.compare_snapshots, name="snapshot_compare"),
    path("states/<str:iso3>/snapshots/<int:pk>/", workflow.snapshot_detail, name="snapshot"),
    path("my-state/", workflow.my_state, name="my_state"),
    path("my-state/<str:iso3>/", workflow.my_state_detail, name="my_state_detail"),
    # A measure code has a dash and a number (SALW-04), so words such as "upload" stay free for other pages.
    re_path(
        r"^my-state/(?P<iso3>[A-Za-z]{3})/(?P<code>[A-Za-z]+-[0-9][0-9A-Za-z.-]*)/$",
        workflow.report_measure,
        name="my_state_report",
    ),
    path("my-state/<str:iso3>/spreadsheet.xlsx", spreadsheets.my_state_spreadsheet, name="my_state_spreadsheet"),
    path("my-state/<str:iso3>/upload/", spreadsheets.my_state_upload, name="my_state_upload"),
    path("my-state/<str:iso3>/upload/<int:pk>/", spreadsheets.my_state_upload_preview, name="my_state_upload_preview"),
    path("imports/ratings/", spreadsheets.bulk_import, name="bulk_import"),
    path("imports/ratings/<int:pk>/", spreadsheets.bulk_import_preview, name="bulk_import_preview"),
    path("review/", workflow.review_queue, name="review"),
    path("review/<int:pk>/accept/", workflow.accept_submission, name="review_accept"),
    path("review/<int:pk>/return/", workflow.return_submission, name="review_return"),
    path("help/", dashboards.help_page, name="help"),
    # The printed page's margins in each language (see views.dashboards.print_stylesheet).
    path("print/<str:language>.css", dashboards.print_stylesheet, name="print_stylesheet"),
]
