"""Cheap limits on sign-in attempts, checked before the form hashes any password (issue 10, issue 18).

django-axes locks a username *from one address* after AXES_FAILURE_LIMIT failures (settings.AXES_LOCKOUT_PARAMETERS,
default username+address): an attacker elsewhere cannot lock a user out. Two limits in the cache come first:

- per address (LOGIN_THROTTLE, e.g. "20/min"): sign-in POSTs from one client address (schoolpartners.clientaddr,
  so a forged X-Forwarded-For cannot rotate it); beyond it 429 with Retry-After.
- per username, soft (OWASP authentication cheat sheet: a delay rather than a lockout an attacker can trigger):
  once a username has had LOGIN_USERNAME_SOFT_LIMIT failed sign-ins within LOGIN_USERNAME_WINDOW seconds from
  any addresses, each further attempt for it must wait a delay after the last failure, doubling per failure up to
  LOGIN_USERNAME_MAX_DELAY seconds (earlier attempts: 429 with Retry-After, no password hashed). A guessing
  attack spread over many addresses is slowed to one guess per delay; the account is never locked. A browser
  that has signed in as that user before carries a device cookie (`sp_device`, signed, OWASP's "device
  cookies") and is exempt, so the real user is not held up by someone else's failures.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core import signing
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.urls import reverse

from schoolpartners.clientaddr import client_address
from schoolpartners.ratelimit import hit, parse_rate, too_many

__all__ = ["LoginThrottleMiddleware", "parse_rate"]

DEVICE_COOKIE = "sp_device"
DEVICE_SALT = "accounts.throttle.device"
DEVICE_MAX_AGE = 180 * 86400
MAX_USERNAME = 150  # Django's User.username: a longer one cannot exist (400 before any database call)
MAX_PASSWORD = 1024  # no one types more; hashing megabytes of "password" is work an attacker chooses


def _user_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower()[:MAX_USERNAME].encode()).hexdigest()[:32]
    return f"login-user:{digest}"


def _failures(username: str) -> tuple[int, float]:
    """(failed sign-ins for `username` in the window, time of the last one)."""
    value = cache.get(_user_key(username))
    return value if isinstance(value, tuple) else (0, 0.0)


def wait_for(username: str, now: float | None = None) -> int:
    """Seconds the next attempt for `username` must still wait (0: it may go ahead)."""
    count, last = _failures(username)
    soft = int(getattr(settings, "LOGIN_USERNAME_SOFT_LIMIT", 10))
    if soft <= 0 or count < soft:
        return 0
    delay = min(2 ** (count - soft), int(getattr(settings, "LOGIN_USERNAME_MAX_DELAY", 30)))
    remaining = last + delay - (time.time() if now is None else now)
    return max(0, int(remaining + 0.999))


@receiver(user_login_failed)
def _count_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kw: Any
) -> None:
    username = str((credentials or {}).get("username") or "")
    if request is None or not username or getattr(request, "axes_locked_out", False):
        return  # an attempt refused by the lockout is the lockout's to count
    count, _ = _failures(username)
    cache.set(
        _user_key(username), (count + 1, time.time()), int(getattr(settings, "LOGIN_USERNAME_WINDOW", 900))
    )


@receiver(user_logged_in)
def _forget_failures(sender: Any, request: HttpRequest | None, user: Any, **kw: Any) -> None:
    if request is not None:
        cache.delete(_user_key(user.get_username()))
        request._device_for = user.get_username()  # type: ignore[attr-defined]


def _device_username_key(request: HttpRequest) -> str:
    value = request.COOKIES.get(DEVICE_COOKIE, "")
    try:
        return str(signing.loads(value, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)) if value else ""
    except signing.BadSignature:
        return ""


def _too_long(request: HttpRequest) -> str:
    if len(str(request.POST.get("username", ""))) > MAX_USERNAME:
        return f"Enter a username of at most {MAX_USERNAME} characters."
    if len(str(request.POST.get("password", ""))) > MAX_PASSWORD:
        return f"Enter a password of at most {MAX_PASSWORD} characters."
    return ""


class LoginThrottleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in (reverse("accounts:login"), reverse("admin:login")):
            limited = self._limited(request)
            if limited is not None:
                return limited
            response = self.get_response(request)
            signed_in_as = getattr(request, "_device_for", "")
            if signed_in_as:
                response.set_cookie(
                    DEVICE_COOKIE,
                    signing.dumps(_user_key(signed_in_as), salt=DEVICE_SALT),
                    max_age=DEVICE_MAX_AGE,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
            return response
        return self.get_response(request)

    def _limited(self, request: HttpRequest) -> HttpResponse | None:
        too_long = _too_long(request)
        if too_long:  # before anything is counted or looked up: axes stores usernames in a varchar(255)
            html = loader.render_to_string("400.html", {"detail": too_long}, request=request)
            return HttpResponse(html, status=400)
        retry = hit(
            f"login-throttle:{client_address(request)}", getattr(settings, "LOGIN_THROTTLE", "") or ""
        )
        if retry is not None:
            return too_many(request, retry, "accounts/throttled.html")
        username = str(request.POST.get("username", ""))
        if username and _device_username_key(request) != _user_key(username):
            wait = wait_for(username)
            if wait:
                return too_many(request, wait, "accounts/throttled_user.html")
        return None
