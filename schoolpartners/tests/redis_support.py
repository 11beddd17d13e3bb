"""The real Redis on 127.0.0.1:6379 for tests (never a mock): reachable or not, and a cache config of its own.

Each test gets its own key prefix (and the suite its own database number, REDIS_TEST_DB, default 13), so tests
and parallel runs never read each other's keys. Unreachable Redis skips, unless REQUIRE_REDIS=1 (CI) fails.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import pytest

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_TEST_DB = int(os.environ.get("REDIS_TEST_DB", "13"))


def redis_reachable() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_redis() -> None:
    if not redis_reachable():
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}")
        pytest.skip("Redis not reachable")


def redis_url(db: int = REDIS_TEST_DB) -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


def redis_caches(prefix: str | None = None) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url(),
            "KEY_PREFIX": prefix or f"t-{uuid.uuid4().hex[:12]}",
        }
    }
