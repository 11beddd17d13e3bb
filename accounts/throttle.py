"""A cheap per-address limit on sign-in attempts, checked before the form hashes any password.

django-axes locks a username after repeated failures; this stops one client from sending many attempts (for
many usernames) and so keeping the workers busy hashing passwords. Sign-in POSTs per client address are counted
in the cache (settings.LOGIN_THROTTLE, e.g. "20/min"; empty disables); beyond the limit the sign-in page answers
429 with Retry-After, without touching the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.urls import reverse

PERIODS = {"s": 1, "sec": 1, "min": 60, "m": 60, "hour": 3600, "h": 3600, "day": 86400, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int] | None:
    """ "20/min" -> (20, 60); empty -> None."""
    if not rate.strip():
        return None
    count, _, period = rate.strip().partition("/")
    return int(count), PERIODS[period.strip() or "min"]


def client_address(request: HttpRequest) -> str:
    if getattr(
        settings, "SECURE_PROXY_SSL_HEADER", None
    ):  # behind the proxy: its left-most forwarded address
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


class LoginThrottleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in (reverse("accounts:login"), reverse("admin:login")):
            limited = self._limited(request)
            if limited is not None:
                return limited
        return self.get_response(request)

    def _limited(self, request: HttpRequest) -> HttpResponse | None:
        parsed = parse_rate(getattr(settings, "LOGIN_THROTTLE", "") or "")
        if parsed is None:
            return None
        limit, period = parsed
        # the window opens at the first attempt from this address and lasts `period` seconds
        now, key = time.time(), f"login-throttle:{client_address(request)}"
        if cache.add(f"{key}:start", now, period):
            cache.set(f"{key}:count", 0, period)
        started = float(cache.get(f"{key}:start", now))
        try:
            count = cache.incr(f"{key}:count")
        except ValueError:  # expired meanwhile
            cache.set(f"{key}:count", 1, period)
            count = 1
        if count <= limit:
            return None
        retry = max(1, int(started + period - now) + 1)
        html = loader.render_to_string("accounts/throttled.html", {"retry_after": retry}, request=request)
        response = HttpResponse(html, status=429)
        response["Retry-After"] = str(retry)
        return response
