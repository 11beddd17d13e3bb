"""Regions: the register stores the DfE 2024/25 sub-regions; people search by the nine English regions."""

from __future__ import annotations

import pytest
from django.test import Client

from schools.queries import SearchParams, english_region, search_schools
from schools.tests.factories import SchoolFactory

pytestmark = pytest.mark.django_db


def test_english_region_of_subregions() -> None:
    assert english_region("London East") == "London"
    assert english_region("North West B") == "North West"
    assert english_region("South and West Yorkshire") == "Yorkshire and The Humber"
    assert english_region("North Yorkshire and The Humber") == "Yorkshire and The Humber"
    assert english_region("") == ""


def test_filter_and_free_text_by_english_region_cover_its_subregions() -> None:
    a = SchoolFactory(region_name="East Midlands A")
    b = SchoolFactory(region_name="East Midlands B")
    SchoolFactory(region_name="West Midlands C")
    page, total = search_schools(SearchParams(region="East Midlands"))
    assert total == 2 and {s.urn for s in page} == {a.urn, b.urn}
    page, total = search_schools(SearchParams(region="East Midlands B"))
    assert total == 1 and page[0].urn == b.urn
    page, total = search_schools(SearchParams(q="east midlands"))
    assert {s.urn for s in page} == {a.urn, b.urn}


def test_search_page_offers_english_regions(client: Client) -> None:
    SchoolFactory(region_name="London East")
    html = client.get("/schools/").content.decode()
    assert '<option value="London"' in html
    assert "London East (DfE sub-region)" in html


def test_school_page_names_the_english_region_and_the_subregion(client: Client) -> None:
    school = SchoolFactory(region_name="North West B")
    html = client.get(f"/schools/{school.urn}/").content.decode()
    assert "?region=North%20West" in html
    assert "(DfE sub-region North West B)" in html
