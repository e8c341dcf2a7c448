"""
A Redis for the cache tests: CI's (``TEST_REDIS_URL``, started by .ci/run), or one started here from the
``redis-server`` binary, on a free loopback port, keeping nothing on disk. Without either, the tests that need
one are skipped, except under ``CI=true``, where a missing Redis is a failure rather than a silent skip.
"""

import os
import shutil
import socket
import subprocess
import time
import uuid
from unittest import mock

import pytest
import redis

from config.settings import env_cache


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cache_settings(url):
    """``CACHES`` as the settings make it from ``DJANGO_CACHE_URL=url``, under a key prefix of its own."""
    # Never clear() such a cache: Redis's FLUSHDB would empty it for every test running beside this one.
    with mock.patch.dict(os.environ, {"DJANGO_CACHE_URL": url}):
        return {"default": {**env_cache("DJANGO_CACHE_URL"), "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


def skip_or_fail(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the cache tests (.ci/run starts a Redis).")
    pytest.skip(reason)


class RedisServer:
    """A ``redis-server`` process of this test run, in ``folder``, stopped by ``stop()``."""

    def __init__(self, folder):
        binary = shutil.which("redis-server")
        if binary is None:
            skip_or_fail("redis-server is not installed (Debian: apt-get install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    skip_or_fail(f"redis-server did not start on port {self.port}")
                time.sleep(0.05)
        client.close()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
