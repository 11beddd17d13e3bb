"""Content-Security-Policy in a real browser: key pages (home, search, a school with its map, sign-in, the API
docs) run their scripts and break no CSP rule (the `page` fixture fails a test on any violation the browser
reports), and the policy bites: a script injected inline is refused."""

from __future__ import annotations

import os

import pytest

from schools.tests.factories import SchoolFactory, empty_database  # noqa: F401 - fixture

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.functional,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_database"),
]


@pytest.fixture
def school():
    return SchoolFactory(urn=140001, name="Oakfield Primary Academy", latitude=52.4776, longitude=-0.9214)


@pytest.mark.parametrize("path", ["/", "/schools/?q=oak", "/schools/140001/", "/accounts/login/"])
def test_key_pages_run_their_scripts_within_the_policy(live_server, page, school, settings, path):
    settings.MAP_TILE_URL = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"  # an allowed origin that never answers
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    response = page.goto(live_server.url + path)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    # GOV.UK Frontend started from static files: the "js-enabled" classes, and its components initialised
    assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
    page.wait_for_selector("[data-govuk-skip-link-init]", state="attached")
    if path == "/schools/140001/":
        page.wait_for_selector("#school-map[data-ready='true']")
        assert page.locator("#school-map .leaflet-marker-icon").count() == 1
    assert errors == []


def test_api_docs_render_within_the_policy(live_server, page):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(live_server.url + "/api/docs")
    page.wait_for_selector(
        ".swagger-ui .opblock", timeout=30000
    )  # operations rendered from /api/openapi.json
    assert page.locator(".swagger-ui .opblock").count() > 10
    assert all(u.startswith(live_server.url) or u.startswith("data:") for u in requests), requests


def test_an_injected_inline_script_is_refused(live_server, page, school):
    page.goto(live_server.url + "/schools/?q=oak")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.injected") is None
    assert any("inline script" in v for v in page.csp_violations)
    page.csp_violations.clear()  # seen: the fixture's own check is for unexpected violations
