"""Whole-page cache for public read pages, invalidated by the public data version.

Public pages show national data that changes only when imports, recomputes or public register writes run, so an
anonymous GET is served from the Django cache, keyed by the full URL and the *data version* (audit.version: a
counter moved on, on commit, by every audited write of a public kind; one primary-key query per request). Such a
write changes the version, so no stale page is served after it.
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
from django.http import HttpRequest, HttpResponse

from audit.version import current as current_data_version

PAGE_TTL = 600  # seconds; the data version key already invalidates on import
BYPASS_COOKIES = ("sessionid", "messages")


def page_cache() -> Any:
    return caches["pages" if "pages" in settings.CACHES else "default"]


def data_version() -> str:
    """The public data version (audit.version): one primary-key query.

    Writes that change public data (imports, recomputes, membership changes, designations...) record an audit
    event of a public kind, which moves the version on when their transaction commits; private writes (marking
    notifications read, a request still in progress) leave cached pages in place.
    """
    return current_data_version()


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
