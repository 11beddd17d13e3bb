"""Who may see and change what: every page and API operation declares one policy object.

A `Policy` names who may pass (`check`), and how that reads to people (`phrase`, shown first in every API
operation's description, and `page_description` for pages). Everything else derives from it:
- pages: the decorators `public_read`, `staff_only`, `signed_in`, `school_or_trust_scoped` (the test
  `schoolpartners/tests/test_access.py` walks every URL and fails if one has no declared policy);
- API operations: `schoolpartners.apikit.operation(policy, ...)` builds the description, the authentication
  (`PolicyAuth(policy)`: 401 for anonymous callers, 403 when `check` refuses), the documented error responses
  and an `x-access-policy` extension (the test `schools/tests/test_api_access.py` requires one per operation).

Policies
- PUBLIC_READ: anyone, signed in or not, may read. No changes possible through the route.
- STAFF: signed-in staff users only (Django `is_staff`); others are sent to sign in (pages) or get 401/403
  (API).
- SIGNED_IN: any signed-in user.
- SCOPED (`school_or_trust_scoped`): signed-in users acting for their own school, trust or region; the service
  checks the scope (accounts.permissions) and refuses anyone else with 403, changing nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required, user_passes_test
from django.http import HttpRequest, HttpResponse

from schoolpartners.errors import Forbidden, NotSignedIn
from schoolpartners.types import Actor

F = TypeVar("F", bound=Callable[..., Any])


def _anyone(user: Actor) -> bool:
    return True


def _signed_in(user: Actor) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _staff(user: Actor) -> bool:
    return _signed_in(user) and bool(user.is_active and user.is_staff)


@dataclass(frozen=True)
class Policy:
    code: str  # stable identifier: "public-read", "staff", "signed-in", "scoped"
    phrase: str  # first line of every API operation's description
    page_description: str  # what a page's `access_description` says
    check: Callable[[Actor], bool] = field(compare=False)  # may this user pass the gate?
    refusal: str = "Not allowed"  # the 403 detail when `check` refuses a signed-in user
    writes: bool = True  # False: nothing can be changed under this policy (reads only)

    def __str__(self) -> str:
        return self.code

    def allows(self, user: Actor) -> bool:
        return self.check(user)

    def require(self, user: Actor) -> None:
        """Raise NotSignedIn (401) or Forbidden (403) unless `user` passes this policy."""
        if self.check(user):
            return
        if not _signed_in(user):
            raise NotSignedIn("Sign in to use this operation.")
        raise Forbidden(self.refusal)


PUBLIC_READ = Policy(
    "public-read",
    "Public: anyone may read; read-only.",
    "Anyone may read this page; nothing can be changed through it.",
    _anyone,
    writes=False,
)
STAFF = Policy(
    "staff", "Staff only", "Signed-in staff only.", _staff, refusal="Only staff may use this operation."
)
SIGNED_IN = Policy("signed-in", "Signed-in users only", "Any signed-in user.", _signed_in)
SCOPED = Policy(
    "scoped",
    "Signed-in users only, acting for their own school, trust or region (checked per step; anyone else "
    "gets 403 and nothing changes).",
    "Signed-in users acting for their own school, trust or region; anyone else gets 403.",
    _signed_in,
)
POLICIES: tuple[Policy, ...] = (PUBLIC_READ, STAFF, SIGNED_IN, SCOPED)
BY_CODE: dict[str, Policy] = {p.code: p for p in POLICIES}


def declare(policy: Policy | str, description: str = "") -> Callable[[F], F]:
    """Attach an access policy to a view function without changing its behaviour (for public reads)."""
    if isinstance(policy, str):
        if policy not in BY_CODE:
            raise ValueError(f"unknown access policy {policy!r}")
        policy = BY_CODE[policy]
    if policy not in POLICIES:
        raise ValueError(f"unknown access policy {policy!r}")

    def decorate(view: F) -> F:
        view.access_policy = policy  # type: ignore[attr-defined]
        view.access_description = description or policy.page_description  # type: ignore[attr-defined]
        return view

    return decorate


def public_read(view: F) -> F:
    """Anyone may read; the view must not change data on any method."""
    return declare(PUBLIC_READ)(view)


def staff_only(view: F) -> F:
    wrapped = user_passes_test(STAFF.check)(view)

    @wraps(view)
    def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return wrapped(request, *args, **kwargs)

    return declare(STAFF)(inner)  # type: ignore[return-value]


def signed_in(view: F) -> F:
    return declare(SIGNED_IN)(login_required(view))  # type: ignore[arg-type]


def school_or_trust_scoped(view: F) -> F:
    """Signed-in users acting for their own school, trust or region (the service checks which; others get
    403)."""
    return declare(SCOPED)(login_required(view))  # type: ignore[arg-type]
