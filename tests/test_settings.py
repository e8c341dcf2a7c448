"""
The environment helpers in config/settings.py, and start-up refusing unsafe or
malformed configuration. Import-time checks run in a fresh interpreter, since the
settings of this test process are already loaded.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.settings import env_bool, env_cache, env_database, env_int, env_list, env_rate

VARIABLES = (
    "DATABASE_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CONN_MAX_AGE",
    "DJANGO_CACHE_URL",
    "DJANGO_LOGIN_RATE",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("raw", ["1", "true", "True", " yes ", "on"])
def test_env_bool_reads_yes(monkeypatch, raw):
    monkeypatch.setenv("DJANGO_DEBUG", raw)
    assert env_bool("DJANGO_DEBUG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", ""])
def test_env_bool_reads_no(monkeypatch, raw):
    monkeypatch.setenv("DJANGO_DEBUG", raw)
    assert env_bool("DJANGO_DEBUG", True) is False


def test_env_bool_unset_gives_the_default():
    assert env_bool("DJANGO_DEBUG", True) is True
    assert env_bool("DJANGO_DEBUG", False) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "y e s"])
def test_env_bool_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("DJANGO_DEBUG", raw)
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG"):
        env_bool("DJANGO_DEBUG", False)


def test_env_list_splits_on_commas_and_strips_spaces(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", "tracker.example.org, localhost")
    assert env_list("DJANGO_ALLOWED_HOSTS", []) == ["tracker.example.org", "localhost"]


def test_env_list_unset_gives_a_copy_of_the_default():
    default = ["localhost"]
    result = env_list("DJANGO_ALLOWED_HOSTS", default)
    assert result == ["localhost"]
    assert result is not default


@pytest.mark.parametrize("raw", ["", " ", "a,,b", "a,", ",a", "a, ,b"])
def test_env_list_refuses_empty_items_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", raw)
    with pytest.raises(ImproperlyConfigured, match="DJANGO_ALLOWED_HOSTS"):
        env_list("DJANGO_ALLOWED_HOSTS", [])


def test_env_int_reads_a_whole_number(monkeypatch):
    monkeypatch.setenv("DJANGO_CONN_MAX_AGE", "0")
    assert env_int("DJANGO_CONN_MAX_AGE", 60) == 0


def test_env_int_unset_gives_the_default():
    assert env_int("DJANGO_CONN_MAX_AGE", 60) == 60


@pytest.mark.parametrize("raw", ["", "sixty", "1.5", "60s"])
def test_env_int_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("DJANGO_CONN_MAX_AGE", raw)
    with pytest.raises(ImproperlyConfigured, match="DJANGO_CONN_MAX_AGE"):
        env_int("DJANGO_CONN_MAX_AGE", 60)


def test_env_database_unset_gives_the_sqlite_default():
    config = env_database("DATABASE_URL", "sqlite:////tmp/first-run.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/tmp/first-run.sqlite3"


def test_env_database_reads_a_postgres_url_and_the_connection_age(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://tracker:secret@db.example.org:5433/tracker")
    monkeypatch.setenv("DJANGO_CONN_MAX_AGE", "120")
    config = env_database("DATABASE_URL", "sqlite:///unused")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["HOST"], config["PORT"]) == (
        "tracker",
        "tracker",
        "db.example.org",
        5433,
    )
    assert config["CONN_MAX_AGE"] == 120


@pytest.mark.parametrize(
    "raw",
    [
        "nonsense",
        "mongodb://tracker@db.example.org/tracker",
        "postgres://tracker:secret@db.example.org:port/tracker",
        "postgres://tracker:secret@db.example.org:5432/",
    ],
    ids=["no-scheme", "unknown-scheme", "bad-port", "no-database-name"],
)
def test_env_database_refuses_a_malformed_url_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("DATABASE_URL", raw)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env_database("DATABASE_URL", "sqlite:///unused")


def test_env_database_refuses_a_malformed_connection_age(monkeypatch):
    monkeypatch.setenv("DJANGO_CONN_MAX_AGE", "forever")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_CONN_MAX_AGE"):
        env_database("DATABASE_URL", "sqlite:///unused")


def test_env_cache_unset_gives_each_process_its_own_memory():
    assert env_cache("DJANGO_CACHE_URL") == {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


@pytest.mark.parametrize(
    "raw", ["redis://cache.internal:6379/0", "rediss://:secret@cache.example.org:6380/1", "unix:///run/redis.sock"]
)
def test_env_cache_reads_a_redis_url_with_short_timeouts(monkeypatch, raw):
    monkeypatch.setenv("DJANGO_CACHE_URL", raw)
    config = env_cache("DJANGO_CACHE_URL")
    assert (config["BACKEND"], config["LOCATION"]) == ("config.cache.RedisCache", raw)
    assert config["OPTIONS"]["socket_connect_timeout"] <= 0.5
    assert config["OPTIONS"]["socket_timeout"] <= 1


@pytest.mark.parametrize(
    "raw", ["memcached://cache.internal:11211", "cache.internal:6379", "redis://cache.internal:port/0"]
)
def test_env_cache_refuses_anything_but_a_usable_redis_url_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("DJANGO_CACHE_URL", raw)
    with pytest.raises(ImproperlyConfigured, match="DJANGO_CACHE_URL"):
        env_cache("DJANGO_CACHE_URL")


def test_the_cache_is_local_memory_under_the_sites_prefix_by_default():
    # The suite runs without DJANGO_CACHE_URL: the cache tests point at a Redis of their own.
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert settings.CACHES["default"]["KEY_PREFIX"] == "tracker"
    assert settings.CACHE_IS_SHARED is False


@pytest.mark.parametrize("raw", ["20/minute", "1/second", "600/hour", "10000/day"])
def test_env_rate_reads_requests_per_period(monkeypatch, raw):
    monkeypatch.setenv("DJANGO_LOGIN_RATE", raw)
    assert env_rate("DJANGO_LOGIN_RATE", "20/minute") == raw


def test_env_rate_unset_gives_the_default():
    assert env_rate("DJANGO_LOGIN_RATE", "20/minute") == "20/minute"


@pytest.mark.parametrize("raw", ["", "20", "0/minute", "20/fortnight", "20 per minute", "-1/minute", "20/5m"])
def test_env_rate_refuses_anything_else_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("DJANGO_LOGIN_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="DJANGO_LOGIN_RATE"):
        env_rate("DJANGO_LOGIN_RATE", "20/minute")


def import_settings(**variables):
    """Import config.settings in a fresh interpreter with only ``variables`` set; returns the finished process."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **variables}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_start_up_refuses_production_without_a_secret_key():
    process = import_settings(DJANGO_DEBUG="false")
    assert process.returncode != 0
    assert "ImproperlyConfigured" in process.stderr
    assert "DJANGO_SECRET_KEY is unset while DJANGO_DEBUG is off" in process.stderr


def test_start_up_treats_an_unset_debug_as_production():
    process = import_settings()
    assert process.returncode != 0
    assert "DJANGO_SECRET_KEY is unset while DJANGO_DEBUG is off" in process.stderr


def test_start_up_allows_development_without_a_secret_key():
    process = import_settings(DJANGO_DEBUG="true")
    assert process.returncode == 0, process.stderr


def test_start_up_allows_production_with_a_secret_key():
    process = import_settings(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="a-long-random-key-for-this-test-only")
    assert process.returncode == 0, process.stderr


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("DATABASE_URL", "postgres://tracker@db.example.org:port/tracker"),
        ("DATABASE_URL", "mongodb://tracker@db.example.org/tracker"),
        ("DJANGO_ALLOWED_HOSTS", "tracker.example.org,,localhost"),
        ("DJANGO_CONN_MAX_AGE", "forever"),
        ("DJANGO_CACHE_URL", "memcached://cache.internal:11211"),
        ("DJANGO_LOGIN_RATE", "20 a minute"),
        ("DJANGO_API_RATE", "lots"),
    ],
)
def test_start_up_refuses_a_malformed_variable_naming_it(name, raw):
    process = import_settings(**{"DJANGO_DEBUG": "true", name: raw})
    assert process.returncode != 0
    assert "ImproperlyConfigured" in process.stderr
    assert f"{name} " in process.stderr


def test_start_up_refuses_an_empty_secret_key():
    process = import_settings(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="  ")
    assert process.returncode != 0
    assert "DJANGO_SECRET_KEY is set but empty" in process.stderr
