from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext

from .views import two_factor_required


class RequireTwoFactorMiddleware:
    """
    With REQUIRE_TWO_FACTOR_FOR_ANALYSTS on, an analyst or administrator whose session has
    not confirmed a TOTP code reaches only the two-factor page (and can log out): their
    accounts read and write every State.
    """

    ALLOWED = ("two_factor", "logout", "login")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified() and two_factor_required(user):
            allowed = {reverse(name) for name in self.ALLOWED}
            if request.path not in allowed and not request.path.startswith(("/static/", "/healthz")):
                messages.warning(request, gettext("Your role requires two-factor sign-in: set it up to continue."))
                return redirect("two_factor")
        return self.get_response(request)
