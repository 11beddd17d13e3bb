"""Liveness and readiness.

- `/healthz`: liveness, a minimal response (no database, no templates), used by supervisors and as the plain
  baseline of the load benchmark (bench/bench_load.py). It says only that the process answers.
- `/readyz`: readiness, runs every registered check and answers 200 with each check's status, or 503 naming the
  checks that failed (a load balancer stops sending traffic; the process is not restarted).

Checks are registered by name: `register_check("jobs", fn)` where `fn()` returns normally when the dependency
works and raises otherwise (its return value, if a string, is reported as a detail). Built in: `database`
(`SELECT 1`) and `cache` (set then get a key). Other apps register theirs in `AppConfig.ready()`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from schoolpartners.access import public_read

log = logging.getLogger(__name__)

Check = Callable[[], object]
CHECKS: dict[str, Check] = {}


def register_check(name: str, fn: Check) -> None:
    """Add (or replace) the readiness check `name`."""
    CHECKS[name] = fn


def unregister_check(name: str) -> None:
    CHECKS.pop(name, None)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("SELECT 1 returned something else")


def check_cache() -> None:
    key, value = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, 10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the value set was not read back")
    finally:
        cache.delete(key)


register_check("database", check_database)
register_check("cache", check_cache)


def run_checks() -> dict[str, dict[str, object]]:
    """{name: {"ok": bool, "ms": float, "detail"?: str}} for every registered check, in registration order."""
    results: dict[str, dict[str, object]] = {}
    for name, fn in list(CHECKS.items()):
        started = time.perf_counter()
        try:
            detail = fn()
            result: dict[str, object] = {"ok": True}
            if isinstance(detail, str) and detail:
                result["detail"] = detail
        except Exception as exc:  # a check failing is the answer, whatever it raised
            log.warning("readiness check %s failed: %r", name, exc)
            result = {
                "ok": False,
                "detail": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            }
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = result
    return results


@public_read
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok\n", content_type="text/plain")


@public_read
@require_safe
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """200 {"status": "ok", "checks": {...}} or 503 {"status": "unavailable", "failing": [names], ...}."""
    checks = run_checks()
    failing = [name for name, r in checks.items() if not r["ok"]]
    body: dict[str, object] = {"status": "unavailable" if failing else "ok", "checks": checks}
    if failing:
        body["failing"] = failing
    return HttpResponse(json.dumps(body), status=503 if failing else 200, content_type="application/json")
