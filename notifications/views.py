"""The signed-in user's notifications page (POST marks them all read), its CSV/XLSX export, and the email
preferences page under the account."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from notifications import queries, services
from notifications.models import Frequency
from schoolpartners.access import signed_in
from schoolpartners.exports import Column, export_response
from schoolpartners.params import HardenedForm


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


class PreferenceForm(HardenedForm):
    frequency = forms.ChoiceField(
        choices=Frequency.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select how often you want emails about your notifications"},
    )


@signed_in
def preferences(request: HttpRequest) -> HttpResponse:
    """How the user's notifications are emailed: immediately, a daily digest, or not at all."""
    current = services.frequency_of(request.user)
    form = PreferenceForm(request.POST or None, initial={"frequency": current})
    if request.method == "POST" and form.is_valid():
        services.set_frequency(request.user, form.cleaned_data["frequency"])
        messages.success(request, "Your notification settings have been saved.")
        return redirect("notifications:preferences")
    return render(
        request,
        "notifications/preferences.html",
        {
            "form": form,
            "choices": Frequency.choices,
            "current": form.data.get("frequency", current) if form.is_bound else current,
            "email": getattr(request.user, "email", ""),
        },
    )
