"""One client address for every part that counts or records clients (issue 18): the sign-in lockout (django-axes,
`AXES_CLIENT_IP_CALLABLE`), the sign-in throttle (accounts/throttle.py), the API write throttle
(schoolpartners/apikit.py), the limit on expensive downloads (schoolpartners/ratelimit.py) and the audit log
(audit.services.record stores it with each event written during a request).

`TRUSTED_PROXY_COUNT` (default 0) says how many reverse proxies the deployment puts in front of the app, each of
which appends the address it received the request from to `X-Forwarded-For`. With 0 the address is the TCP
peer (`REMOTE_ADDR`) and `X-Forwarded-For` is ignored: any client can write that header. With N the address is
the N-th entry from the right of `X-Forwarded-For` (python-ipware with `proxy_count=N-1`: it counts the hops
after the client in the header), the one the outermost trusted proxy wrote; whatever a client put to the left
of it is never read, so a forged header can neither change the address a client is counted under nor blame
another client. A request with fewer entries than N (it did not pass every proxy) is counted under its peer.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from python_ipware import IpWare

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_address", default=None)


@lru_cache(maxsize=8)
def _ipware(proxies: int) -> IpWare:
    return IpWare(precedence=("HTTP_X_FORWARDED_FOR",), proxy_count=proxies - 1)


def client_address(request: HttpRequest) -> str:
    """The client's address as the deployment's trusted proxies saw it (see the module docstring)."""
    peer = str(request.META.get("REMOTE_ADDR", "") or "")
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies <= 0:
        return peer
    ip, _trusted = _ipware(proxies).get_client_ip(request.META)
    return str(ip) if ip is not None else peer


def current() -> str | None:
    """The address of the request this thread is serving (None outside a request: commands, jobs)."""
    return _current.get()


class ClientAddressMiddleware:
    """Works out the address once per request (`request.client_address`) and makes it known to the audit log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        address = client_address(request)
        request.client_address = address  # type: ignore[attr-defined]
        token = _current.set(address or None)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
