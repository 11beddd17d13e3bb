"""The service's own pages linked from every footer: accessibility statement, cookies, privacy notice, contact.

Public; they read settings only (no database), so they render even when the data is not loaded.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from schoolpartners.access import public_read

# Every cookie this service can set, with why and for how long (the cookies page lists these; a test signs in,
# submits a form and fails if the browser holds a cookie of ours that is not listed here).
COOKIES: list[dict[str, str]] = [
    {
        "name": settings.SESSION_COOKIE_NAME,
        "purpose": "Keeps you signed in as you move between pages.",
        "expires": "When you sign out, or after 2 weeks",
        "when": "Only after you sign in",
    },
    {
        "name": settings.CSRF_COOKIE_NAME,
        "purpose": "Protects the forms you send (sign in, requests, answers) from being sent by another website.",
        "expires": "After 1 year",
        "when": "When you open a page with a form",
    },
    {
        "name": "sp_device",
        "purpose": "Remembers that this browser has signed in to an account before, so it does not have to wait "
        "when someone else has been trying wrong passwords for that account.",
        "expires": "After 180 days",
        "when": "Only after you sign in",
    },
]


@public_read
def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "schoolpartners/pages/accessibility.html", {"contact": settings.CONTACT_EMAIL})


@public_read
def cookies(request: HttpRequest) -> HttpResponse:
    return render(request, "schoolpartners/pages/cookies.html", {"cookies": COOKIES})


@public_read
def privacy(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "schoolpartners/pages/privacy.html",
        {
            "contact": settings.CONTACT_EMAIL,
            "lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        },
    )


@public_read
def contact(request: HttpRequest) -> HttpResponse:
    return render(request, "schoolpartners/pages/contact.html", {"contact": settings.CONTACT_EMAIL})
