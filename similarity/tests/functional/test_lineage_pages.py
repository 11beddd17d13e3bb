"""Browser tests: similar-schools pages through a results lineage, with a passed-over partner, and for an infant
school (family, no partner), in headless Chromium with axe."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.core.cache import cache

from conftest import run_axe
from schools.models import School
from similarity import services
from similarity.method import INTAKE_2025_METHOD
from similarity.models import SchoolSimilarity
from similarity.tests.population import NEW, OLD, build_lineage_world, method_small

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(settings):
    settings.MAP_TILE_URL = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"
    cache.clear()
    out = build_lineage_world()
    run = services.recompute(method_small()).run
    sim = SchoolSimilarity.objects.get(run=run, school_id=OLD)
    nearest = min((m, u) for u, _, m, h in sim.members if h is not None and h > sim.headline)[1]
    School.objects.filter(urn=nearest).update(
        ofsted_rating="Requires Improvement", ofsted_date=dt.date(2023, 3, 1)
    )
    services.recompute(method_small())
    services.recompute(INTAKE_2025_METHOD.with_(family_size=8, min_family_values=3), make_current=False)
    out["nearest"] = nearest
    yield out
    cache.clear()


def _axe(page):
    violations = run_axe(page)
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def test_lineage_passed_over_and_infant_pages(live_server, page, world):
    page.goto(f"{live_server.url}/schools/{NEW}/similar/")
    source = page.locator("#figures-source").inner_text()
    assert f"URN {OLD}" in source and "2018/19" in source and "Predecessor" in source
    assert page.locator("#family-table tbody tr").count() == 8
    assert "Latest Ofsted judgement" in page.locator("#family-table thead").inner_text()
    passed = page.locator("#passed-over").inner_text()
    assert (
        f"URN {world['nearest']}" in passed
        and "passed over: rated Requires Improvement in March 2023" in passed
    )
    _axe(page)
    page.click(f"#figures-source a[href='/schools/{OLD}/']")
    page.wait_for_url(f"**/schools/{OLD}/")

    page.goto(f"{live_server.url}/schools/{world['infant']}/similar/")
    assert page.locator("#partner-status").get_attribute("data-status") == "no_headline"
    assert "infant school" in page.locator("#partner-status").inner_text()
    assert "not in the current run" in page.locator("#run-why").inner_text()
    assert page.locator("#family-table tbody tr").count() == 8
    _axe(page)
