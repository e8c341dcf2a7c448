from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from accounts import views as accounts
from config.health import healthz

urlpatterns = [
    path("", include("implementation.urls")),
    path("api/", include("implementation.api.urls")),
    # Before Django's own: the login asks for a TOTP code from accounts that have set one up.
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/two-factor/", accounts.two_factor, name="two_factor"),
    path("accounts/language/", accounts.set_language, name="set_language"),
    # Django's sign-out and password change; not its password reset by email: accounts are
    # made by administrators, who also reset passwords, and no mail server is configured.
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("healthz", healthz, name="healthz"),
    # One sign-in page for the whole site: the admin's own would skip the two-factor code and
    # the lockout page, so it sends people to this one, with the page they asked for.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
]

# A database outage answers 503 "back in a moment" rather than 500 (see config/health.py).
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.health.server_error"
