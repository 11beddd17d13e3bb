"""Sign-in lockout: django-axes' backend, first in AUTHENTICATION_BACKENDS (settings.AXES_*).

A username locked out after AXES_FAILURE_LIMIT failed sign-ins is refused before any password is hashed; the
lockout answer (429, accounts/templates/accounts/locked_out.html) says when to try again. Every sign-in through
the site passes the request (Django's AuthenticationForm does); a call without a request (Django's test client
`login()`, scripts) is not a web sign-in and goes straight to the next backend.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)
