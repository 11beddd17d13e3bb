"""Browser tests: headless Chromium against a live server (search, school page, map offline, accessibility)."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.core.cache import cache

from conftest import run_axe
from schools.models import Phase
from schools.tests.factories import (
    CensusRecordFactory,
    InspectionFactory,
    MembershipFactory,
    NationalAverageFactory,
    PartnershipFactory,
    ResultFactory,
    SchoolFactory,
    SchoolLinkFactory,
    empty_database,  # noqa: F401 - fixture
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.functional,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_database"),
]

UNREACHABLE_TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"  # discard port: nothing answers


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def school_data():
    s = SchoolFactory(
        urn=140001,
        name="Oakfield Primary Academy",
        phase=Phase.PRIMARY,
        establishment_type="Academy - Converter mainstream",
        town="Market Harborough",
        postcode="LE16 7AB",
        postcode_district="LE16",
        latitude=52.4776,
        longitude=-0.9214,
    )
    SchoolFactory(urn=140002, name="Beech Hill School", postcode="LE1 1AA", postcode_district="LE1")
    CensusRecordFactory(school=s, year=2025, nor=205, pct_fsm_ever=21.4)
    for year, value in [(2016, 55.0), (2017, 61.0), (2018, 64.0)]:
        NationalAverageFactory(year=year, measure="PTRWM_EXP", value=value - 3)
        ResultFactory(school=s, year=year, measure="PTRWM_EXP", value=value)
    ResultFactory(school=s, year=2019, measure="READPROG", value=None, note="SUPP")
    InspectionFactory(school=s, date=dt.date(2017, 6, 1), rating="Good")
    MembershipFactory(school=s, partnership=PartnershipFactory(name="Harbour Learning Trust"))
    SchoolLinkFactory(
        urn=s.urn, link_urn=120144, link_name="Oakfield Primary School", link_type="Predecessor"
    )
    return s


def test_search_open_school_and_see_results(live_server, page, school_data):
    page.goto(live_server.url + "/")
    page.fill("#q", "oakfield")
    page.click("button:has-text('Search')")
    page.wait_for_url("**/schools/?q=oakfield")
    assert page.locator("#result-count").inner_text().startswith("1 school")
    page.click("text=Oakfield Primary Academy")
    page.wait_for_url("**/schools/140001/")
    assert page.locator("h1").inner_text().startswith("Oakfield Primary Academy")
    table = page.locator("#ks2-table")
    assert table.is_visible()
    text = table.inner_text()
    assert "2015/16" in text and "2017/18" in text
    assert "64%" in text and "England 61%" in text
    assert "suppressed" in text


def test_map_shows_location_when_tiles_cannot_load(live_server, page, school_data, settings):
    settings.MAP_TILE_URL = UNREACHABLE_TILES
    page.goto(live_server.url + "/schools/140001/")
    assert "Latitude 52.47760, longitude -0.92140" in page.locator("#school-coordinates").inner_text()
    page.wait_for_selector("#school-map[data-ready='true']")
    marker = page.locator("#school-map .leaflet-marker-icon")
    assert marker.count() == 1 and marker.first.is_visible()
    # the tiles fail, so the map falls back to England's district outlines served by the app
    page.wait_for_selector("#school-map[data-base='outlines']")
    assert page.locator("#school-map img.leaflet-tile").count() == 0
    assert page.locator("#school-map .leaflet-overlay-pane path").count() >= 296


def test_map_draws_district_outlines_with_no_network(live_server, page, school_data, settings):
    """Every request that leaves the app's own server is refused, as on a machine with no network."""
    settings.MAP_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    outside: list[str] = []

    def only_local(route, request):  # type: ignore[no-untyped-def]
        if request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_local)
    page.goto(live_server.url + "/schools/140001/")
    page.wait_for_selector("#school-map[data-base='outlines']")
    paths = page.locator("#school-map .leaflet-overlay-pane path")
    assert paths.count() >= 296  # one per English district (ONS May 2024), plus the school's circle
    assert outside, "the page asked the tile server first"
    assert "District outlines: ONS" in page.locator("#school-map .leaflet-control-attribution").inner_text()


def test_map_without_tile_url_has_no_tile_layer(live_server, page, school_data, settings):
    settings.MAP_TILE_URL = ""
    page.goto(live_server.url + "/schools/140001/")
    page.wait_for_selector("#school-map[data-ready='true']")
    assert page.locator("#school-map img.leaflet-tile").count() == 0
    assert page.locator("#school-map .leaflet-marker-icon").first.is_visible()
    assert page.locator("#school-coordinates").is_visible()
    page.wait_for_selector("#school-map[data-base='outlines']")


@pytest.mark.parametrize(
    "path", ["/", "/schools/?q=LE16", "/schools/?phase=primary", "/schools/140001/", "/accounts/login/"]
)
def test_no_serious_accessibility_violations(live_server, page, school_data, settings, path):
    settings.MAP_TILE_URL = ""
    page.goto(live_server.url + path)
    page.wait_for_load_state("load")
    violations = run_axe(page)
    assert violations == [], [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def test_govuk_frontend_initialises_without_script_errors(live_server, page, school_data, settings):
    settings.MAP_TILE_URL = ""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    for path in ["/", "/schools/?q=oak", "/schools/140001/"]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        body_class = page.locator("body").get_attribute("class") or ""
        assert "govuk-frontend-supported" in body_class and "js-enabled" in body_class
    # GOV.UK Frontend's initAll() ran (the service navigation's menu button is set up on small screens)
    assert page.evaluate("() => document.querySelector('[data-module=govuk-service-navigation]') !== null")
    assert errors == []
