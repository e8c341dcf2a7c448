from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from config.health import healthz
from implementation.views import dashboards as views
from implementation.views import spreadsheets as spreadsheet_views
from implementation.views import workflow as workflow_views
from states import accounts

urlpatterns = [
    path("", views.overview, name="overview"),
    path("regions/<slug:slug>/", views.region_dashboard, name="region"),
    path("states/<str:iso3>/", views.state_profile, name="state"),
    path("states/<str:iso3>/snapshots/", workflow_views.snapshots, name="state_snapshots"),
    path("states/<str:iso3>/snapshots/compare/", workflow_views.compare_snapshots, name="snapshot_compare"),
    path("states/<str:iso3>/snapshots/<int:pk>/", workflow_views.snapshot_detail, name="snapshot"),
    path("my-state/", workflow_views.my_state, name="my_state"),
    path("my-state/<str:iso3>/", workflow_views.my_state_detail, name="my_state_detail"),
    # A measure code has a dash and a number (SALW-04), so words such as "upload" stay free for other pages.
    re_path(
        r"^my-state/(?P<iso3>[A-Za-z]{3})/(?P<code>[A-Za-z]+-[0-9][0-9A-Za-z.-]*)/$",
        workflow_views.report_measure,
        name="my_state_report",
    ),
    path("my-state/<str:iso3>/spreadsheet.xlsx", spreadsheet_views.my_state_spreadsheet, name="my_state_spreadsheet"),
    path("my-state/<str:iso3>/upload/", spreadsheet_views.my_state_upload, name="my_state_upload"),
    path(
        "my-state/<str:iso3>/upload/<int:pk>/",
        spreadsheet_views.my_state_upload_preview,
        name="my_state_upload_preview",
    ),
    path("imports/ratings/", spreadsheet_views.bulk_import, name="bulk_import"),
    path("imports/ratings/<int:pk>/", spreadsheet_views.bulk_import_preview, name="bulk_import_preview"),
    path("review/", workflow_views.review_queue, name="review"),
    path("review/<int:pk>/accept/", workflow_views.accept_submission, name="review_accept"),
    path("review/<int:pk>/return/", workflow_views.return_submission, name="review_return"),
    path("api/", include("implementation.api.views")),
    # Before Django's own: the login asks for a TOTP code from accounts that have set one up.
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/two-factor/", accounts.two_factor, name="two_factor"),
    path("accounts/language/", accounts.set_language, name="set_language"),
    # Django's sign-out and password change; not its password reset by email: accounts are
    # made by administrators, who also reset passwords, and no mail server is configured.
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("help/", views.help_page, name="help"),
    path("healthz", healthz, name="healthz"),
    # The printed page's margins in each language (see views.print_stylesheet).
    path("print/<str:language>.css", views.print_stylesheet, name="print_stylesheet"),
    # One sign-in page for the whole site: the admin's own would skip the two-factor code and
    # the lockout page, so it sends people to this one, with the page they asked for.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
]

# A database outage answers 503 "back in a moment" rather than 500 (see config/health.py).
handler500 = "config.health.server_error"
