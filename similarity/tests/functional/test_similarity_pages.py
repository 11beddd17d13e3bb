"""Browser tests: a school's similar-schools page and the national coverage page in headless Chromium (axe)."""

from __future__ import annotations

import os
import re

import pytest
from django.core.cache import cache

from conftest import run_axe
from similarity import services
from similarity.models import SchoolSimilarity
from similarity.tests.population import build_population, method_small

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]

UNREACHABLE_TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"  # discard port: nothing answers


@pytest.fixture
def stored(settings):
    settings.MAP_TILE_URL = UNREACHABLE_TILES
    cache.clear()
    build_population()
    run = services.recompute(method_small()).run
    services.recompute(method_small(family_size=4), make_current=False)  # a second run: the run picker shows
    yield run
    cache.clear()


def test_similar_page_and_coverage_page_are_accessible(live_server, page, stored):
    sim = (
        SchoolSimilarity.objects.filter(run=stored, partner__isnull=False)
        .exclude(challenge_pairs=[])
        .select_related("school", "partner")
        .first()
    )
    assert sim is not None
    page.goto(f"{live_server.url}/schools/{sim.school_id}/")
    page.click("#similarity-summary >> text=See all similar schools")
    page.wait_for_url(re.compile(rf"/schools/{sim.school_id}/similar/$"))
    assert page.locator("h1").inner_text() == "Similar schools"
    assert page.locator("#partner-link").inner_text() == sim.partner.name
    # the map draws both schools even though no tile loads; the location is also printed as text
    page.wait_for_selector("#partner-map[data-ready='true']")
    assert page.locator("#partner-map .leaflet-marker-icon").count() == 1
    assert sim.partner.name in page.locator("#partner-map-text").inner_text()
    assert page.locator("#family-table tbody tr").count() == 8
    assert page.locator("#strengths-chart").is_visible()
    assert page.locator("#pairs-table tbody tr").count() == len(sim.challenge_pairs)
    # sort by miles, farthest first
    page.click("#family-table th >> text=Miles away")
    page.click("#family-table th >> text=Miles away")
    page.wait_for_url(re.compile(r"order=desc"))
    miles = [float(t) for t in page.locator("#family-table tbody tr td:nth-child(5)").all_inner_texts()]
    assert miles == sorted(miles, reverse=True)
    violations = run_axe(page)
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    # pick the other run: a family of 4
    page.select_option("#run-select", index=1)
    page.click("#run-picker button")
    page.wait_for_url(re.compile(r"run=\d+"))
    assert page.locator("#family-table tbody tr").count() == 4
    assert "not the current run" in page.locator("#run-description").inner_text()

    page.goto(f"{live_server.url}/similarity/coverage/")
    assert page.locator("#coverage-table tbody tr").count() == 4
    assert page.locator("#coverage-chart").is_visible()
    violations = run_axe(page)
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]

    page.goto(f"{live_server.url}/similarity/methodology/")
    assert "methodology" in page.locator("h1").inner_text().lower()
    violations = run_axe(page)
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
