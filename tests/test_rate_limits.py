"""
Rates counted in the cache: the API's requests per token (DRF's throttles, DJANGO_API_RATE) and the sign-in POSTs
per client address in front of django-axes (django-ratelimit, DJANGO_LOGIN_RATE). Past either, a 429 with
Retry-After. The suite runs with both rates far above what it sends (pyproject.toml); these tests lower them.
"""

import logging
import os
import subprocess
import sys

import factories
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse
from rest_framework.throttling import SimpleRateThrottle

PASSWORD = "the right password 2370"
MINISTRY_PROXY = "10.20.30.40"
ELSEWHERE = "10.99.0.1"


@pytest.fixture(autouse=True)
def empty_cache(settings, request):
    # A local-memory cache of this test's own: no count carried over from another test in this process.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.nodeid}
    }


def audit(caplog, event):
    return [r.msg for r in caplog.records if r.name == "tracker.audit" and r.msg.get("event") == event]


# --- The API ----------------------------------------------------------------------------


@pytest.fixture
def api_rate(monkeypatch):
    # DRF copies the rates into its throttle classes when it is imported, so a test sets them there.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": "2/minute"})


def test_a_token_past_the_rate_is_answered_429_with_retry_after_while_another_is_still_served(
    api_rate, world, analyst, focal_jam, caplog
):
    ana = factories.token_client(analyst)
    for _ in range(3):
        assert ana.get("/api/v1/states/").status_code == 200
    with caplog.at_level(logging.WARNING, logger="tracker.audit"):
        refused = ana.get("/api/v1/states/", {"format": "csv"})
    assert refused.status_code == 429
    # In the API's error format, JSON even for a client that asked for CSV.
    assert refused["Content-Type"] == "application/json"
    assert "throttled" in refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert audit(caplog, "too_many_requests")[0]["user_id"] == analyst.pk
    # Per token: Jamaica's focal point has made no request yet.
    assert factories.token_client(focal_jam).get("/api/v1/states/").status_code == 200
    assert ana.get("/api/v1/regions/").status_code == 429


def test_the_api_rates_come_from_the_environment():
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {"user": "100000/minute", "anon": "60/minute"}
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ]


# --- Signing in ---------------------------------------------------------------------------


@pytest.fixture
def login_rate(settings, analyst, focal_jam):
    settings.LOGIN_RATE = "3/minute"
    for user in (analyst, focal_jam):
        user.set_password(PASSWORD)
        user.save()


def login_from(client, address, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def test_an_address_past_the_sign_in_rate_gets_a_429_page_before_any_password_is_checked(login_rate, client, caplog):
    for _ in range(3):
        assert login_from(client, MINISTRY_PROXY, "ana", "wrong").status_code == 200
    with caplog.at_level(logging.WARNING, logger="tracker.audit"):
        refused = login_from(client, MINISTRY_PROXY, "jo", PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    page = refused.content.decode()
    assert "Too many sign-ins from this address" in page
    assert "Try again in 1 minute." in page
    assert "_auth_user_id" not in client.session
    # Neither the refused password nor axes' count was touched: three failures, all for "ana".
    assert sum(AccessAttempt.objects.filter(username="ana").values_list("failures_since_start", flat=True)) == 3
    assert not AccessAttempt.objects.filter(username="jo").exists()
    assert audit(caplog, "too_many_requests")[0]["ip"] == MINISTRY_PROXY


def test_showing_the_sign_in_page_is_not_counted(login_rate, client):
    for _ in range(5):
        assert client.get(reverse("login"), REMOTE_ADDR=MINISTRY_PROXY).status_code == 200
    assert login_from(client, MINISTRY_PROXY, "jo", PASSWORD).status_code == 302


def test_another_address_still_signs_in_while_one_is_refused(login_rate, client):
    for _ in range(4):
        login_from(client, MINISTRY_PROXY, "ana", "wrong")
    assert login_from(client, MINISTRY_PROXY, "jo", PASSWORD).status_code == 429
    assert login_from(client, ELSEWHERE, "jo", PASSWORD).status_code == 302


def test_behind_a_proxy_each_client_is_counted_apart_whatever_it_forges(login_rate, client, settings):
    # As DJANGO_BEHIND_PROXY sets them (tested below): the proxy's own entry, the last, is the client.
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    settings.AXES_IPWARE_PROXY_ORDER = "right-most"
    for n in range(3):
        forged = f"192.0.2.{n}, 203.0.113.7"
        assert login_from(client, MINISTRY_PROXY, "ana", "wrong", HTTP_X_FORWARDED_FOR=forged).status_code == 200
    assert login_from(client, MINISTRY_PROXY, "jo", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    assert login_from(client, MINISTRY_PROXY, "jo", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 302
    # django-axes recorded the same address.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}


def test_behind_a_proxy_axes_and_the_limit_read_the_address_the_proxy_adds():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
        "from django.conf import settings as s; "
        "print(s.AXES_IPWARE_META_PRECEDENCE_ORDER, s.AXES_IPWARE_PROXY_ORDER, s.AXES_IPWARE_PROXY_COUNT, "
        "s.REST_FRAMEWORK['NUM_PROXIES'])"
    )
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_DEBUG": "true", "DJANGO_BEHIND_PROXY": "true"}
    out = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["('HTTP_X_FORWARDED_FOR',", "'REMOTE_ADDR')", "right-most", "None", "1"]


def test_the_refusal_is_in_the_readers_language(login_rate, client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    for _ in range(3):
        login_from(client, MINISTRY_PROXY, "ana", "wrong")
    refused = login_from(client, MINISTRY_PROXY, "ana", "wrong")
    assert refused.status_code == 429
    assert '<html lang="fr"' in refused.content.decode()
    assert "Trop de tentatives de connexion depuis cette adresse" in refused.content.decode()


def test_the_sign_in_rate_comes_from_the_environment():
    assert settings.LOGIN_RATE == "100000/minute"


# --- In the shared cache --------------------------------------------------------------------


def test_both_rates_count_in_redis_when_it_is_the_cache(redis_cache, api_rate, login_rate, client, analyst):
    for _ in range(3):
        login_from(client, MINISTRY_PROXY, "ana", "wrong")
    assert login_from(client, MINISTRY_PROXY, "ana", PASSWORD).status_code == 429
    ana = factories.token_client(analyst)
    for _ in range(3):
        assert ana.get("/api/v1/states/").status_code == 200
    assert ana.get("/api/v1/states/").status_code == 429
