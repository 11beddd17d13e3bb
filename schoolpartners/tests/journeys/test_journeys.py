"""The five journeys of issue 14, end to end in headless Chromium against the app as `make run` starts it
(`schoolpartners serve`: gunicorn and a db_worker; see conftest.py). Every page visited passes axe; a few main
pages are checked at 375 x 800 for sideways scroll; screenshots go to test-artifacts/journeys/<journey>/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from schoolpartners.tests.journeys.conftest import App
from schoolpartners.tests.journeys.steps import Journey

pytestmark = [pytest.mark.functional]


def test_parent(app: App, page: Any) -> None:
    """A parent searches a school, opens it, its similar schools, its trust's page and the compare-trusts page."""
    s = app.seed
    j = Journey("1-parent", page, app.url, s["password"])
    j.go("/", "start")
    j.narrow("start")
    j.go("/schools/", "search")
    page.fill("#id_q", "Oak Primary School 3")
    page.locator("main form button[type=submit], main form .govuk-button").first.click()
    page.wait_for_url(re.compile(r"q=Oak"))
    j.see("results")
    page.locator("#results a", has_text=re.compile(r"^Oak Primary School 3$")).click()
    page.wait_for_url(re.compile(rf"/schools/{s['oak'][3]}/$"))
    assert page.locator("h1").inner_text().startswith("Oak Primary School 3")
    j.see("school")
    j.narrow("school")
    page.click("#similarity-summary >> text=See all similar schools")
    page.wait_for_url(re.compile(rf"/schools/{s['oak'][3]}/similar/$"))
    assert page.locator("h1").inner_text() == "Similar schools"
    assert page.locator("#family-table tbody tr").count() == 8
    page.wait_for_selector("#partner-map[data-ready='true']")
    j.see("similar-schools")
    j.narrow("similar-schools")
    # the school's trust: its name links the trust's page (before the GOV.UK basics branch it is plain text on
    # the school page, and the parent finds it on the compare-trusts page by name instead)
    page.go_back()
    assert "Oak Learning Trust" in j.main_text()
    trust_link = page.locator(f"main a[href='/trusts/{s['oak_trust']}/']")
    if not trust_link.count():
        j.go("/trusts/?q=Oak+Learning", "compare-trusts-by-name")
        trust_link = page.locator(f"#compare-table a[href='/trusts/{s['oak_trust']}/']")
    trust_link.first.click()
    page.wait_for_url(re.compile(rf"/trusts/{s['oak_trust']}/$"))
    assert "Oak Learning Trust" in page.locator("h1").inner_text()
    assert page.locator("#member-count").inner_text() == "6"
    j.see("trust")
    j.narrow("trust")
    j.go("/trusts/", "compare-trusts")
    assert "Oak Learning Trust" in page.locator("#compare-table").inner_text()
    page.fill("#q", "TR09002")
    page.locator("#compare-filters button[type=submit], #compare-filters .govuk-button").first.click()
    page.wait_for_url(re.compile(r"q=TR09002"))
    table = page.locator("#compare-table").inner_text()
    assert "Acorn Schools Trust" in table and "Oak Learning Trust" not in table
    j.see("compare-trusts-by-dfe-id")
    j.narrow("compare-trusts")
    j.finish()
