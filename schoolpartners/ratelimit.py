"""Fixed-window counters in the cache: the sign-in throttles (accounts/throttle.py) and the per-address limit on
expensive downloads (`limit_expensive`, EXPENSIVE_THROTTLE; issue 18).

A rate is written "N/period" (period: s, min, hour, day, or a multiple such as "15min"); empty means no limit.
`hit(key, rate)` counts one event and answers None while the window allows it, else the seconds until the
window ends (the `Retry-After` of the 429). The counters live in the default cache: shared by every server when
REDIS_URL is set, per process otherwise.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template import loader

from schoolpartners.clientaddr import client_address

PERIODS = {"s": 1, "sec": 1, "min": 60, "m": 60, "hour": 3600, "h": 3600, "day": 86400, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]*)\s*$")


def parse_rate(rate: str) -> tuple[int, int] | None:
    """ "20/min" -> (20, 60); "10/15min" -> (10, 900); empty -> None. ValueError for anything else."""
    if not rate.strip():
        return None
    m = _RATE.match(rate.lower())
    if not m or (m.group(3) or "min") not in PERIODS:
        raise ValueError(f"not a rate: {rate!r} (write e.g. '20/min', '10/15min', '100/hour')")
    return int(m.group(1)), int(m.group(2) or 1) * PERIODS[m.group(3) or "min"]


def hit(key: str, rate: str) -> int | None:
    """Count one event under `key`; None when within `rate`, else the seconds until the window ends."""
    parsed = parse_rate(rate or "")
    if parsed is None:
        return None
    limit, period = parsed
    now = time.time()
    # the window opens at the first event and lasts `period` seconds
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
    return max(1, int(started + period - now) + 1)


def too_many(request: HttpRequest, retry_after: int, template: str = "429.html") -> HttpResponse:
    """429 with the GOV.UK page `template` and Retry-After."""
    html = loader.render_to_string(template, {"retry_after": retry_after}, request=request)
    response = HttpResponse(html, status=429)
    response["Retry-After"] = str(retry_after)
    return response


V = TypeVar("V", bound=Callable[..., Any])


def limit_expensive(view: V) -> V:
    """Per-address limit (settings.EXPENSIVE_THROTTLE, e.g. "30/min") on a view whose answer costs real work
    (whole-register downloads): one client cannot keep the workers busy; beyond it 429 with Retry-After. Signed-in
    staff are not limited."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not getattr(request.user, "is_staff", False):
            retry = hit(f"expensive:{client_address(request)}", getattr(settings, "EXPENSIVE_THROTTLE", ""))
            if retry is not None:
                return too_many(request, retry)
        return view(request, *args, **kwargs)

    return cast(V, wrapped)
