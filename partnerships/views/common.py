"""What the partnership pages share: labels, query-string helpers, the user's schools and refusals."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, QueryDict

from accounts.permissions import schools_of
from partnerships import queries, services
from schoolpartners.params import query_int

COMPACTNESS = {"compact": "Compact", "regional": "Regional", "dispersed": "Dispersed", "unknown": "Not known"}
PHASES = {
    "primary": "Primary",
    "secondary": "Secondary",
    "all_through": "All-through",
    "16_plus": "16 plus",
    "middle_primary": "Middle (primary)",
    "middle_secondary": "Middle (secondary)",
    "nursery": "Nursery",
    "not_applicable": "Not applicable",
    "": "Not known",
}


def _query(get: QueryDict, **changes: Any) -> str:
    q = get.copy()
    for k, v in changes.items():
        if v is None or v == "":
            q.pop(k, None)
        else:
            q[k] = str(v)
    return q.urlencode()


def _int(value: str | None) -> int | None:
    """An id or count from a query string or form field; None when absent, malformed or beyond 2^63 - 1."""
    return query_int(value, minimum=0)


def _my_schools(request: HttpRequest) -> list[tuple[int, str]]:
    return queries.school_choices(schools_of(request.user))


def _refused(request: HttpRequest, exc: services.ProcedureError, form: Any = None) -> None:
    msg = "; ".join(exc.messages)
    if form is not None:
        form.add_error(None, msg)
    else:
        messages.error(request, msg)
