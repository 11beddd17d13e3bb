"""Sign in and sign out pages (Django auth views with GOV.UK templates), and the signed-in home page: what awaits
each role (sections from `accounts.dashboard`, filled by the domains) and links to their own pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.dashboard import Link, Section, Task, sections_for
from accounts.models import Role, RoleAssignment
from audit.queries import can_read_audit
from notifications.queries import unread_count
from schoolpartners.access import public_read, signed_in
from schoolpartners.types import User


class SignInForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "Enter a correct username and password. Both are case-sensitive.",
        "inactive": "This account is inactive.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget = forms.TextInput(attrs={"autocomplete": "username"})
        self.fields["password"].widget = forms.PasswordInput(attrs={"autocomplete": "current-password"})


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You have signed out.")
        return response


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """django-axes' lockout answer (settings.AXES_LOCKOUT_CALLABLE): 429 with the GOV.UK page saying how long."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    response = render(
        request, "accounts/locked_out.html", {"username": username, "minutes": minutes}, status=429
    )
    response["Retry-After"] = str(minutes * 60)
    return response


_sign_in = SignInView.as_view()
_sign_out = SignOutView.as_view()


@public_read
def login(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    """Sign in. Reading needs no account; staff sign in to manage data."""
    return _sign_in(request, *args, **kwargs)


@public_read
@require_http_methods(["GET", "POST"])
def logout(request: HttpRequest) -> HttpResponseBase:
    """GET asks to confirm; POST signs out (Django only signs out on POST, so a link cannot sign you out)."""
    if request.method == "POST":
        return _sign_out(request)
    return render(request, "accounts/logout.html")


def _roles(user: User) -> list[dict[str, Any]]:
    out = []
    rows = (
        RoleAssignment.objects.filter(user=user)
        .select_related("school", "partnership")
        .order_by("role", "id")
    )
    for ra in rows:
        if ra.role == Role.SCHOOL_USER and ra.school is not None:
            scope, url = ra.school.name, reverse("schools:detail", args=[ra.school_id])
        elif ra.role == Role.TRUST_ADMIN and ra.partnership is not None:
            scope, url = ra.partnership.name, reverse("partnerships:trust", args=[ra.partnership_id])
        else:
            scope, url = ra.region, ""
        out.append({"role": ra.get_role_display(), "scope": scope, "url": url})
    return out


def _kernel_section(user: User) -> Section:
    unread = unread_count(user)
    tasks = [Task("Unread notifications", unread, reverse("notifications:notifications"))] if unread else []
    links = [
        Link("All your notifications", reverse("notifications:notifications")),
        Link("Notification emails: how often", reverse("notifications:preferences")),
    ]
    if can_read_audit(user):
        links.append(Link("Audit log: who changed what", reverse("audit:log")))
    return Section("notifications", "Notifications", tasks=tasks, links=links)


@signed_in
def home(request: HttpRequest) -> HttpResponse:
    """What awaits the signed-in user: requests to decide, proposals to answer, deployments to update, unread
    notifications, and links to their school's, trust's or region's pages."""
    user = request.user
    assert isinstance(user, User)
    sections = [_kernel_section(user), *sections_for(user)]
    return render(
        request,
        "accounts/home.html",
        {
            "sections": sections,
            "roles": _roles(user),
            "waiting": sum(s.waiting for s in sections),
            "display_name": user.get_full_name() or user.get_username(),
        },
    )
