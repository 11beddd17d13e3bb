"""The signed-in user's notifications page (POST marks them all read) and its CSV/XLSX export."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from notifications import queries, services
from schoolpartners.access import signed_in
from schoolpartners.exports import Column, export_response


@signed_in
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.mark_all_read(request.user)
        return redirect("notifications:notifications")
    return render(
        request,
        "notifications/notifications.html",
        {
            "notifications": queries.notifications_for(request.user)[:200],
            "exports": {f: reverse("notifications:export", args=[f]) for f in ("csv", "xlsx")},
        },
    )


NOTIFICATION_COLUMNS = [
    Column("created_at", "Sent"),
    Column("text", "Notification"),
    Column("url", "Link"),
    Column("read_at", "Read"),
]


@signed_in
def notifications_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The caller's own notifications (exporting does not mark them read)."""
    rows = (
        {
            "created_at": n.created_at,
            "text": n.text,
            "url": request.build_absolute_uri(n.url) if n.url else "",
            "read_at": n.read_at,
        }
        for n in queries.notifications_for(request.user)
    )
    return export_response(rows, NOTIFICATION_COLUMNS, "notifications", fmt, sheet="Notifications")
