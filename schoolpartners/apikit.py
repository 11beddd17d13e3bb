"""The API boundary, one way for every router: problems, policies, pagination, throttling.

- `install(api, extra)` registers the exception handlers on the one `NinjaAPI` (schoolpartners/api.py): domain
  errors (`schoolpartners.errors`), Django's `PermissionDenied` / `ObjectDoesNotExist` / `Http404` /
  `ValidationError`, django-ninja's own validation, authentication and throttling errors all answer a JSON
  problem body (`Problem`, RFC 9457) with their status. `extra` maps a domain's exception classes to a status.
- `operation(policy, response, ...)` gives the keyword arguments of one operation: its description (the
  policy's phrase first), authentication derived from the policy (writes: 401 anonymous, 403 refused), the
  documented problem responses, the write throttle and an `x-access-policy` OpenAPI extension.
- `paginated(...)` (`ninja.pagination.paginate` with `Paginated`) pages every list: `count`, `page`,
  `page_size`, `results`.
- `WriteThrottle` limits writes per user (settings.API_WRITE_THROTTLE, e.g. "300/min"; empty: no limit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, get_type_hints

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import Field, NinjaAPI, Schema
from ninja.errors import HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import PageNumberPagination, paginate
from ninja.security import SessionAuth
from ninja.throttling import UserRateThrottle
from pydantic import ConfigDict, create_model

from schoolpartners import errors
from schoolpartners.access import STAFF, Policy, public_read
from schoolpartners.clientaddr import client_address
from schoolpartners.params import MAX_DB_INT

F = TypeVar("F", bound=Callable[..., Any])
PROBLEM_CONTENT_TYPE = "application/problem+json"
MAX_PAGE = 1_000_000  # keeps every offset far inside a 64-bit integer
# The one bounded id type (schoolpartners/params.py): the largest id or URN a database integer column holds
MAX_ID = MAX_DB_INT


# ------------------------------------------------------------------------------------------------ problems
class FieldProblem(Schema):
    loc: list[str | int]
    msg: str
    type: str


class Problem(Schema):
    """An error answer (RFC 9457 problem details). Some operations add members (e.g. an import's row)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(..., description="identifies the kind of problem")
    title: str = Field(..., description="short summary of the kind of problem")
    status: int
    detail: str = Field(..., description="what went wrong here, for people")
    errors: list[FieldProblem] | None = Field(None, description="field errors (invalid input)")


class API(NinjaAPI):
    """The one `NinjaAPI`: its OpenAPI document declares problem answers with the media type they are sent
    with (`application/problem+json`), so that clients and contract tests see what is returned."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for methods in schema.get("paths", {}).values():
            for op in methods.values():
                for code, answer in op.get("responses", {}).items():
                    content = answer.get("content", {})
                    if int(code) >= 400 and "application/json" in content:  # every error is a problem
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        return schema


def respond(request: HttpRequest, api: NinjaAPI, status: int, body: dict[str, Any]) -> HttpResponse:
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = PROBLEM_CONTENT_TYPE
    return response


@csrf_exempt  # a refused POST is still a JSON 404, not Django's HTML CSRF page
@public_read
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any URL under /api/ that names no operation: a JSON problem body (404), never Django's HTML page.
    Routed after the API's own URLs (schoolpartners/urls.py)."""
    body = errors.body(errors.NotFound, f"No API operation at {request.path} (see /api/docs)")
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)


def _http_error_class(status: int) -> type[errors.DomainError]:
    return errors.BY_STATUS.get(status, errors.BadRequest)


def _summary(errs: Sequence[dict[str, Any]]) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg', '')}" for e in errs)


def install(api: NinjaAPI, extra: Mapping[type[Exception], int] | None = None) -> None:
    """Register the problem handlers on `api` (replacing django-ninja's defaults for these classes)."""

    def domain(request: HttpRequest, exc: Any) -> HttpResponse:
        status, body = errors.problem(exc)
        return respond(request, api, status, body)

    for cls in (errors.DomainError, PermissionDenied, ObjectDoesNotExist, Http404, DjangoValidationError):
        api.add_exception_handler(cls, domain)

    def with_status(status: int) -> Callable[[HttpRequest, Any], HttpResponse]:
        def handler(request: HttpRequest, exc: Any) -> HttpResponse:
            if isinstance(exc, DjangoValidationError):
                code, body = errors.problem(exc, status)
            else:
                cls = _http_error_class(status)
                code, body = status, errors.body(cls, str(exc))
            return respond(request, api, code, body)

        return handler

    for exc_class, status in (extra or {}).items():
        api.add_exception_handler(exc_class, with_status(status))

    def invalid(request: HttpRequest, exc: Any) -> HttpResponse:
        body = errors.body(errors.Invalid, _summary(exc.errors), list(exc.errors))
        return respond(request, api, 422, body)

    def http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        cls = _http_error_class(exc.status_code)
        body = errors.body(cls, str(exc))
        body["status"] = exc.status_code
        response = respond(request, api, exc.status_code, body)
        if isinstance(exc, Throttled) and exc.wait is not None:
            response["Retry-After"] = str(max(1, int(exc.wait)))
        return response

    api.add_exception_handler(NinjaValidationError, invalid)
    api.add_exception_handler(HttpError, http_error)


# ------------------------------------------------------------------------------------------------ policies
class PolicyAuth(SessionAuth):
    """Session authentication gated by a policy: anonymous callers get 401, refused users 403."""

    def __init__(self, policy: Policy) -> None:
        super().__init__()
        self.policy = policy

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return None
        self.policy.require(user)  # Forbidden -> 403 problem
        return user


class WriteThrottle(UserRateThrottle):
    """Writes per user (per address when anonymous); the rate is read from settings on every request, so
    `API_WRITE_THROTTLE` can change without a restart of the router (and under `override_settings`)."""

    scope = "api-write"

    def __init__(self) -> None:  # no rate parsed at import time
        self.rate = None
        self.num_requests, self.duration = None, None

    def get_ident(self, request: HttpRequest) -> str:
        """The one client address (schoolpartners.clientaddr), never a client-written X-Forwarded-For."""
        return client_address(request)

    def allow_request(self, request: HttpRequest) -> bool:
        rate = getattr(settings, "API_WRITE_THROTTLE", "") or None
        if rate is None:
            return True
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(rate)
        return super().allow_request(request)


WRITE_PROBLEMS = (400, 401, 403, 422, 429)  # 400: a body that is not JSON


def operation(
    policy: Policy,
    response: Any,
    *,
    summary: str = "",
    description: str = "",
    who: str = "",
    problems: Iterable[int] | Mapping[int, Any] = (),
    write: bool = False,
    status: int = 200,
) -> dict[str, Any]:
    """Keyword arguments for `router.get/post(path, **operation(...))`.

    `who` completes the policy's phrase (e.g. "a broker for that region (403 otherwise)."); `problems` lists
    the error statuses the operation answers besides the policy's own (a mapping gives a schema per status);
    `write` marks operations that change data: they need a session (401), pass the policy's check (403) and
    the write throttle (429).
    """
    if write and not policy.writes:
        raise ValueError(f"policy {policy} allows no writes")
    phrase = f"{policy.phrase}: {who}" if who else policy.phrase
    # every operation: 400 for a NUL character in the path or query (schoolpartners.params.RejectNul), 422 for
    # parameters or a body that fail validation
    codes: dict[int, Any] = {400: Problem, 422: Problem}
    if write:
        codes.update({code: Problem for code in WRITE_PROBLEMS})
    if isinstance(problems, Mapping):
        codes.update(problems)
    else:
        codes.update({code: Problem for code in problems})
    out: dict[str, Any] = {
        "response": {status: response, **dict(sorted(codes.items()))},
        "description": f"{phrase}\n\n{description}" if description else phrase,
        "openapi_extra": {"x-access-policy": policy.code},
    }
    if summary:
        out["summary"] = summary
    if write:
        out["auth"] = PolicyAuth(policy)
        out["throttle"] = [WriteThrottle()]
    elif policy is STAFF:  # staff-only reads are gated too: 401 anonymous, 403 refused
        out["auth"] = PolicyAuth(policy)
        for code in (401, 403):
            out["response"].setdefault(code, Problem)
    return out


# ------------------------------------------------------------------------------------------------ pagination
class Rows:
    """What a paginated operation returns when a plain queryset or list will not do: `convert` shapes only
    the rows of the page; `fetch(page, page_size) -> (rows, total)` lets a service page itself."""

    def __init__(
        self,
        items: Any = None,
        convert: Callable[[Any], Any] | None = None,
        fetch: Callable[[int, int], tuple[Sequence[Any], int]] | None = None,
    ) -> None:
        self.items, self.convert, self.fetch = items, convert, fetch

    def window(self, page: int, page_size: int) -> tuple[list[Any], int]:
        if self.fetch is not None:
            rows, total = self.fetch(page, page_size)
            rows = list(rows)
        else:
            offset = (page - 1) * page_size
            total = _count(self.items)
            rows = list(self.items[offset : offset + page_size])
        if self.convert is not None:
            rows = [self.convert(r) for r in rows]
        return rows, total


def _count(items: Any) -> int:
    try:
        return int(items.all().count())  # a queryset
    except AttributeError:
        return len(items)


class Paginated(PageNumberPagination):
    """Page-number pagination with the envelope `{count, page, page_size, results}`; `page_size` above the
    operation's maximum is refused (422), as are pages beyond MAX_PAGE."""

    items_attribute = "results"

    class Output(Schema):  # type: ignore[assignment]
        count: int = Field(..., description="total number of results")
        page: int = Field(..., description="this page's number, from 1")
        page_size: int = Field(..., description="results per page")
        results: list[Any]

    def __init__(self, page_size: int = 50, max_page_size: int = 200, **kwargs: Any) -> None:
        super().__init__(page_size=page_size, max_page_size=max_page_size, **kwargs)
        base: Any = Schema
        self.Input = create_model(  # type: ignore[misc]
            f"Page{page_size}of{max_page_size}",
            __base__=base,
            page=(int, Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1")),
            page_size=(
                int,
                Field(
                    page_size,
                    ge=1,
                    le=max_page_size,
                    description=f"Results per page, 1 to {max_page_size}",
                ),
            ),
        )

    def paginate_queryset(self, queryset: Any, pagination: Any, **params: Any) -> Any:
        page, size = pagination.page, pagination.page_size
        source = queryset if isinstance(queryset, Rows) else Rows(queryset)
        rows, total = source.window(page, size)
        return {"count": total, "page": page, "page_size": size, "results": rows}


def paginated(page_size: int = 50, max_page_size: int = 200) -> Callable[[F], F]:
    """`ninja.pagination.paginate(Paginated, ...)` for a list operation declared with `list[Item]`.

    The operation's annotations are resolved in its own module first: django-ninja reads them through the
    wrapper, whose globals are not the operation's (`from __future__ import annotations` leaves strings)."""

    def decorate(func: F) -> F:
        func.__annotations__ = get_type_hints(func, include_extras=True)
        paged = paginate(Paginated, page_size=page_size, max_page_size=max_page_size)
        return paged(func)  # type: ignore[no-any-return]

    return decorate
