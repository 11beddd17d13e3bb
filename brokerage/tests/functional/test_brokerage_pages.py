"""Browser test: a broker runs a region's matching, reads explanations and cold spots, sends a proposal, and
both schools accept it (headless Chromium, axe on the broker's pages)."""

from __future__ import annotations

import os
import re

import pytest

from brokerage.models import Deployment
from brokerage.tests.helpers import PASSWORD, world
from conftest import run_axe

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]

UNREACHABLE_TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"


def sign_in(page, base, username):
    page.goto(f"{base}/accounts/logout/")
    if page.locator("form button").count():
        page.locator("main form button").first.click()
    page.goto(f"{base}/accounts/login/?next=/brokerage/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/brokerage/$"))


def check_axe(page):
    violations = run_axe(page)
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def test_broker_matches_and_both_schools_accept(live_server, page, settings):
    settings.MAP_TILE_URL = UNREACHABLE_TILES
    w = world()
    base = live_server.url
    sign_in(page, base, w.broker.username)
    check_axe(page)
    page.select_option("#id_region", "West Midlands")
    page.click("#run-button")
    page.wait_for_url(re.compile(r"/brokerage/runs/\d+/$"))
    assert "Matching" in page.locator("h1").inner_text()
    assert page.locator(".matches-table tbody tr").count() == 2
    assert "miles away" in page.locator("#send-form").inner_text()
    # the result in words, not the solver's objective
    result = page.locator("#run-result").inner_text()
    assert "2 of 3 needs matched" in result and "1 unserved" in result and "miles on average" in result
    assert "Total cost" not in page.locator("#run-summary").inner_text()
    assert "25, 50, 75 miles" in page.locator("#run-ladder").inner_text()
    # the send bar stays at the bottom of the window
    assert page.eval_on_selector("#send-bar", "e => getComputedStyle(e).position") == "sticky"
    assert "Cove Primary" in page.locator("#unmatched-table").inner_text()
    # the cold-spot map draws without tiles, and its places are listed as text
    page.wait_for_selector("#cold-map[data-ready='true']")
    assert "Cove Primary" in page.locator("#cold-list").inner_text()
    assert "Birmingham" in page.locator("#cold-la-table").inner_text()
    # unmet need by district: England's outlines from the app (no tiles), shaded, with the table equivalent
    page.wait_for_selector("#district-map[data-ready='true']")
    assert page.locator("#district-map .leaflet-overlay-pane path").count() >= 296
    assert page.locator("#district-map .leaflet-overlay-pane path[fill='#f4c2b6']").count() >= 1
    district_rows = page.locator("#district-table tbody tr").all_inner_texts()
    assert district_rows[0].split("\t")[:3] == ["Cornwall", "1", "1"]  # Cove Primary, unserved, comes first
    assert any(r.startswith("Birmingham") for r in district_rows)
    check_axe(page)

    for summary in page.locator(".sp-area-group:not([open]) summary").all():
        summary.click()
    page.click("#select-all")
    assert page.locator("#selected-count").inner_text() == "2 proposals selected"
    page.click("#select-none")
    assert page.locator("#selected-count").inner_text() == "0 proposals selected"
    row = page.locator(".matches-table tbody tr", has_text="Ash Primary")
    supporter = "Elm Primary" if "Elm Primary" in row.inner_text() else "Fir Primary"
    row.locator("input[type=checkbox]").check()
    assert page.locator("#selected-count").inner_text() == "1 proposal selected"
    page.click("#send-button")
    page.wait_for_selector("text=1 proposal sent")

    sign_in(page, base, w.needy_user.username)
    page.goto(f"{base}/brokerage/proposals/")
    page.locator("#proposals-table button", has_text="Accept").first.click()
    page.wait_for_selector("text=you accepted")
    check_axe(page)

    helper = w.helper_user if supporter == "Elm Primary" else w.helper2_user
    sign_in(page, base, helper.username)
    page.goto(f"{base}/brokerage/proposals/")
    page.locator("#proposals-table button", has_text="Accept").first.click()
    page.wait_for_selector("text=Accepted by both")
    d = Deployment.objects.get()
    assert d.status == "active" and d.need.school.name == "Ash Primary"
    page.goto(f"{base}/brokerage/deployments/")
    assert "Ash Primary" in page.locator("#deployments-table").inner_text()

    # the broker saves the deployment with its own prefilled values (the GOV.UK date input)
    sign_in(page, base, w.broker.username)
    page.goto(f"{base}/brokerage/deployments/{d.pk}/")
    assert page.input_value("#id_start") == str(d.start.day)
    assert page.input_value("#id_start-month") == str(d.start.month)
    assert page.input_value("#id_start-year") == str(d.start.year)
    page.click("#deployment-save")
    page.wait_for_selector("text=Deployment updated.")
    check_axe(page)
    # then fills the date boxes: an end date without a month says what to fix, in the error summary
    page.fill("#id_days", "6")
    page.fill("#id_end", "31")
    page.fill("#id_end-year", str(d.start.year + 1))
    page.click("#deployment-save")
    summary = page.locator(".govuk-error-summary")
    assert "End date must include a month" in summary.inner_text()
    assert page.title().startswith("Error:")
    check_axe(page)
    page.fill("#id_end-month", "13")
    page.click("#deployment-save")
    assert "End date must be a real date" in page.locator(".govuk-error-summary").inner_text()
    page.fill("#id_end-month", "7")
    page.click("#deployment-save")
    page.wait_for_selector("text=Deployment updated.")
    d.refresh_from_db()
    assert d.days == 6 and d.end is not None and (d.end.day, d.end.month) == (31, 7)
    assert d.start is not None
