"""Request size limit: a body over `settings.MAX_REQUEST_BYTES` (declared by Content-Length) is refused with
413 before anything reads it - the CSRF check reads POST, so this middleware sits before it. API paths answer
a JSON problem body, pages a GOV.UK error page. `too_large` is the same answer for views that check the size
of one uploaded file (e.g. the support import's `SUPPORT_IMPORT_MAX_BYTES`)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from schoolpartners.errors import TooLarge, body


def megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


def too_large(request: HttpRequest, detail: str, file: str | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        problem = body(TooLarge, detail)
        if file is not None:
            problem.update({"file": file, "row": None, "column": "", "value": None})
        return JsonResponse(problem, status=413, content_type="application/problem+json")
    return render(request, "413.html", {"detail": detail}, status=413)


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_REQUEST_BYTES
        if length > limit:
            return too_large(
                request,
                f"The request is {megabytes(length)}; the largest accepted is {megabytes(limit)} "
                f"(files up to {megabytes(settings.SUPPORT_IMPORT_MAX_BYTES)}). Nothing was read or saved.",
            )
        return self.get_response(request)
