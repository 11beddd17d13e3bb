"""Bounded input, one definition for pages, forms and the API: integers a database column can hold, text
without control characters, no NUL byte anywhere in a request.

- `MAX_DB_INT` (2^63 - 1): every id, URN, page and count a client sends is at most this (SQLite and PostgreSQL
  refuse larger integers with a server error). Django URLs use the `<id:name>` converter (registered by
  `schoolpartners/urls.py`) instead of `<int:name>`: a larger number does not match (404). Ninja operations
  annotate path and query integers with `Id` / `OptionalId` (422 beyond the bound).
- `is_id(text)` instead of `str.isdigit()` before `int(text)`; `query_int(value, maximum=...)` reads an
  integer from a query string, `None` when absent, malformed or out of range (pages treat it as absent).
- `no_control_characters` is the validator of every text field of a form (`HardenedForm` adds it, and bounds
  every integer field without bounds of its own): no control characters, no bidirectional controls or line/
  paragraph separators (`INVISIBLE`, issue 18). Single-line fields (any widget but a textarea) also refuse CR/LF
  (`single_line`), and a text field without a max_length gets MAX_LINE or MAX_TEXT. API bodies use `SingleLine`
  and `FreeText`; every JSON string is at most MAX_TEXT characters whatever the schema.
- `RejectNul` middleware: a NUL byte in the path, a query parameter or a form field answers 400 before any
  view runs (PostgreSQL text cannot hold NUL): a problem body on /api/, a GOV.UK page elsewhere. A JSON body
  sent to /api/ holding a string with control characters, an integer beyond 64 bits or an infinite number
  answers 422 naming each field (`body_errors`), whatever the operation's schema.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from ninja import Field
from pydantic import AfterValidator

from schoolpartners import errors

MAX_DB_INT = 2**63 - 1
MAX_PAGE = 1_000_000  # keeps every offset (page x page size) far inside a 64-bit integer

Id = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
"""An id or URN in a path or query parameter (1 .. 2^63 - 1; 422 otherwise)."""

OptionalId = Annotated[int | None, Field(ge=1, le=MAX_DB_INT)]
OptionalCount = Annotated[int | None, Field(ge=0, le=MAX_DB_INT)]
"""A count in a query parameter (0 .. 2^63 - 1)."""

# C0 controls but tab, newline and carriage return; DEL; the C1 controls. XML (so XLSX) cannot hold most of them.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_MESSAGE = "Remove the control characters (invisible characters such as NUL or BEL) from this text"
# Bidirectional overrides/isolates (U+202A-U+202E, U+2066-U+2069) can make stored text display in another order than
# it reads (a name that looks harmless, a spoofed file name); U+2028/U+2029 break lines where no line break is
# allowed. Refused in every text a client sends; removed from every export cell (schoolpartners.exports).
INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u2028\u2029]")
INVISIBLE_MESSAGE = (
    "Remove the invisible direction or line-separator characters (such as U+202E or U+2028) from this text"
)
LINE_BREAK = re.compile(r"[\r\n]")
LINE_MESSAGE = "Enter this on one line: remove the line breaks"
MAX_LINE = 1000  # characters in a one-line field without a bound of its own (lists of numbers, names)
MAX_TEXT = 10_000  # characters in a free-text field without a bound of its own (notes, evidence, reasons)
TEXT_MESSAGE = f"Enter at most {MAX_TEXT:,} characters"
NUL_MESSAGE = "The request contains a NUL character (%00), which no field accepts"


# ------------------------------------------------------------------------------------------------ integers
class BoundedIntConverter:
    """`<id:name>`: like `<int:name>`, but only up to MAX_DB_INT (a larger number is no match: 404)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_DB_INT:
            raise ValueError(f"{value} is beyond any id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


def query_int(value: str | None, *, minimum: int = 1, maximum: int = MAX_DB_INT) -> int | None:
    """An integer from a query string, or None when absent, malformed or outside minimum..maximum."""
    if value is None or not value.strip():
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if minimum <= number <= maximum else None


_DIGITS = re.compile(r"[0-9]{1,19}")


def is_id(text: str) -> bool:
    """ASCII digits of a whole number a database column can hold (`str.isdigit` also accepts "²", which
    `int()` refuses, and any length)."""
    return bool(_DIGITS.fullmatch(text)) and int(text) <= MAX_DB_INT


# ------------------------------------------------------------------------------------------------ text
def no_control_characters(value: Any) -> None:
    """Django validator: refuses text holding control characters, bidirectional controls or line/paragraph
    separators (tab and line breaks are fine)."""
    if isinstance(value, str) and CONTROL.search(value):
        raise ValidationError(CONTROL_MESSAGE, code="control_characters")
    if isinstance(value, str) and INVISIBLE.search(value):
        raise ValidationError(INVISIBLE_MESSAGE, code="invisible_characters")


def single_line(value: Any) -> None:
    """Django validator for names and other one-line text: no CR or LF (a name must not add lines to an email)."""
    if isinstance(value, str) and LINE_BREAK.search(value):
        raise ValidationError(LINE_MESSAGE, code="line_break")


def _text(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError(CONTROL_MESSAGE)
    if INVISIBLE.search(value):
        raise ValueError(INVISIBLE_MESSAGE)
    return value


def _line(value: str) -> str:
    if LINE_BREAK.search(value):
        raise ValueError(LINE_MESSAGE)
    return _text(value)


SingleLine = Annotated[str, Field(max_length=MAX_LINE), AfterValidator(_line)]
"""A one-line text in an API body (a name): no line breaks, no invisible characters, at most MAX_LINE."""

FreeText = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_text)]
"""A free text in an API body (a note, evidence): at most MAX_TEXT characters, no invisible characters."""


INT_MESSAGE = f"Enter a whole number between {-MAX_DB_INT} and {MAX_DB_INT}"
NUMBER_MESSAGE = "Enter a finite number"


def _check(value: Any, loc: list[str | int], found: list[dict[str, Any]]) -> None:
    if isinstance(value, str):
        if CONTROL.search(value):
            found.append({"loc": loc, "msg": CONTROL_MESSAGE, "type": "value_error"})
        elif INVISIBLE.search(value):
            found.append({"loc": loc, "msg": INVISIBLE_MESSAGE, "type": "value_error"})
        elif len(value) > MAX_TEXT:
            found.append({"loc": loc, "msg": TEXT_MESSAGE, "type": "value_error"})
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -MAX_DB_INT <= value <= MAX_DB_INT:
            found.append({"loc": loc, "msg": INT_MESSAGE, "type": "value_error"})
    elif isinstance(value, float):
        if not math.isfinite(value):
            found.append({"loc": loc, "msg": NUMBER_MESSAGE, "type": "value_error"})
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, loc, found)
            _check(item, [*loc, key], found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, [*loc, i], found)


def body_errors(data: Any, loc: tuple[str, ...] = ("body",)) -> list[dict[str, Any]]:
    """Field errors (ninja's shape) for every value of a parsed JSON document no field accepts: strings with
    control characters, integers beyond 64 bits, infinite numbers."""
    found: list[dict[str, Any]] = []
    _check(data, list(loc), found)
    return found


class Hardened:
    """Form mixin (first base): every text field refuses control characters, every integer field without
    bounds gets 1..MAX_DB_INT (`-MAX_DB_INT` when it has a lower bound of its own only below zero)."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():
            harden_field(field)


class HardenedForm(Hardened, forms.Form):
    """The base of every form of the service (a test checks it)."""


def harden_field(field: forms.Field) -> None:
    if isinstance(field, forms.CharField) and no_control_characters not in field.validators:
        field.validators.append(no_control_characters)
        multiline = isinstance(field.widget, forms.Textarea)
        if not multiline and not isinstance(field.widget, forms.PasswordInput):
            field.validators.append(single_line)
        if field.max_length is None:  # every text has a size: checked before anything is looked up or stored
            field.max_length = MAX_TEXT if multiline else MAX_LINE
            field.validators.append(MaxLengthValidator(field.max_length))
            field.widget.attrs.setdefault("maxlength", str(field.max_length))
    if isinstance(field, forms.IntegerField) and not isinstance(field, forms.FloatField | forms.DecimalField):
        if field.max_value is None:
            field.max_value = MAX_DB_INT
            field.validators.append(MaxValueValidator(MAX_DB_INT))
            field.widget.attrs.setdefault("max", str(MAX_DB_INT))
        if field.min_value is None:
            field.min_value = -MAX_DB_INT
            field.validators.append(MinValueValidator(-MAX_DB_INT))


# ------------------------------------------------------------------------------------------------ NUL bytes
def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    if any("\x00" in k or any("\x00" in v for v in vs) for k, vs in request.GET.lists()):
        return True
    # Multipart bodies are left to the forms (`Hardened`): parsing an upload here would defeat its size limits.
    if request.method == "POST" and request.META.get("CONTENT_TYPE", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return any("\x00" in k or any("\x00" in v for v in vs) for k, vs in request.POST.lists())
    return False


class RejectNul:
    """Middleware: a NUL byte in the path, query string or form fields is a 400, never a database error; on
    /api/ a JSON body holding what no field accepts (`body_errors`) is a 422 naming each field."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            return bad_request(request, NUL_MESSAGE)
        if (
            request.path.startswith("/api/")
            and request.content_type in ("application/json", "")
            and request.body
        ):
            try:
                data = json.loads(request.body)
            except ValueError:
                data = None  # malformed JSON: the API answers it
            errs = body_errors(data)
            if errs:
                return problem_response(errors.Invalid, _summary(errs), errs)
        return self.get_response(request)


def _summary(errs: list[dict[str, Any]]) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errs)


def problem_response(
    cls: type[errors.DomainError], detail: str, errs: list[dict[str, Any]] | None = None
) -> HttpResponse:
    response = JsonResponse(errors.body(cls, detail, errs), status=cls.status)
    response["Content-Type"] = "application/problem+json"
    return response


def bad_request(request: HttpRequest, detail: str) -> HttpResponse:
    """400: a problem body on /api/, the GOV.UK "problem with your request" page elsewhere."""
    if request.path.startswith("/api/"):
        return problem_response(errors.BadRequest, detail)
    html = render_to_string("400.html", {"detail": detail}, request=request)
    return HttpResponse(html, status=400)
