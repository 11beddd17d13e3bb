"""`/healthz`: a minimal liveness response (no database, no templates), used by supervisors and as the plain
baseline of the load benchmark (bench/bench_load.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from schoolpartners.access import public_read


@public_read
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok\n", content_type="text/plain")
