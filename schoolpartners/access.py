"""Who may see and change what: every page and API route declares its policy.

Use the decorators on every view (pages) and the `policy=` helpers on every API operation; the test
`schoolpartners/tests/test_access.py` walks every URL and fails if one has no declared policy.

Policies
- PUBLIC_READ: anyone, signed in or not, may read. No changes possible through the route.
- STAFF: signed-in staff users only (Django `is_staff`); others are sent to sign in (pages) or get 401/403 (API).
- SIGNED_IN: any signed-in user.
- SCOPED (`school_or_trust_scoped`): signed-in users acting for their own school, trust or region; the service
  checks the scope (accounts.permissions) and refuses anyone else with 403, changing nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required, user_passes_test
from django.http import HttpRequest, HttpResponse

PUBLIC_READ = "public-read"
STAFF = "staff"
SIGNED_IN = "signed-in"
SCOPED = "scoped"
POLICIES = {PUBLIC_READ, STAFF, SIGNED_IN, SCOPED}

F = TypeVar("F", bound=Callable[..., Any])


def declare(policy: str, description: str = "") -> Callable[[F], F]:
    """Attach an access policy to a view function without changing its behaviour (for public reads)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown access policy {policy!r}")

    def decorate(view: F) -> F:
        view.access_policy = policy  # type: ignore[attr-defined]
        view.access_description = description  # type: ignore[attr-defined]
        return view

    return decorate


def public_read(view: F) -> F:
    """Anyone may read; the view must not change data on any method."""
    return declare(PUBLIC_READ, "Anyone may read this page; nothing can be changed through it.")(view)


def staff_only(view: F) -> F:
    wrapped = user_passes_test(lambda u: u.is_active and u.is_staff)(view)

    @wraps(view)
    def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return wrapped(request, *args, **kwargs)

    return declare(STAFF, "Signed-in staff only.")(inner)  # type: ignore[return-value]


def signed_in(view: F) -> F:
    return declare(SIGNED_IN, "Any signed-in user.")(login_required(view))  # type: ignore[arg-type]


def school_or_trust_scoped(view: F) -> F:
    """Signed-in users acting for their own school, trust or region (the service checks which; others get 403)."""
    return declare(
        SCOPED, "Signed-in users acting for their own school, trust or region; anyone else gets 403."
    )(login_required(view))  # type: ignore[arg-type]
