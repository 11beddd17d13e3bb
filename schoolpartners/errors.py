"""Domain errors: what went wrong, in words a client can act on, independent of HTTP.

Services and API operations raise these (or Django's own `PermissionDenied`, `ObjectDoesNotExist`, `Http404`,
`ValidationError`); the one set of handlers in `schoolpartners/apikit.py` turns every one of them into a JSON
problem body (RFC 9457: `type`, `title`, `status`, `detail`, and `errors` for field errors) with its status.
`problem(exc)` is that mapping, kept here without django-ninja so pages could use it too.

    raise NotFound("No school with URN 123456")
    raise Conflict("This pledge is already recorded")
    raise Invalid("end_date is before start_date", field="end_date")
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404

PROBLEM_TYPE = "https://schoolpartners.example/problems/"  # + slug; a stable identifier, not a fetched page


class DomainError(Exception):
    """Base of the domain errors. `detail` is shown to the client; `errors` lists field errors
    (`{"loc": [...], "msg": ..., "type": ...}`, the shape of django-ninja's own validation errors); `extra`
    adds members to the problem body (RFC 9457 extension members, e.g. the row of an import file)."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(
        self,
        detail: str = "",
        *,
        field: str | None = None,
        loc: tuple[str, ...] = ("body", "payload"),
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.errors = list(errors or [])
        if field is not None:
            self.errors.append({"loc": [*loc, field], "msg": self.detail, "type": "value_error"})
        self.extra = dict(extra or {})
        super().__init__(self.detail)


class BadRequest(DomainError):
    status, title, slug = 400, "Bad request", "bad-request"


class NotSignedIn(DomainError):
    status, title, slug = 401, "Not signed in", "not-signed-in"


class Forbidden(DomainError):
    status, title, slug = 403, "Not allowed", "forbidden"


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, slug = 409, "Conflict", "conflict"


class TooLarge(DomainError):
    """A request body or upload over its size limit (413), refused before it is parsed."""

    status, title, slug = 413, "Content too large", "too-large"


class Invalid(DomainError):
    """Well-formed input the domain refuses (422), naming the field(s) when known."""

    status, title, slug = 422, "Invalid input", "invalid"


class TooManyRequests(DomainError):
    status, title, slug = 429, "Too many requests", "too-many-requests"


class ServiceUnavailable(DomainError):
    status, title, slug = 503, "Service unavailable", "unavailable"


ERRORS: tuple[type[DomainError], ...] = (
    BadRequest,
    NotSignedIn,
    Forbidden,
    NotFound,
    Conflict,
    TooLarge,
    Invalid,
    TooManyRequests,
    ServiceUnavailable,
)
BY_STATUS: dict[int, type[DomainError]] = {cls.status: cls for cls in ERRORS}


def body(cls: type[DomainError], detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": PROBLEM_TYPE + cls.slug,
        "title": cls.title,
        "status": cls.status,
        "detail": detail or cls.title,
    }
    if errors:
        out["errors"] = errors
    return out


def _validation_errors(exc: DjangoValidationError) -> list[dict[str, Any]]:
    if not hasattr(exc, "error_dict"):
        return []
    return [
        {"loc": ["body", "payload", field], "msg": msg, "type": "value_error"}
        for field, msgs in exc.message_dict.items()
        for msg in msgs
    ]


def problem(exc: Exception, status: int | None = None) -> tuple[int, dict[str, Any]]:
    """(status, problem body) for a domain error or one of Django's exceptions; `status` overrides the
    status of a Django `ValidationError` subclass (e.g. a service's "procedure refused" error → 409)."""
    if isinstance(exc, DomainError):
        return exc.status, {**body(type(exc), exc.detail, exc.errors), **exc.extra}
    if isinstance(exc, PermissionDenied):
        return 403, body(Forbidden, str(exc))
    if isinstance(exc, ObjectDoesNotExist | Http404):
        return 404, body(NotFound, "Not found")
    if isinstance(exc, DjangoValidationError):
        cls = BY_STATUS.get(status or 400, BadRequest)
        return cls.status, body(cls, "; ".join(exc.messages), _validation_errors(exc))
    raise TypeError(f"not a domain error: {exc!r}")
