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
from evaluation.designs import DesignSettings
from evaluation.engine import Settings
from evaluation.tests import world
from similarity.models import SimilarityRun
from support.models import SupportActivity

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]


# pairs of SVG texts (and texts against the chart's edges) whose boxes intersect
OVERLAPS = """(sel) => {
  const svg = document.querySelector(sel);
  const box = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBoundingClientRect()]);
  const out = [];
  for (const [s, r] of texts) {
    if (r.left < box.left - 1 || r.right > box.right + 1) out.push(['outside', s]);
  }
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
    const [a, r] = texts[i], [b, q] = texts[j];
    if (r.left < q.right - 1 && q.left < r.right - 1 && r.top < q.bottom - 1 && q.top < r.bottom - 1) out.push([a, b]);
  }
  return out;
}"""


def no_violations(page: Any) -> None:
    violations: list[Any] = run_axe(page)
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def test_evaluation_page_school_chart_and_recording_support(live_server, page):
    cache.clear()
    built = world.build()
    services.run_national(Settings(n_boot=200), design_settings=DesignSettings(min_treated=5, caliper=3.0))
    SimilarityRun.objects.all().delete()  # the similarity summary is tested elsewhere

    page.goto(f"{live_server.url}/evaluation/")
    assert page.locator("h1").inner_text().startswith("What works")
    page.click("text=All groups, measures and pre-trends: Converting to an academy")
    assert page.locator("h1").inner_text() == "Converting to an academy"
    head = page.locator("#headline-table").inner_text()
    assert "phase: primary" in head
    assert "Matched difference-in-differences" in head or "No design passed" in head
    designs = page.locator("#designs-table").inner_text()
    for label in (
        "Matched difference-in-differences",
        "Event study (Sun & Abraham)",
        "Not enough schools yet",
    ):
        assert label in designs
    assert page.locator("#study-0").is_visible()  # the event study chart with leads and lags
    assert "Difference after (SMD)" in page.locator("#balance-group-0").inner_text()
    steps = page.locator("#steps-list").inner_text()
    assert "Links without a date" in steps and "Matched to comparison schools" in steps
    # one unit per chart: KS2 points and Progress 8 never share an axis
    assert page.locator("#designs-ks2_progress").is_visible() and page.locator("#designs-p8mea").count() == 0
    assert page.locator("#naive-ks2_progress").is_visible()
    # readable charts: no label cut off, no two texts overlapping
    for chart in ("#designs-ks2_progress", "#naive-ks2_progress", "#study-0"):
        overlaps = page.evaluate(OVERLAPS, chart)
        assert overlaps == [], (chart, overlaps)
    tspans = page.locator("#naive-ks2_progress tspan").all_text_contents()
    assert "KS2 progress (mean of reading, writing and maths)" in " ".join(tspans)  # wrapped, not cut
    rows = page.locator("#effects-table tbody tr").all_inner_texts()
    assert len(rows) == len(set(rows)) and len(rows) >= 3  # no duplicated rows
    assert "regression to the mean" in page.locator("#evaluation-limits").inner_text()
    no_violations(page)

    page.goto(f"{live_server.url}/evaluation/support/brokered_deployment/")
    assert "Not enough schools yet" in page.locator("#headline-table").inner_text()
    assert "5 needed" in page.locator("#headline-table").inner_text()
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
