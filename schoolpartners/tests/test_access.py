"""Every page declares an access policy; staff pages turn anonymous users away; GET pages change nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pytest
from django.apps import apps
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.tests.factories import UserFactory
from schoolpartners.access import POLICIES, PUBLIC_READ, STAFF
from schools.tests.factories import (
    CensusRecordFactory,
    InspectionFactory,
    MembershipFactory,
    ResultFactory,
    SchoolFactory,
    SchoolLinkFactory,
    empty_database,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.usefixtures("empty_database")

SKIPPED_PREFIXES = ("admin/", "api/")  # Django admin has its own checks; the API test covers the ninja routes


def walk(patterns: Sequence[object], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        route = prefix + str(p.pattern)  # type: ignore[attr-defined]
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route, p


def all_patterns() -> list[tuple[str, URLPattern]]:
    return list(walk(get_resolver().url_patterns))


def test_walk_finds_the_pages():
    routes = [r for r, _ in all_patterns()]
    assert "schools/" in routes
    assert any("login" in r for r in routes)
    assert len(routes) >= 8


@pytest.mark.parametrize("route,pattern", all_patterns(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_view_declares_an_access_policy(route, pattern):
    policy = getattr(pattern.callback, "access_policy", None)
    assert policy in POLICIES, (
        f"{route} ({pattern.lookup_str}) has no access_policy: wrap it with schoolpartners.access"
    )


def staff_routes() -> list[str]:
    return [r for r, p in all_patterns() if getattr(p.callback, "access_policy", None) is STAFF]


@pytest.mark.django_db
def test_anonymous_user_is_redirected_from_staff_page(client):
    assert "imports/" in staff_routes()
    response = client.get("/imports/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "next=/imports/" in response["Location"]
    assert client.get("/imports/export.csv").status_code == 302


@pytest.mark.django_db
def test_non_staff_user_is_redirected_and_staff_user_admitted(client):
    UserFactory(username="reader", password="pw-reader-123")
    UserFactory(username="staffer", password="pw-staff-123", is_staff=True)
    client.login(username="reader", password="pw-reader-123")
    assert client.get("/imports/").status_code == 302
    client.logout()
    client.login(username="staffer", password="pw-staff-123")
    response = client.get("/imports/")
    assert response.status_code == 200
    assert "staffer" in response.content.decode()  # signed-in user shown in the header
    assert client.get("/imports/export.xlsx").status_code == 200


@pytest.mark.django_db
def test_sign_in_and_sign_out(client):
    UserFactory(username="staffer", password="pw-staff-123", is_staff=True)
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and "Sign in" in page.content.decode()
    bad = client.post("/accounts/login/", {"username": "staffer", "password": "wrong"})
    assert bad.status_code == 200 and "There is a problem" in bad.content.decode()
    ok = client.post(
        "/accounts/login/", {"username": "staffer", "password": "pw-staff-123", "next": "/imports/"}
    )
    assert ok.status_code == 302 and ok["Location"] == "/imports/"
    confirm = client.get("/accounts/logout/")
    assert confirm.status_code == 200 and "You are signed in as" in confirm.content.decode()
    out = client.post("/accounts/logout/", follow=True)
    assert "You have signed out" in out.content.decode()
    assert client.get("/imports/").status_code == 302


def _concrete(route: str, urn: int) -> list[str]:
    """Example URLs for a route pattern (fills the path parameters)."""
    route = route.replace("<id:urn>", str(urn))
    route = route.lstrip("^").rstrip("$")
    if "(?P<" not in route:
        return ["/" + route]
    urls = [route]
    for name, choices in re.findall(r"\(\?P<(\w+)>([^)]*)\)", route):
        expanded = []
        options = choices.split("|") if "|" in choices or choices.isalpha() else [str(urn)]
        for u in urls:
            for option in options:
                expanded.append(re.sub(r"\(\?P<" + name + r">[^)]*\)", option, u, count=1))
        urls = expanded
    return ["/" + u.replace("\\.", ".") for u in urls]


def _table_counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()}


@pytest.mark.django_db
def test_get_on_public_pages_changes_nothing(client):
    school = SchoolFactory(urn=123456)
    CensusRecordFactory(school=school)
    ResultFactory(school=school)
    InspectionFactory(school=school)
    MembershipFactory(school=school)
    SchoolLinkFactory(urn=school.urn)
    cache.clear()
    client.get("/schools/")  # warm caches so only data writes would show
    before = _table_counts()
    visited = 0
    for route, pattern in all_patterns():
        if getattr(pattern.callback, "access_policy", None) is not PUBLIC_READ:
            continue
        for url in _concrete(route, school.urn):
            response = client.get(url)
            assert response.status_code in {200, 302, 404}, (url, response.status_code)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            visited += 1
    assert visited >= 8
    assert _table_counts() == before
