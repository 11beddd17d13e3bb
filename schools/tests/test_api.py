"""The public schools API: search, detail, results, measures (Django test client, factories, real database)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from partnerships.models import Partnership
from schools.measures import MEASURES
from schools.models import Phase, Status
from schools.tests.factories import (
    CensusRecordFactory,
    InspectionFactory,
    MembershipFactory,
    NationalAverageFactory,
    PartnershipFactory,
    ResultFactory,
    SchoolFactory,
    SchoolLinkFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def town() -> list:
    """Five Leeds schools of mixed phase and rating, and two elsewhere."""
    leeds = dict(
        town="Leeds",
        la_name="Leeds",
        la_code=383,
        region_name="Yorkshire and the Humber",
        postcode="LS1 1AA",
        postcode_district="LS1",
    )
    schools = [
        SchoolFactory(urn=200001, name="Alder Primary", phase=Phase.PRIMARY, ofsted_rating="Good", **leeds),
        SchoolFactory(
            urn=200002, name="Birch Primary", phase=Phase.PRIMARY, ofsted_rating="Outstanding", **leeds
        ),
        SchoolFactory(
            urn=200003,
            name="Cedar Academy",
            phase=Phase.SECONDARY,
            ofsted_rating="Good",
            establishment_type="Academy converter",
            **leeds,
        ),
        SchoolFactory(urn=200004, name="Damson Primary", phase=Phase.PRIMARY, status=Status.CLOSED, **leeds),
        SchoolFactory(
            urn=200005, name="Elm High", phase=Phase.SECONDARY, ofsted_rating="Requires improvement", **leeds
        ),
        SchoolFactory(
            urn=300001,
            name="Fir Primary",
            town="York",
            la_name="York",
            la_code=816,
            postcode="YO1 1AA",
            postcode_district="YO1",
            region_name="Yorkshire and the Humber",
        ),
        SchoolFactory(
            urn=300002,
            name="Leeds Road Primary",
            town="Bradford",
            la_name="Bradford",
            la_code=380,
            postcode="BD1 1AA",
            postcode_district="BD1",
        ),
    ]
    for i, s in enumerate(schools):
        CensusRecordFactory(school=s, year=2024, nor=100 * (i + 1))
    return schools


def urns(response) -> list[int]:
    return [r["urn"] for r in response.json()["results"]]


# --- search -------------------------------------------------------------------------------------------------


def test_list_returns_total_count_and_page(client: Client, town: list) -> None:
    r = client.get("/api/schools", {"q": "Leeds"})
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 6  # five in Leeds plus "Leeds Road Primary" by name
    assert body["page"] == 1 and body["page_size"] == 50
    assert urns(r) == [200001, 200002, 200003, 200004, 200005, 300002]  # by name
    first = body["results"][0]
    assert first["name"] == "Alder Primary" and first["la_name"] == "Leeds" and first["pupils"] == 100
    assert first["ofsted_rating"] == "Good"


def test_list_without_query_lists_everything(client: Client, town: list) -> None:
    assert client.get("/api/schools").json()["count"] == 7


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"phase": "secondary"}, [200003, 200005]),
        ({"status": "closed"}, [200004]),
        ({"ofsted": "Good"}, [200001, 200003]),
        ({"establishment_type": "Academy converter"}, [200003]),
        ({"la": "York"}, [300001]),
        ({"la": "816"}, [300001]),
        (
            {"region": "yorkshire and the humber", "phase": "primary", "status": "open"},
            [200001, 200002, 300001],
        ),
        ({"q": "LS1", "phase": "primary"}, [200001, 200002, 200004]),
        ({"q": "YO1 1AA"}, [300001]),
        ({"q": "200003"}, [200003]),
        ({"phase": ""}, [200001, 200002, 200003, 200004, 200005, 300001, 300002]),
    ],
)
def test_list_filters(client: Client, town: list, params: dict, expected: list[int]) -> None:
    r = client.get("/api/schools", params)
    assert r.status_code == 200, r.content
    assert sorted(urns(r)) == expected
    assert r.json()["count"] == len(expected)


def test_list_trust_filter_counts_current_members_only(client: Client, town: list) -> None:
    PartnershipFactory(name="Filter Trust")
    trust = Partnership.objects.get(name="Filter Trust")
    MembershipFactory(partnership=trust, school=town[0])
    MembershipFactory(partnership=trust, school=town[2])
    MembershipFactory(partnership=trust, school=town[4], left=dt.date(2020, 8, 31))
    r = client.get("/api/schools", {"trust": trust.pk})
    assert sorted(urns(r)) == [200001, 200003]


def test_list_pagination(client: Client, town: list) -> None:
    p1 = client.get("/api/schools", {"page_size": 3}).json()
    p3 = client.get("/api/schools", {"page_size": 3, "page": 3}).json()
    assert p1["count"] == p3["count"] == 7
    assert [r["urn"] for r in p1["results"]] == [200001, 200002, 200003]
    assert [r["urn"] for r in p3["results"]] == [300002]
    beyond = client.get("/api/schools", {"page_size": 3, "page": 9}).json()
    assert beyond["count"] == 7 and beyond["results"] == []


def test_list_sort(client: Client, town: list) -> None:
    r = client.get("/api/schools", {"q": "Leeds", "sort": "pupils", "order": "desc"})
    assert urns(r) == [300002, 200005, 200004, 200003, 200002, 200001]
    r = client.get("/api/schools", {"sort": "town"})
    assert urns(r)[0] == 300002  # Bradford
    params: dict[str, Any] = {"sort": "urn", "order": "desc", "page_size": 2}
    r = client.get("/api/schools", params)
    assert urns(r) == [300002, 300001]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 201}, "page_size"),
        ({"sort": "secret"}, "sort"),
        ({"order": "sideways"}, "order"),
        ({"phase": "kindergarten"}, "phase"),
        ({"status": "asleep"}, "status"),
        ({"trust": "abc"}, "trust"),
    ],
)
def test_list_validation_errors(client: Client, params: dict[str, Any], field: str) -> None:
    r = client.get("/api/schools", params)
    assert r.status_code == 422
    problem = r.json()
    assert problem["status"] == 422 and problem["title"] == "Invalid input" and field in problem["detail"]
    errors = problem["errors"]
    assert any(field in [str(p) for p in d["loc"]] for d in errors), errors
    assert all(d["msg"] for d in errors)


def test_sort_error_names_the_allowed_keys(client: Client) -> None:
    msg = client.get("/api/schools", {"sort": "secret"}).json()["errors"][0]["msg"]
    assert "name" in msg and "pupils" in msg


# --- detail -------------------------------------------------------------------------------------------------


@pytest.fixture
def full_school():
    school = SchoolFactory(
        urn=123456,
        name="Oak Primary",
        street="1 Oak Lane",
        town="Sheffield",
        postcode="S1 2AB",
        postcode_district="S1",
        latitude=53.38,
        longitude=-1.47,
        coord_source="ONSPD Aug 2025",
        ofsted_rating="Good",
        ofsted_date=dt.date(2023, 3, 1),
    )
    InspectionFactory(school=school, date=dt.date(2023, 3, 1), rating="Good")
    InspectionFactory(school=school, date=dt.date(2018, 6, 1), rating="Requires improvement")
    CensusRecordFactory(school=school, year=2023, nor=410)
    CensusRecordFactory(school=school, year=2024, nor=420)
    trust = PartnershipFactory(name="Oak Trust", external_id="TR01234")
    MembershipFactory(partnership=trust, school=school, joined=dt.date(2019, 9, 1))
    SchoolLinkFactory(urn=123456, link_urn=111111, link_name="Oak Infants", link_type="Predecessor")
    SchoolLinkFactory(urn=123456, link_urn=300001, link_name="Oak Secondary", link_type="Successor")
    SchoolFactory(urn=300001, name="Oak Secondary")
    ResultFactory(school=school, year=2019, measure="READPROG", value=1.2)
    ResultFactory(school=school, year=2019, measure="PTRWM_EXP", value=None, note="SUPP")
    ResultFactory(school=school, year=2019, measure="READPROG_BAND", value=None, text="Above average")
    ResultFactory(school=school, year=2023, measure="PTRWM_EXP", value=71.0)
    NationalAverageFactory(year=2019, measure="PTRWM_EXP", value=64.8)
    NationalAverageFactory(year=2023, measure="PTRWM_EXP", value=59.5)
    return school


def test_detail_shape(client: Client, full_school) -> None:
    r = client.get("/api/schools/123456")
    assert r.status_code == 200
    d = r.json()
    assert d["urn"] == 123456 and d["name"] == "Oak Primary" and d["la_name"] == "Birmingham"
    assert d["address"]["street"] == "1 Oak Lane" and d["address"]["postcode"] == "S1 2AB"
    assert d["coordinates"] == {
        "latitude": 53.38,
        "longitude": -1.47,
        "source": "ONSPD Aug 2025",
        "as_of": None,
    }
    assert d["ofsted"] == {"rating": "Good", "date": "2023-03-01"}
    assert [i["date"] for i in d["inspections"]] == ["2023-03-01", "2018-06-01"]
    assert set(d["census"]) == {"2023", "2024"} and d["census"]["2024"]["nor"] == 420
    assert d["memberships"][0]["name"] == "Oak Trust" and d["memberships"][0]["current"] is True
    assert d["links"]["predecessors"][0]["link_urn"] == 111111
    assert d["links"]["predecessors"][0]["in_register"] is False
    assert d["links"]["successors"][0]["in_register"] is True


def test_detail_results_by_year_keep_suppression_as_null(client: Client, full_school) -> None:
    results = client.get("/api/schools/123456").json()["results"]
    assert set(results) == {"2019", "2023"}
    assert results["2019"]["READPROG"] == {"value": 1.2, "note": "", "text": "", "national": 0.0}
    supp = results["2019"]["PTRWM_EXP"]
    assert supp["value"] is None and supp["note"] == "SUPP" and supp["national"] == 64.8
    assert results["2019"]["READPROG_BAND"]["text"] == "Above average"
    assert results["2023"]["PTRWM_EXP"] == {"value": 71.0, "note": "", "text": "", "national": 59.5}
    # catalogue order within a year
    assert list(results["2019"]) == [c for c in MEASURES if c in results["2019"]]


def test_detail_without_coordinates_or_inspections(client: Client) -> None:
    SchoolFactory(urn=654321, latitude=None, longitude=None)
    d = client.get("/api/schools/654321").json()
    assert d["coordinates"] is None and d["ofsted"] is None and d["inspections"] == []
    assert d["results"] == {} and d["census"] == {} and d["memberships"] == []


def test_detail_unknown_urn_is_json_404(client: Client) -> None:
    r = client.get("/api/schools/999999")
    assert r.status_code == 404
    assert r["Content-Type"].startswith("application/problem+json")  # RFC 9457 problem body
    assert "999999" in r.json()["detail"] and r.json()["status"] == 404
    assert client.get("/api/schools/999999/results").status_code == 404
    assert client.get("/api/schools/not-a-urn").status_code in (404, 422)


# --- results ------------------------------------------------------------------------------------------------


def test_results_long_rows(client: Client, full_school) -> None:
    ResultFactory(school=full_school, year=2019, measure="P8MEA", value=-0.3)
    r = client.get("/api/schools/123456/results")
    assert r.status_code == 200
    body = r.json()
    assert body["urn"] == 123456 and body["count"] == 5
    row = body["results"][0]
    assert set(row) == {
        "year",
        "academic_year",
        "measure",
        "label",
        "key_stage",
        "value",
        "note",
        "text",
        "national",
    }
    assert [(x["year"], x["measure"]) for x in body["results"]] == [
        (2019, "PTRWM_EXP"),
        (2019, "READPROG"),
        (2019, "READPROG_BAND"),
        (2019, "P8MEA"),
        (2023, "PTRWM_EXP"),
    ]
    supp = body["results"][0]
    assert supp["value"] is None and supp["note"] == "SUPP" and supp["academic_year"] == "2018/19"
    assert supp["label"] == MEASURES["PTRWM_EXP"].label


def test_results_filters(client: Client, full_school) -> None:
    ResultFactory(school=full_school, year=2019, measure="P8MEA", value=-0.3)
    r = client.get("/api/schools/123456/results", {"year": 2019, "key_stage": 4}).json()
    assert [(x["year"], x["measure"], x["value"]) for x in r["results"]] == [(2019, "P8MEA", -0.3)]
    r = client.get("/api/schools/123456/results", {"year": 2023}).json()
    assert [x["measure"] for x in r["results"]] == ["PTRWM_EXP"]
    assert client.get("/api/schools/123456/results", {"key_stage": 3}).status_code == 422
    assert client.get("/api/schools/123456/results", {"year": "last"}).status_code == 422


# --- measures and schema ------------------------------------------------------------------------------------


def test_measures_catalogue(client: Client) -> None:
    r = client.get("/api/measures")
    assert r.status_code == 200
    rows = {m["code"]: m for m in r.json()}
    assert set(rows) == set(MEASURES)
    assert rows["P8MEA"]["key_stage"] == 4 and rows["P8MEA"]["national_zero"] is True
    assert rows["P8MEA"]["headline"] is True and rows["P8MEA"]["unit"] == "progress"


def test_openapi_lists_the_paths(client: Client) -> None:
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in ("/api/schools", "/api/schools/{urn}", "/api/schools/{urn}/results", "/api/measures"):
        assert p in paths, sorted(paths)
        assert set(paths[p]) == {"get"}


@pytest.mark.parametrize("sort", ["name", "town", "la", "ofsted", "urn", "pupils"])
@pytest.mark.parametrize("descending", [False, True])
def test_small_result_sort_matches_indexed_sort(town: list, sort: str, descending: bool) -> None:
    """search_schools sorts small results by an unindexed expression: the order must be the same."""
    from schools.queries import SearchParams, annotate_and_sort, filter_schools

    params = SearchParams(sort=sort, descending=descending)
    indexed = [s.urn for s in annotate_and_sort(filter_schools(params), params, use_index=True)]
    small = [s.urn for s in annotate_and_sort(filter_schools(params), params, use_index=False)]
    assert indexed == small and len(small) == 7
