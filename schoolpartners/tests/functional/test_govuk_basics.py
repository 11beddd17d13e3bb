"""Browser tests of the GOV.UK basics on every main page: no sideways scroll on a 375 x 800 phone, axe-core clean
including its best-practice rules (landmarks, headings), the footer's own pages, styled error pages, printing.

The pages are those of a small world with every role (schoolpartners/tests/authz_world.py), read anonymously and
as a signed-in regional broker, a school user and staff.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from conftest import AXE_JS
from schoolpartners.tests import authz_world

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}


@pytest.fixture
def world(settings: Any) -> authz_world.World:
    settings.MAP_TILE_URL = ""
    return authz_world.build()


def _sign_in(page: Any, live_server: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def _axe_all(page: Any) -> list[dict[str, Any]]:
    """Every axe-core violation, WCAG A/AA and best practice, of any impact."""
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}, resultTypes: ['violations']})"
    )
    return list(result["violations"])


def _check(page: Any, url: str) -> list[str]:
    problems: list[str] = []
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"{url}: page is {width}px wide at {PHONE['width']}px")
    for v in _axe_all(page):
        problems.append(f"{url}: axe {v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}")
    return problems


def _anonymous_pages(w: authz_world.World) -> list[str]:
    ids = w.ids
    return [
        "/",
        "/schools/?q=Primary",
        f"/schools/{ids['b1']}/",
        f"/schools/{ids['b1']}/similar/",
        "/trusts/",
        f"/trusts/{ids['trust_b']}/",
        "/sponsors/",
        "/similarity/coverage/",
        "/similarity/methodology/",
        "/brokerage/methodology/",
        "/partnerships/methodology/",
        "/partnerships/grant/",
        "/partnerships/issp/",
        "/evaluation/",
        "/support/report/",
        "/accessibility/",
        "/cookies/",
        "/privacy/",
        "/contact/",
        "/accounts/login/",
    ]


def test_main_pages_fit_a_phone_and_pass_axe_best_practices(live_server, page, world):
    page.set_viewport_size(PHONE)
    problems: list[str] = []
    for path in _anonymous_pages(world):
        problems += _check(page, live_server.url + path)
    ids = world.ids
    signed_in = {
        "b_broker": [
            "/home/",
            "/brokerage/",
            f"/brokerage/runs/{ids['run']}/",
            "/brokerage/deployments/",
            f"/brokerage/deployments/{ids['deployment']}/",
            "/notifications/",
            "/support/",
        ],
        "b_school1": [
            "/home/",
            "/brokerage/proposals/",
            "/brokerage/school/",
            "/partnerships/requests/",
            "/support/",
            "/account/notifications/",
            "/jobs/",
        ],
        "b_school4": ["/home/", f"/partnerships/requests/{ids['leave']}/", "/partnerships/requests/new/"],
        "b_trust": ["/home/", "/audit/"],
        "b_approver": ["/home/", "/audit/"],
        "staff": [
            "/home/",
            "/imports/",
            "/imports/upload/",
            "/jobs/recompute/",
            "/audit/",
            "/partnerships/designations/",
            "/similarity/runs/",
        ],
    }
    for who, paths in signed_in.items():
        page.context.clear_cookies()
        _sign_in(page, live_server, world.users[who])
        for path in paths:
            problems += _check(page, live_server.url + path)
    assert not problems, "\n".join(problems)


def test_signed_in_header_fits_on_one_line_at_1280(live_server, page, world):
    """Staff see the most links; the service navigation still takes one row and the account links sit in the
    header."""
    page.set_viewport_size({"width": 1280, "height": 800})
    _sign_in(page, live_server, world.users["staff"])
    page.goto(live_server.url + "/")
    tops = page.eval_on_selector_all(
        ".govuk-service-navigation__item", "els => els.map(e => Math.round(e.getBoundingClientRect().top))"
    )
    assert len(tops) >= 7 and len(set(tops)) == 1, tops
    assert page.locator("header .sp-header-account a", has_text="Sign out").is_visible()
    assert page.locator("#notifications-link").is_visible()


def test_footer_pages_and_styled_errors(live_server, page, world):
    page.goto(live_server.url + "/")
    for name in ("Accessibility statement", "Cookies", "Privacy notice", "Contact"):
        page.locator("footer").get_by_role("link", name=name).click()
        assert page.locator("h1").inner_text().startswith(name.split()[0]), name
        assert page.locator("header.govuk-header").count() == 1
    # every cookie the service has set so far (anonymous, then signed in, after sending a form) is on the list
    _sign_in(page, live_server, world.users["b_school1"])
    page.goto(live_server.url + "/partnerships/requests/new/")
    page.goto(live_server.url + "/cookies/")
    listed = set(page.locator("#cookies-table tbody code").all_inner_texts())
    held = {c["name"] for c in page.context.cookies()}
    assert held and held <= listed, (held, listed)
    # 403 and 404 keep the service's header, say what happened and offer a way on
    forbidden = page.goto(f"{live_server.url}/brokerage/runs/{world.ids['run']}/")
    assert forbidden is not None and forbidden.status == 403
    assert page.locator("h1").inner_text() == "You cannot see or change this"
    assert page.locator("header.govuk-header").count() == 1
    missing = page.goto(live_server.url + "/schools/999999999/")
    assert missing is not None and missing.status == 404
    assert page.locator("h1").inner_text() == "Page not found"


def test_print_hides_navigation_and_map_controls(live_server, page, world):
    page.goto(f"{live_server.url}/schools/{world.ids['b4']}/")
    page.emulate_media(media="print")
    for selector in (".govuk-service-navigation", ".govuk-footer", ".govuk-breadcrumbs", ".sp-export-links"):
        loc = page.locator(selector)
        assert loc.count() and not loc.first.is_visible(), selector
    assert page.locator("main h1").is_visible()
    page.emulate_media(media="screen")
    assert page.locator(".govuk-service-navigation").is_visible()


def test_school_page_links_ofsted_trust_and_keeps_the_search(live_server, page, world):
    urn = world.ids["b4"]
    page.goto(live_server.url + "/schools/?q=B4")
    page.locator("main a", has_text="B4 Primary").first.click()
    assert (
        page.locator("#ofsted-reports").get_attribute("href")
        == f"https://reports.ofsted.gov.uk/search?q={urn}"
    )
    page.locator("#trusts-table").get_by_role("link", name="Trust B", exact=True).click()
    assert page.url.endswith(f"/trusts/{world.ids['trust_b']}/")
    page.go_back()
    page.locator(".govuk-breadcrumbs a", has_text="Find a school").click()
    assert page.url.endswith("/schools/?q=B4")
    assert page.locator("input[name=q]").input_value() == "B4"
