"""Whole-page cache for public read pages, invalidated by data imports.

Public pages show national data that changes only when `schoolpartners import` runs, so an anonymous GET is
served from the Django cache, keyed by the full URL and the *data version* (the newest ImportRun id and finish
time: one indexed query per request). A new import changes the version, so no stale page is served after it.
Requests that carry a session or messages cookie (signed-in users, flash messages) bypass the cache, since their
pages differ per user.

Pages go to the cache alias "pages" when settings.CACHES defines one (e.g. a FileBasedCache or Redis shared by
all gunicorn workers), else to "default" (LocMemCache: each worker process warms its own copy).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse

PAGE_TTL = 600  # seconds; the data version key already invalidates on import
BYPASS_COOKIES = ("sessionid", "messages")


def page_cache() -> Any:
    return caches["pages" if "pages" in settings.CACHES else "default"]


def data_version() -> str:
    """The newest import (id, finish time), the newest similarity run and the newest audit event, in one query.

    Every multi-model write records an audit event (join/leave a trust, a deployment...), so any change a
    public page could show moves the version on and no stale page is served after it.
    """
    from audit.models import AuditEvent
    from schools.models import ImportRun
    from similarity.models import SimilarityRun

    imports, runs, events = ImportRun._meta.db_table, SimilarityRun._meta.db_table, AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX(id) FROM {imports}), (SELECT MAX(finished_at) FROM {imports}), "
            f"(SELECT MAX(id) FROM {runs}), (SELECT MAX(id) FROM {events})"
        )
        last_id, finished, similarity, event = cursor.fetchone()
    return f"{last_id or 0}:{finished or ''}:{similarity or 0}:{event or 0}"


def _key(request: HttpRequest, version: str) -> str:
    digest = hashlib.sha256(f"{version}|{request.get_full_path()}".encode()).hexdigest()
    return f"page:v1:{digest}"


def cache_public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve anonymous GETs of `view` from the cache (only successful, non-streaming HTML responses are stored)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or any(c in request.COOKIES for c in BYPASS_COOKIES):
            return view(request, *args, **kwargs)
        key = _key(request, data_version())
        cache = page_cache()
        hit = cache.get(key)
        if hit is not None:
            content, content_type = hit
            response = HttpResponse(content, content_type=content_type)
            response["X-Page-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            cache.set(key, (response.content, response["Content-Type"]), PAGE_TTL)
            response["X-Page-Cache"] = "miss"
        return response

    return wrapped
