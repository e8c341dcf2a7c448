"""
Production hardening: the deployment check, HTTPS settings, the Content Security Policy,
account lockout, two-factor sign-in, the audit trail, request ids and the health check.
"""

import datetime as dt
import os
import re
import subprocess
import sys
from io import StringIO

import factories
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from states.models import Role

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k7Qp2-a-long-random-production-like-key-that-is-only-for-this-test-x9Z",
    "DJANGO_ALLOWED_HOSTS": "tracker.example.org",
    "DJANGO_CACHE_URL": "redis://cache.internal:6379/0",
}


def manage(*args, **variables):
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **variables}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def print_settings(*names, **variables):
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup(); " + (
        "from django.conf import settings as s; print("
        + ", ".join(f"repr(getattr(s, {n!r}, None))" for n in names)
        + ", sep='|')"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **variables}
    out = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().split("|")


# --- Deployment settings ------------------------------------------------------------


def test_deploy_check_is_clean_under_production_settings():
    process = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert process.returncode == 0, process.stdout + process.stderr
    assert "no issues" in process.stdout


def test_deploy_check_fails_when_https_is_switched_off():
    # The check above would pass vacuously if it could not fail: without HTTPS it must.
    process = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_HTTPS="false", **PRODUCTION)
    assert process.returncode != 0
    assert "security.W004" in process.stderr + process.stdout  # HSTS
    assert "security.W012" in process.stderr + process.stdout  # session cookie not secure


def test_deploy_check_warns_when_each_process_has_its_own_cache():
    # Each worker would count the rate limits alone and build its own copy of each page.
    process = manage("check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "DJANGO_CACHE_URL": ""})
    assert process.returncode != 0
    assert "tracker.W001" in process.stderr + process.stdout
    assert "DJANGO_CACHE_URL" in process.stderr + process.stdout


def test_production_defaults_to_https_and_trusts_no_proxy_header_unless_told():
    secure, hsts, redirect, proxy = print_settings(
        "SESSION_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", **PRODUCTION
    )
    assert (secure, hsts, redirect, proxy) == ("True", "31536000", "True", "None")
    (proxy,) = print_settings("SECURE_PROXY_SSL_HEADER", DJANGO_BEHIND_PROXY="true", **PRODUCTION)
    assert proxy == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_development_keeps_plain_http():
    secure, redirect = print_settings("SESSION_COOKIE_SECURE", "SECURE_SSL_REDIRECT", DJANGO_DEBUG="true")
    assert (secure, redirect) == ("False", "False")


@pytest.mark.parametrize(("name", "raw"), [("DJANGO_LOG_FORMAT", "xml"), ("DJANGO_LOG_LEVEL", "LOUD")])
def test_start_up_refuses_a_bad_log_setting_naming_it(name, raw):
    process = manage("check", DJANGO_DEBUG="true", **{name: raw})
    assert process.returncode != 0
    assert name in process.stderr


def test_sessions_expire_and_short_passwords_are_refused(db):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Tr4ck-2370")
    validate_password("a much longer pass phrase 2370")


# --- Content Security Policy ---------------------------------------------------------


def test_every_page_sends_a_strict_policy_and_carries_nothing_inline(client, analyst, ratings, world):
    client.force_login(analyst)
    for url in ("/", "/regions/caribbean/", "/states/JAM/", "/accounts/two-factor/"):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\sstyle=", html), url
        assert not re.search(r"\son[a-z]+=", html), url


# --- Lockout, audit and request ids -------------------------------------------------------


def audit(caplog, event=None):
    """The audit trail's events in order, as dicts (structlog's event dicts)."""
    events = [r.msg for r in caplog.records if r.name == "tracker.audit" and isinstance(r.msg, dict)]
    return [e for e in events if event is None or e["event"] == event]


def login(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password, **extra})


def test_account_is_locked_after_five_failures_with_a_clear_message(client, analyst, caplog):
    analyst.set_password("the right password 2370")
    analyst.save()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "ana", "wrong").status_code == 200
    locked = login(client, "ana", "wrong")
    assert locked.status_code == 429
    assert "This account is locked for now" in locked.content.decode()
    # Locked means locked: the right password does not get in until the cool-off ends.
    again = login(client, "ana", "the right password 2370")
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    assert [e["username"] for e in audit(caplog, "login_failed")][:5] == ["ana"] * 5
    assert audit(caplog, "account_locked")[0]["username"] == "ana"


MINISTRY_PROXY = "10.20.30.40"


def login_from(address, client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def fail_until_locked(client, username, address):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login_from(address, client, username, "wrong")


def test_one_account_locked_from_a_shared_address_leaves_the_others_signing_in(client, analyst, focal_jam):
    for user in (analyst, focal_jam):
        user.set_password("the right password 2370")
        user.save()
    fail_until_locked(client, "ana", MINISTRY_PROXY)
    assert login_from(MINISTRY_PROXY, client, "ana", "the right password 2370").status_code == 429
    # Someone else behind the same proxy signs in: the address itself is not locked.
    response = login_from(MINISTRY_PROXY, client, "jo", "the right password 2370")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(focal_jam.pk)


def test_a_locked_account_is_locked_from_every_address(client, analyst, caplog):
    analyst.set_password("the right password 2370")
    analyst.save()
    fail_until_locked(client, "ana", MINISTRY_PROXY)
    assert {event["ip"] for event in audit(caplog, "login_failed")} == {MINISTRY_PROXY}
    response = login_from("10.99.0.1", client, "ana", "the right password 2370")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


LOCKED_TOKEN = "This account is locked after too many failed sign-ins, and so is its token."


def test_a_locked_accounts_token_is_refused_until_an_administrator_unlocks_it(client, analyst):
    api = factories.token_client(analyst)
    assert api.get("/api/v1/states/").status_code == 200
    fail_until_locked(client, "ana", MINISTRY_PROXY)
    refused = api.get("/api/v1/states/")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == "Token"
    assert refused.json()["detail"].startswith(LOCKED_TOKEN)
    call_command("axes_reset_username", "ana", stdout=StringIO())
    assert api.get("/api/v1/states/").status_code == 200


def test_a_locked_accounts_token_works_again_once_the_cool_off_ends(client, analyst, focal_jam):
    api, other = factories.token_client(analyst), factories.token_client(focal_jam)
    fail_until_locked(client, "ana", MINISTRY_PROXY)
    assert api.get("/api/v1/states/").status_code == 401
    # Another account's token is not touched.
    assert other.get("/api/v1/states/").status_code == 200
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - dt.timedelta(minutes=1))
    assert api.get("/api/v1/states/").status_code == 200


def test_a_few_failures_short_of_the_limit_leave_the_token_working_at_no_extra_query(client, analyst):
    api = factories.token_client(analyst)
    with CaptureQueriesContext(connection) as before:
        assert api.get("/api/v1/states/").status_code == 200
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login_from(MINISTRY_PROXY, client, "ana", "wrong")
    with CaptureQueriesContext(connection) as after:
        assert api.get("/api/v1/states/").status_code == 200
    # Whether the account may be locked is read with the token: axes is asked only at the limit.
    assert len(after) == len(before)


def test_an_inactive_accounts_token_is_refused_with_a_message(analyst):
    api = factories.token_client(analyst)
    analyst.is_active = False
    analyst.save()
    response = api.get("/api/v1/states/")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("This account has been deactivated, and so has its token.")


def test_logins_failures_and_refusals_are_audited_with_the_request_id(client, settings, nobody, caplog):
    settings.DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True  # as behind a proxy
    nobody.set_password("the right password 2370")
    nobody.save()
    login(client, "nemo", "wrong")
    response = login(client, "nemo", "the right password 2370")
    assert response.status_code == 302
    refused = client.get("/", HTTP_X_REQUEST_ID="req-from-the-proxy-1")
    assert refused.status_code == 403
    assert refused["X-Request-ID"] == "req-from-the-proxy-1"

    failed, logged_in, denied = (
        audit(caplog, "login_failed"),
        audit(caplog, "login"),
        audit(caplog, "permission_denied"),
    )
    assert failed[0]["username"] == "nemo" and failed[0]["ip"] == "127.0.0.1"
    assert logged_in[0]["user_id"] == nobody.pk
    assert denied == [
        {
            **denied[0],
            "status": 403,
            "path": "/",
            "method": "GET",
            "user_id": nobody.pk,
            "request_id": "req-from-the-proxy-1",
        }
    ]
    # The password tried is never written down.
    assert "wrong" not in str(failed)


def test_every_response_carries_a_request_id_of_its_own_unless_behind_a_proxy(client):
    first, second = client.get(reverse("login")), client.get(reverse("login"), HTTP_X_REQUEST_ID="chosen-by-client")
    assert re.fullmatch(r"[0-9a-f-]{36}", first["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f-]{36}", second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


# --- Two-factor sign-in ------------------------------------------------------------------


def current_code(device, steps_ahead=0):
    """The code the app shows now, or ``steps_ahead`` periods later (a code is accepted once only)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time += steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def other_than(code):
    return "000000" if code != "000000" else "111111"


def set_up_two_factor(client, user):
    client.force_login(user)
    page = client.get(reverse("two_factor"))
    assert "<svg" in page.content.decode() and "Key:" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post(reverse("two_factor"), {"token": other_than(current_code(device))})
    assert "does not match" in wrong.content.decode()
    # django-otp makes a device wait a little after each wrong code; the test does not.
    device.refresh_from_db()
    device.throttle_reset()
    assert client.post(reverse("two_factor"), {"token": current_code(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    client.logout()
    return device


def test_a_user_with_two_factor_needs_the_code_to_log_in(client, focal_jam, caplog):
    focal_jam.set_password("the right password 2370")
    focal_jam.save()
    device = set_up_two_factor(client, focal_jam)

    without = login(client, "jo", "the right password 2370")
    assert "Enter the current six-digit code" in without.content.decode()
    assert "_auth_user_id" not in client.session
    wrong = login(client, "jo", "the right password 2370", otp_token=other_than(current_code(device, 1)))
    assert "wrong or has expired" in wrong.content.decode()
    # A wrong code counts towards the lockout like a wrong password.
    assert len(audit(caplog, "login_failed")) == 2

    # django-otp makes a device wait a little after a wrong code; the test does not.
    device.refresh_from_db()
    device.throttle_reset()
    right = login(client, "jo", "the right password 2370", otp_token=current_code(device, 1))
    assert right.status_code == 302
    assert client.get("/states/JAM/").status_code == 200


def test_without_two_factor_the_code_field_is_ignored(client, focal_jam):
    focal_jam.set_password("the right password 2370")
    focal_jam.save()
    assert login(client, "jo", "the right password 2370").status_code == 302


def test_the_setting_requires_two_factor_of_analysts_only(client, settings, analyst, focal_jam, ratings):
    settings.REQUIRE_TWO_FACTOR_FOR_ANALYSTS = True
    client.force_login(analyst)
    response = client.get("/states/JAM/")
    assert response.status_code == 302 and response["Location"] == reverse("two_factor")
    assert client.get(reverse("two_factor")).status_code == 200
    # Focal points are not held up.
    client.force_login(focal_jam)
    assert client.get("/states/JAM/").status_code == 200


def test_an_analyst_with_a_device_confirms_a_code_once_per_session(client, settings, analyst, ratings):
    device = set_up_two_factor(client, analyst)
    settings.REQUIRE_TWO_FACTOR_FOR_ANALYSTS = True
    client.force_login(analyst)  # a session without a confirmed code
    assert client.get("/states/JAM/")["Location"] == reverse("two_factor")
    assert client.post(reverse("two_factor"), {"token": current_code(device, 1)}).status_code == 302
    assert client.get("/states/JAM/").status_code == 200
    assert Role.objects.filter(user=analyst, kind=Role.Kind.ANALYST).exists()


# --- Health ------------------------------------------------------------------------------


def test_healthz_answers_ok_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_the_database_does_not(client, db, monkeypatch):
    class Unreachable:
        def cursor(self):
            raise OperationalError("could not connect to server")

        def close_if_unusable_or_obsolete(self):
            pass

    monkeypatch.setattr("config.health.connection", Unreachable())
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"status": "unavailable", "database": "OperationalError"})


@pytest.mark.parametrize(
    ("error", "status", "says"),
    [
        (OperationalError("server closed the connection unexpectedly"), 503, "back in a moment"),
        (RuntimeError("a bug"), 500, "Something went wrong on our side"),
    ],
)
def test_a_database_outage_answers_503_and_any_other_error_500(db, analyst, monkeypatch, error, status, says):
    from django.test import Client

    def fail(**kwargs):
        raise error

    monkeypatch.setattr("implementation.dashboards.build_overview", fail)
    client = Client(raise_request_exception=False)
    client.force_login(analyst)
    response = client.get("/")
    assert response.status_code == status
    assert says in response.content.decode()
    assert (response.get("Retry-After") == "30") is (status == 503)


def test_the_admin_signs_in_through_the_sites_own_page(client, focal_jam):
    response = client.get("/admin/login/?next=/admin/implementation/rating/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/implementation/rating/"
    # A password alone does not get past the two-factor code through the admin's form either.
    focal_jam.set_password("the right password 2370")
    focal_jam.save()
    TOTPDevice.objects.create(user=focal_jam, name="phone", confirmed=True)
    client.post("/admin/login/", {"username": "jo", "password": "the right password 2370"})
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
