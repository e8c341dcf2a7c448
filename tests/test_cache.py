"""
The shared cache (config/cache.py, docs/operations.md "The shared cache"): Redis as the settings configure it
from DJANGO_CACHE_URL, and a site that keeps serving, uncached, and says so in its log, while Redis is down.
"""

import logging
import socket
import threading
import time

import factories
import pytest
import redis
import redis_server
from django.core.cache import cache
from django.urls import reverse

from config import cache as shared_cache

PASSWORD = "the right password 2370"
DASHBOARDS = ("/", "/regions/caribbean/", "/states/JAM/")


@pytest.fixture(autouse=True)
def no_warning_yet(monkeypatch):
    # Each test starts as a fresh process would, without a warning in the last minute.
    monkeypatch.setattr(shared_cache, "last_warning", None)


def cache_warnings(caplog):
    return [r.msg for r in caplog.records if r.name == "tracker.cache" and isinstance(r.msg, dict)]


def test_the_settings_store_and_read_back_through_redis_under_the_sites_prefix(redis_cache, redis_url):
    assert type(redis_cache) is shared_cache.RedisCache
    redis_cache.set("page", {"html": "<h1>Jamaica</h1>"}, 30)
    assert redis_cache.get("page") == {"html": "<h1>Jamaica</h1>"}
    assert redis_cache.get_many(["page", "absent"]) == {"page": {"html": "<h1>Jamaica</h1>"}}
    assert redis_cache.add("page", "other") is False
    assert redis_cache.add("count", 1, 30) is True
    assert redis_cache.incr("count") == 2
    # Stored in Redis itself, under this site's prefix, where another site's keys cannot meet it.
    prefix = redis_cache.key_prefix
    with redis.Redis.from_url(redis_url) as raw:
        assert raw.exists(f"{prefix}:1:page") == 1
        assert 0 < raw.ttl(f"{prefix}:1:page") <= 30
    assert redis_cache.delete("page") is True
    assert redis_cache.get("page", "gone") == "gone"


@pytest.fixture
def stoppable_redis(tmp_path, settings):
    """A Redis of this test's own, which it may stop, set as the default cache."""
    server = redis_server.RedisServer(tmp_path)
    settings.CACHES = redis_server.cache_settings(server.url)
    yield server
    server.stop()


def test_with_redis_stopped_sign_in_the_dashboards_and_the_api_still_answer_and_the_log_says_so(
    stoppable_redis, client, analyst, ratings, caplog
):
    analyst.set_password(PASSWORD)
    analyst.save()
    cache.set("before", "kept", 60)
    assert cache.get("before") == "kept"
    stoppable_redis.stop()

    with caplog.at_level(logging.WARNING, logger="tracker.cache"):
        # Signing in counts the address in the cache (the sign-in limit), the API counts the token.
        response = client.post(reverse("login"), {"username": "ana", "password": PASSWORD})
        assert response.status_code == 302
        for url in DASHBOARDS:
            assert client.get(url).status_code == 200, url
        assert factories.token_client(analyst).get("/api/v1/states/").status_code == 200
        assert cache.get("before") is None

    # Said once, not once per cache call.
    (warning,) = cache_warnings(caplog)
    assert warning["event"] == "cache_unavailable"
    assert warning["action"] == "serving uncached"
    assert "ConnectionError" in warning["error"]


@pytest.fixture
def nothing_listens(settings):
    """The default cache pointed at a loopback port where nothing listens."""
    settings.CACHES = redis_server.cache_settings(f"redis://127.0.0.1:{redis_server.free_port()}/0")
    return cache


def test_every_operation_on_an_unreachable_redis_is_a_miss_or_does_nothing(nothing_listens, caplog):
    with caplog.at_level(logging.WARNING, logger="tracker.cache"):
        assert cache.get("key") is None
        assert cache.get("key", "default") == "default"
        assert cache.get_many(["a", "b"]) == {}
        assert cache.has_key("key") is False
        assert "key" not in cache
        assert cache.add("key", 1) is False
        assert cache.set("key", 1) is None
        assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
        assert cache.touch("key") is False
        assert cache.delete("key") is False
        assert cache.delete_many(["a", "b"]) is None
        assert cache.get_or_set("key", "built") == "built"
        with pytest.raises(ValueError, match="not found"):
            cache.incr("key")
        with pytest.raises(ValueError, match="not found"):
            cache.decr("key")
        assert cache.clear() is False
    assert len(cache_warnings(caplog)) == 1


def test_the_warning_is_repeated_once_a_minute_while_redis_stays_down(nothing_listens, caplog):
    with caplog.at_level(logging.WARNING, logger="tracker.cache"):
        cache.get("key")
        cache.get("key")
        assert len(cache_warnings(caplog)) == 1
        shared_cache.last_warning = time.monotonic() - shared_cache.WARN_EVERY
        cache.get("key")
        assert len(cache_warnings(caplog)) == 2


def test_a_redis_that_accepts_but_never_answers_is_a_miss_after_the_short_timeout(settings):
    # The kernel accepts the connection into the backlog; nothing ever reads or writes it.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.CACHES = redis_server.cache_settings(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        answers = []
        worker = threading.Thread(target=lambda: answers.append(cache.get("key", "miss")))
        worker.start()
        # Without the socket timeout in the settings, the read would wait for ever.
        worker.join(timeout=10)
        assert not worker.is_alive()
        assert answers == ["miss"]
