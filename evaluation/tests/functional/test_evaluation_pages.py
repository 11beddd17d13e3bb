"""Browser test: the what-works pages and a school's before-and-after chart, then a school user records the
support their school gives (headless Chromium, axe)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.cache import cache

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from conftest import run_axe
from evaluation import services
from evaluation.engine import Settings
from evaluation.tests import world
from similarity.models import SimilarityRun
from support.models import SupportActivity

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]


def no_violations(page: Any) -> None:
    violations: list[Any] = run_axe(page)
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def test_evaluation_page_school_chart_and_recording_support(live_server, page):
    cache.clear()
    built = world.build()
    services.run_national(Settings(n_boot=200))
    SimilarityRun.objects.all().delete()  # the similarity summary is tested elsewhere

    page.goto(f"{live_server.url}/evaluation/")
    assert page.locator("h1").inner_text().startswith("What works")
    page.click("text=All groups, measures and pre-trends: Converting to an academy")
    assert page.locator("h1").inner_text() == "Converting to an academy"
    assert page.locator("#effects-chart").is_visible()
    assert page.locator("#study-0").is_visible()
    assert page.locator("#effects-table tbody tr").count() >= 5
    assert "regression to the mean" in page.locator("#evaluation-limits").inner_text()
    no_violations(page)

    page.goto(f"{live_server.url}/schools/{built['treated'][0]}/")
    assert page.locator("#before-after").is_visible()
    assert page.locator("#before-after-0").is_visible()
    no_violations(page)

    user = UserFactory(username="head", password="pw-123456-long")
    provider, recipient = built["controls"][0], built["controls"][1]
    RoleAssignmentFactory(user=user, role=Role.SCHOOL_USER, school_id=provider)
    page.goto(f"{live_server.url}/accounts/login/?next=/support/record/")
    page.fill("#id_username", "head")
    page.fill("#id_password", "pw-123456-long")
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/support/record/")
    no_violations(page)
    # another school's support is refused
    page.fill("#id_provider_urns", str(recipient))
    page.fill("#id_recipient_urn", str(provider))
    page.select_option("#id_support_type", "jpd")
    page.fill("#id_start_date", "15")  # the GOV.UK date input: day, month, year
    page.fill("#id_start_date-month", "1")
    page.fill("#id_start_date-year", "2018")
    page.click("button:has-text('Record support')")
    assert "only as staff or for a school you act for" in page.locator(".govuk-error-summary").inner_text()
    assert SupportActivity.objects.count() == 0
    # their own school's support is recorded and listed in the ledger
    page.fill("#id_provider_urns", str(provider))
    page.fill("#id_recipient_urn", str(recipient))
    page.fill("#id_days", "4")
    page.click("button:has-text('Record support')")
    page.wait_for_url("**/support/")
    assert page.locator("#ledger-table tbody tr").count() == 1
    assert "Joint practice development" in page.locator("#ledger-table").inner_text()
    no_violations(page)
    assert SupportActivity.objects.get().providers.get().urn == provider
