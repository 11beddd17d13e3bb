"""Whole-page cache for public read pages, invalidated by the public data version.

Public pages show national data that changes only when imports, recomputes or public register writes run, so an
anonymous GET is served from the Django cache, keyed by the full URL and the *data version* (audit.version: a
counter moved on, on commit, by every audited write of a public kind; one primary-key query per request). Such a
write changes the version, so no stale page is served after it.
Requests that carry a session or messages cookie (signed-in users, flash messages) bypass the cache, since their
pages differ per user.

Pages go to the cache alias "pages" when settings.CACHES defines one, else to "default": Redis shared by every
app server when REDIS_URL is set (a page rendered by one server is a hit on all), else LocMemCache (each worker
process warms its own copy). `X-Page-Cache: hit|miss` says which.

HTTP caching (issue 13): a cacheable anonymous response carries `ETag` (from the data version and the URL),
`Last-Modified` (the time of the last public write), `Cache-Control: public, max-age=settings.PAGE_MAX_AGE` and
`Vary: Cookie`, so a CDN or reverse proxy can absorb a spike; a conditional GET (`If-None-Match`,
`If-Modified-Since`) that still matches answers 304 without rendering or reading the cache. Signed-in pages
bypass all of this and are `private, no-store` (schoolpartners.middleware).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date

from audit.version import current as current_data_version
from audit.version import stamp as data_stamp

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


def cache_key(request: HttpRequest) -> str:
    """The page-cache key `request` would use now (for operators and the scale-out test)."""
    return _key(request, data_version())


def _http_headers(response: HttpResponse, key: str, changed: Any) -> HttpResponse:
    response["ETag"] = f'"{key.rsplit(":", 1)[-1][:32]}"'
    if changed is not None:
        response["Last-Modified"] = http_date(changed.timestamp())
    patch_cache_control(response, public=True, max_age=settings.PAGE_MAX_AGE)
    patch_vary_headers(response, ("Cookie",))
    return response


def cache_public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve anonymous GETs of `view` from the cache (only successful, non-streaming HTML responses are stored),
    with validators and public Cache-Control; conditional GETs that match answer 304."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or any(c in request.COOKIES for c in BYPASS_COOKIES):
            return view(request, *args, **kwargs)
        version, changed = data_stamp()
        key = _key(request, version)
        validators = _http_headers(HttpResponse(), key, changed)
        stamp = int(changed.timestamp()) if changed is not None else None
        not_modified = get_conditional_response(
            request, etag=validators["ETag"], last_modified=stamp, response=validators
        )
        if not_modified is not None and not_modified is not validators:
            return not_modified  # 304 (or 412 for a failed If-Match)
        cache = page_cache()
        hit = cache.get(key)
        if hit is not None:
            content, content_type = hit
            response = HttpResponse(content, content_type=content_type)
            response["X-Page-Cache"] = "hit"
            return _http_headers(response, key, changed)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            cache.set(key, (response.content, response["Content-Type"]), PAGE_TTL)
            response["X-Page-Cache"] = "miss"
            _http_headers(response, key, changed)
        return response

    return wrapped
