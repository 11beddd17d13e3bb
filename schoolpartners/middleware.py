"""Response headers for every page, and an honest 503 when the database cannot be reached.

- `ResponseHeadersMiddleware`: `Permissions-Policy` (settings.PERMISSIONS_POLICY) on every response, and
  `Cache-Control: private, no-store` on responses to a signed-in user (their pages must not be kept by shared
  caches or the browser's back/forward history); anonymous public pages keep their own caching.
- `CSPMiddleware`: django-csp's Content-Security-Policy (settings.CONTENT_SECURITY_POLICY), whose `img-src` also
  allows the origin of the map tile server (settings.MAP_TILE_URL, read per response).
- `DatabaseUnavailableMiddleware`: a view (page or API operation) that fails because the database is unreachable
  (`django.db.OperationalError` / `InterfaceError`) answers 503: a problem JSON body under /api/, a GOV.UK
  "service unavailable" page elsewhere. `server_error` (the urlconf's handler500) gives the same answer for such
  errors raised outside a view (e.g. by middleware), and the generic 500 page otherwise.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.http.response import HttpResponseBase
from django.template import loader
from django.utils.cache import patch_cache_control

from schoolpartners import errors

log = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER = "30"  # seconds: a hint to clients and proxies


def unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer: problem JSON for the API, the GOV.UK page for everything else (no database needed)."""
    if request.path.startswith("/api/"):
        body = errors.body(
            errors.ServiceUnavailable, "The service cannot reach its database. Try again in a few minutes."
        )
        response = HttpResponse(json.dumps(body), status=503, content_type="application/problem+json")
    else:
        html = loader.render_to_string("503.html")  # no request context: nothing that needs the database
        response = HttpResponse(html, status=503)
    response["Retry-After"] = RETRY_AFTER
    patch_cache_control(response, no_store=True)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            log.error("database unavailable: %s %s: %r", request.method, request.path, exception)
            return unavailable(request)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 when the uncaught exception is a database outage, else the plain 500 page."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_ERRORS):
        return unavailable(request)
    if request.path.startswith("/api/"):
        body = errors.body(errors.DomainError, "Something went wrong on our side.")
        body.update(type=errors.PROBLEM_TYPE + "server-error", title="Server error", status=500)
        return HttpResponseServerError(json.dumps(body), content_type="application/problem+json")
    return HttpResponseServerError(loader.render_to_string("500.html"))


def _signed_in(request: HttpRequest) -> bool:
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:  # no session: anonymous, and nothing to look up
        return False
    user = getattr(request, "user", None)
    if user is None:
        return False
    try:
        return bool(user.is_authenticated)
    except DATABASE_ERRORS:
        return False


class ResponseHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if _signed_in(request):
            response.headers.pop("Expires", None)
            patch_cache_control(response, private=True, no_store=True)
            cc = response.headers.get("Cache-Control", "")
            parts = [
                p for p in (x.strip() for x in cc.split(",")) if p and not p.startswith(("public", "max-age"))
            ]
            response["Cache-Control"] = ", ".join(parts)
        return response


def tile_origin() -> str:
    """scheme://host[:port] of settings.MAP_TILE_URL, or "" when tiles are off or served from our own origin."""
    url = settings.MAP_TILE_URL or ""
    return "/".join(url.split("/")[:3]) if url.startswith(("http://", "https://")) else ""


class CSPMiddleware(BaseCSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origin = tile_origin()
        if origin:
            update = dict(parts.update or {})
            update["img-src"] = [*update.get("img-src", []), origin]
            parts.update = update
        return parts
