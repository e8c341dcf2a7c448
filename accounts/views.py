"""
Signing in: the password, then a TOTP code for accounts that have set one up, and the
page where anyone sets it up. django-otp does the cryptography; django-axes counts the
failures (a wrong code counts like a wrong password) and locks the account.
"""

import base64

import segno
from axes.helpers import get_client_ip_address
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import signals as auth_signals
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_ratelimit.core import get_usage

from states.models import is_analyst

from .models import Preference


def two_factor_required(user):
    """Whether the settings require ``user`` to confirm a TOTP code (analysts and administrators)."""
    return settings.REQUIRE_TWO_FACTOR_FOR_ANALYSTS and is_analyst(user)


class LoginForm(AuthenticationForm):
    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text=_("Only if you have set up two-factor sign-in."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django's autofocus would start the page in the box: the first Tab would pass the
        # skip link, and a screen reader would skip the page's heading.
        self.fields["username"].widget.attrs.pop("autofocus", None)

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        self.otp_device = None
        if not any(devices_for_user(user, confirmed=True)):
            return
        token = self.cleaned_data.get("otp_token", "").strip()
        self.otp_device = match_token(user, token) if token else None
        if self.otp_device is None:
            # Counted by django-axes like a wrong password.
            auth_signals.user_login_failed.send(
                sender=__name__, credentials={"username": user.get_username()}, request=self.request
            )
            raise forms.ValidationError(
                gettext("Enter the current six-digit code from your authenticator app.")
                if not token
                else gettext("That code is wrong or has expired; enter the current one."),
                code="otp",
            )


def client_address(group, request):
    """The address django-axes records for a sign-in: django-ipware's, the proxy's client behind one."""
    return get_client_ip_address(request) or ""


class LoginView(auth_views.LoginView):
    form_class = LoginForm

    def post(self, request, *args, **kwargs):
        # Counted before the password is checked, so that a refused attempt reaches neither the
        # accounts nor axes' count of their failures.
        usage = get_usage(
            request, group="login", key=client_address, rate=settings.LOGIN_RATE, method="POST", increment=True
        )
        if usage is not None and usage["should_limit"]:
            return too_many_sign_ins(request, retry_after=max(usage["time_left"], 1))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.otp_device is not None:
            otp_login(self.request, form.otp_device)
        # The language the user chose on any device, from this sign-in on; the cookie then
        # carries it, so that reading it costs no query on later requests.
        language = Preference.language_of(form.get_user())
        if language:
            set_language_cookie(response, language)
        return response


def too_many_sign_ins(request, retry_after):
    """The 429 page for an address past ``LOGIN_RATE``, with ``Retry-After`` in seconds."""
    context = {"minutes": -(-retry_after // 60)}
    response = render(request, "registration/too_many_sign_ins.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def set_language_cookie(response, language):
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@require_POST
def set_language(request):
    """
    Django's language switch (a cookie, then back to the page), which also keeps a signed-in
    user's choice for their next sign-in, on any device.
    """
    language = request.POST.get("language")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest(
            f"Unknown language {language!r}: choose one of {', '.join(dict(settings.LANGUAGES))}."
        )
    response = django_set_language(request)
    if request.user.is_authenticated:
        Preference.set_language(request.user, language)
    return response


class ConfirmDeviceForm(forms.Form):
    token = forms.CharField(
        label=_("Code shown by the app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@login_required
def two_factor(request):
    """Set up TOTP: scan the code, confirm with one code, and from then on sign in with one."""
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed is not None:
        # Set up already; a session that has not confirmed a code yet (the requirement was
        # switched on after the user logged in) confirms one here.
        form = None if user.is_verified() else ConfirmDeviceForm(request.POST or None)
        if form is not None and form.is_valid():
            if confirmed.verify_token(form.cleaned_data["token"].strip()):
                otp_login(request, confirmed)
                return redirect("overview")
            auth_signals.user_login_failed.send(
                sender=__name__, credentials={"username": user.get_username()}, request=request
            )
            form.add_error("token", gettext("That code is wrong or has expired; enter the current one."))
        return render(request, "registration/two_factor.html", {"device": confirmed, "form": form})
    # The device's name is stored, and shown back to its owner: in their language at setup.
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": gettext("Authenticator app")}
    )
    form = ConfirmDeviceForm(request.POST or None)
    if form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(
                request, gettext("Two-factor sign-in is on. You will be asked for a code each time you log in.")
            )
            return redirect("two_factor")
        form.add_error(
            "token", gettext("That code does not match; check the phone's clock and enter the current code.")
        )
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "required": two_factor_required(user),
        # segno writes plain SVG markup: no script and no style attribute, so the CSP allows it.
        "qr_svg": mark_safe(qr.svg_inline(scale=4, title=gettext("QR code for your authenticator app"))),  # noqa: S308
        "secret": _base32(device),
    }
    return render(request, "registration/two_factor.html", context)


def _base32(device):
    key = base64.b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))
