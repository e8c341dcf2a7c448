"""
The shared cache in production: Django's Redis backend, except that a Redis that is down or too
slow to answer is a miss rather than an error. Pages are then built for every request, as without a
cache, and the log says why once a minute per process (docs/operations.md, "The shared cache").
"""

import time

import structlog
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from redis.exceptions import RedisError

log = structlog.get_logger("tracker.cache")

# A down Redis fails every cache call of every request: one line a minute per process says so.
WARN_EVERY = 60
# When this process last said so (time.monotonic()), or None.
last_warning = None


def unavailable(error):
    """Log that the cache failed with ``error``, unless this process already said so within a minute."""
    global last_warning
    now = time.monotonic()
    if last_warning is None or now - last_warning >= WARN_EVERY:
        last_warning = now
        log.warning("cache_unavailable", error=f"{type(error).__name__}: {error}", action="serving uncached")


class RedisCache(DjangoRedisCache):
    """Django's ``RedisCache``; each operation answers a miss, or does nothing, while Redis cannot be reached."""

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except RedisError as error:
            unavailable(error)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except RedisError as error:
            unavailable(error)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except RedisError as error:
            unavailable(error)
            return False

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except RedisError as error:
            unavailable(error)
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except RedisError as error:
            unavailable(error)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except RedisError as error:
            unavailable(error)
            # The keys that were not stored: all of them.
            return list(data)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except RedisError as error:
            unavailable(error)
            return False

    def incr(self, key, delta=1, version=None):
        # Also decr, which Django writes as incr(-delta). A missing key is a ValueError in every backend.
        try:
            return super().incr(key, delta, version)
        except RedisError as error:
            unavailable(error)
            raise ValueError(f"Key {key!r} not found: the cache is unavailable.") from error

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except RedisError as error:
            unavailable(error)
            return False

    def delete_many(self, keys, version=None):
        try:
            super().delete_many(keys, version)
        except RedisError as error:
            unavailable(error)

    def clear(self):
        try:
            return super().clear()
        except RedisError as error:
            unavailable(error)
            return False
