"""Sign in and sign out pages (Django auth views with GOV.UK templates)."""

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
from django.views.decorators.http import require_http_methods

from schoolpartners.access import public_read


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
