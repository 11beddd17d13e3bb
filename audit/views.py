"""The audit log page: the events the signed-in user may read (staff: all; regional approvers: their region;
trust administrators: their trust), filtered, paginated, with CSV/XLSX exports of the filtered events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse

from audit import queries
from audit.forms import AuditFilterForm
from audit.kinds import label_of
from audit.models import AuditEvent
from schoolpartners.access import school_or_trust_scoped
from schoolpartners.exports import Column, export_response
from schoolpartners.params import query_int

PAGE_SIZE = 50
MAX_EXPORT = 100_000


def _form(request: HttpRequest) -> AuditFilterForm:
    if not queries.can_read_audit(request.user):
        raise PermissionDenied(
            "Only staff, regional directors' offices and trust administrators read the audit log."
        )
    return AuditFilterForm(request.GET or None)


Names = dict[str, dict[int, str]]


def _names(events: list[AuditEvent]) -> Names:
    """Names of the schools and trusts the events name (higher layers' models, looked up by name)."""
    urns, trusts = set(), set()
    for e in events:
        d = e.data if isinstance(e.data, dict) else {}
        if isinstance(d.get("school"), int):
            urns.add(d["school"])
        if isinstance(d.get("partnership"), int):
            trusts.add(d["partnership"])
    school, partnership = apps.get_model("schools", "School"), apps.get_model("partnerships", "Partnership")
    return {
        "school": dict(school.objects.filter(pk__in=urns).values_list("pk", "name")) if urns else {},
        "trust": dict(partnership.objects.filter(pk__in=trusts).values_list("pk", "name")) if trusts else {},
    }


def _subject(e: AuditEvent, names: Names) -> str:
    d = e.data if isinstance(e.data, dict) else {}
    parts = []
    if d.get("school"):
        urn = d["school"]
        parts.append(f"{names['school'][urn]} ({urn})" if urn in names["school"] else f"school {urn}")
    if d.get("partnership"):
        pk = d["partnership"]
        parts.append(names["trust"].get(pk) or f"trust {pk}")
    if d.get("region"):
        parts.append(str(d["region"]))
    if d.get("file"):
        parts.append(str(d["file"]))
    return ", ".join(parts)


def _row(e: AuditEvent, names: Names) -> dict[str, Any]:
    return {
        "id": e.pk,
        "at": e.at,
        "what": label_of(e.action),
        "kind": e.action,
        "actor": e.actor_username or "the system",
        "object": f"{e.object_type} {e.object_id}".strip(),
        "about": _subject(e, names),
    }


@school_or_trust_scoped
def audit_log(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    valid = form.is_valid() if form.is_bound else True
    events = queries.events_for(
        request.user, form.filters() if form.is_bound and valid else queries.AuditFilters()
    )
    if not valid:
        events = events.none()
    pages = Paginator(events, PAGE_SIZE)
    number = min(query_int(request.GET.get("page")) or 1, max(pages.num_pages, 1))
    page = pages.page(number)
    events_on_page = list(page.object_list)
    names = _names(events_on_page)
    query = request.GET.copy()
    query.pop("page", None)

    def link(n: int) -> str:
        q = query.copy()
        q["page"] = str(n)
        return "?" + q.urlencode()

    qs = query.urlencode()
    return render(
        request,
        "audit/log.html",
        {
            "form": form,
            "rows": [_row(e, names) for e in events_on_page],
            "page": page,
            "count": pages.count,
            "prev_url": link(number - 1) if page.has_previous() else "",
            "next_url": link(number + 1) if page.has_next() else "",
            "exports": {
                f: reverse("audit:export", args=[f]) + (f"?{qs}" if qs else "") for f in ("csv", "xlsx")
            },
            "is_staff": request.user.is_staff,
        },
    )


COLUMNS = [
    Column("at", "When"),
    Column("what", "What happened"),
    Column("kind", "Event kind"),
    Column("actor", "Done by"),
    Column("object", "Record"),
    Column("about", "About"),
]


def _export_rows(events: Any, chunk: int = 2000) -> Iterator[dict[str, Any]]:
    batch: list[AuditEvent] = []
    for e in events.iterator(chunk_size=chunk):
        batch.append(e)
        if len(batch) == chunk:
            names = _names(batch)
            yield from (_row(x, names) for x in batch)
            batch = []
    names = _names(batch)
    yield from (_row(x, names) for x in batch)


@school_or_trust_scoped
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    form = _form(request)
    if form.is_bound and not form.is_valid():
        return render(request, "audit/log.html", {"form": form, "rows": [], "count": 0}, status=400)
    f = form.filters() if form.is_bound else queries.AuditFilters()
    rows = _export_rows(queries.events_for(request.user, f)[:MAX_EXPORT])
    return export_response(rows, COLUMNS, "audit-log", fmt, sheet="Audit log")
