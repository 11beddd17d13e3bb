"""Integration tests of the web pages through the Django test client (search, exports, school page)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from accounts.tests.factories import UserFactory
from audit.kinds import EventKind
from audit.services import record
from schools.models import Phase, School, Status
from schools.tests.factories import (  # noqa: F401 - empty_database is a fixture
    CensusRecordFactory,
    ImportRunFactory,
    InspectionFactory,
    MembershipFactory,
    NationalAverageFactory,
    PartnershipFactory,
    ResultFactory,
    SchoolFactory,
    SchoolLinkFactory,
    empty_database,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def names(response) -> list[str]:
    return [row["school"].name for row in response.context["rows"]]


def parse_csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def parse_xlsx(response) -> list[list[object]]:
    wb = load_workbook(io.BytesIO(response.content), read_only=True)
    ws = wb.worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


# --- Home and search -----------------------------------------------------------------------------------------


def test_home_has_search_box(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="en-GB"' in html
    assert "govuk-template__body" in html
    assert 'name="q"' in html and 'action="/schools/"' in html
    assert "Open Government Licence v3.0" in html
    assert "Beta" in html and "Skip to main content" in html


def test_search_by_name(client):
    SchoolFactory(name="Oakfield Primary School")
    SchoolFactory(name="Beech Hill School")
    response = client.get("/schools/", {"q": "oakfield"})
    assert response.status_code == 200
    assert names(response) == ["Oakfield Primary School"]
    assert response.context["total"] == 1
    assert "1 school" in response.content.decode()


def test_search_by_urn_and_laestab(client):
    SchoolFactory(urn=123456, name="By URN", la_code=881, estab=2001, laestab=8812001)
    SchoolFactory(urn=123457, name="Other")
    assert names(client.get("/schools/", {"q": "123456"})) == ["By URN"]
    assert names(client.get("/schools/", {"q": "8812001"})) == ["By URN"]


def test_search_by_postcode_and_district(client):
    SchoolFactory(name="Harborough", postcode="LE16 7AB", postcode_district="LE16")
    SchoolFactory(name="Leicester", postcode="LE1 1AA", postcode_district="LE1")
    assert names(client.get("/schools/", {"q": "LE16"})) == ["Harborough"]
    assert names(client.get("/schools/", {"q": "le16 7ab"})) == ["Harborough"]
    assert names(client.get("/schools/", {"q": "LE1"})) == ["Leicester"]


def test_search_by_local_authority_name_and_region(client):
    SchoolFactory(name="In Kent", la_name="Kent", region_name="South East", town="Ashford")
    SchoolFactory(name="In Leeds", la_name="Leeds", region_name="Yorkshire and the Humber", town="Leeds")
    assert names(client.get("/schools/", {"q": "kent"})) == ["In Kent"]
    assert names(client.get("/schools/", {"q": "South East"})) == ["In Kent"]


@pytest.mark.parametrize(
    "param,value,field,other",
    [
        ("phase", "secondary", "phase", "primary"),
        ("type", "Academy - Converter mainstream", "establishment_type", "Community school"),
        ("status", "closed", "status", "open"),
        ("ofsted", "Outstanding", "ofsted_rating", "Good"),
        ("la", "Rutland", "la_name", "Leicestershire"),
        ("region", "North East", "region_name", "East Midlands"),
    ],
)
def test_each_filter(client, param, value, field, other):
    SchoolFactory(name="Match", **{field: value})
    SchoolFactory(name="No match", **{field: other})
    response = client.get("/schools/", {param: value})
    assert response.status_code == 200
    assert names(response) == ["Match"], response.context["form"].errors
    # the filter's select offers the distinct values present in the register
    choices = [v for v, _ in response.context["form"].fields[param].choices]
    assert value in choices and other in choices


def test_invalid_filter_value_is_reported_not_a_crash(client):
    SchoolFactory(name="Any")
    response = client.get("/schools/", {"phase": "bogus"})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert names(response) == ["Any"]


def test_trust_filter_by_id_and_by_name(client):
    trust = PartnershipFactory(name="Harbour Learning Trust")
    other = PartnershipFactory(name="Other Trust")
    member = SchoolFactory(name="In trust")
    MembershipFactory(partnership=trust, school=member)
    left = SchoolFactory(name="Left trust")
    MembershipFactory(partnership=trust, school=left, left=dt.date(2020, 1, 1))
    MembershipFactory(partnership=other, school=SchoolFactory(name="Elsewhere"))
    response = client.get("/schools/", {"trust": trust.pk})
    assert names(response) == ["In trust"]
    assert "Harbour Learning Trust" in response.content.decode()
    # name search: one match is applied directly
    assert names(client.get("/schools/", {"trust_name": "harbour"})) == ["In trust"]
    # several matches are offered as links
    response = client.get("/schools/", {"trust_name": "trust"})
    assert {t["name"] for t in response.context["trust_matches"]} == {"Harbour Learning Trust", "Other Trust"}
    assert f"trust={trust.pk}" in next(
        t["url"] for t in response.context["trust_matches"] if t["name"] == trust.name
    )


def _primary_with_results():
    NationalAverageFactory(year=2019, measure="PTRWM_EXP", value=65.0)
    a = SchoolFactory(name="Alpha", phase=Phase.PRIMARY)
    b = SchoolFactory(name="Bravo", phase=Phase.PRIMARY)
    c = SchoolFactory(name="Charlie", phase=Phase.PRIMARY)
    d = SchoolFactory(name="Delta", phase=Phase.PRIMARY)
    ResultFactory(school=a, year=2019, measure="PTRWM_EXP", value=50.0)
    ResultFactory(school=b, year=2019, measure="PTRWM_EXP", value=90.0)
    ResultFactory(school=c, year=2019, measure="PTRWM_EXP", value=70.0)
    ResultFactory(school=d, year=2019, measure="PTRWM_EXP", value=None, note="SUPP")
    ResultFactory(school=a, year=2018, measure="PTRWM_EXP", value=99.0)  # older year: not the column shown
    return a, b, c, d


def test_sort_by_measure_both_ways(client):
    _primary_with_results()
    key = "m_PTRWM_EXP_2019"
    response = client.get("/schools/", {"phase": "primary", "sort": key, "order": "asc"})
    assert [h["key"] for h in response.context["headers"]].count(key) == 1
    assert names(response) == ["Alpha", "Charlie", "Bravo", "Delta"]  # missing values last
    response = client.get("/schools/", {"phase": "primary", "sort": key, "order": "desc"})
    assert names(response) == ["Bravo", "Charlie", "Alpha", "Delta"]
    html = response.content.decode()
    assert 'aria-sort="descending"' in html
    assert "90%" in html


def test_sort_header_links_toggle_order(client):
    SchoolFactory(name="Zed")
    SchoolFactory(name="Amy")
    response = client.get("/schools/", {"q": "", "sort": "name"})
    name_header = next(h for h in response.context["headers"] if h["key"] == "name")
    assert name_header["aria_sort"] == "ascending"
    assert "order=desc" in name_header["url"]
    assert names(client.get("/schools/", {"sort": "name", "order": "desc"})) == ["Zed", "Amy"]


def test_sort_by_pupils(client):
    for name, nor in [("Small", 50), ("Big", 900), ("Mid", 300)]:
        CensusRecordFactory(school=SchoolFactory(name=name), year=2019, nor=nor)
    assert names(client.get("/schools/", {"sort": "pupils", "order": "desc"})) == ["Big", "Mid", "Small"]
    assert names(client.get("/schools/", {"sort": "pupils"})) == ["Small", "Mid", "Big"]


def test_unknown_sort_falls_back_to_name(client):
    SchoolFactory(name="B")
    SchoolFactory(name="A")
    assert names(client.get("/schools/", {"sort": "m_DROP_TABLE_2019"})) == ["A", "B"]


def test_pagination(client):
    for i in range(120):
        SchoolFactory(name=f"School {i:03d}")
    response = client.get("/schools/", {"page": 2})
    assert response.context["total"] == 120
    assert len(response.context["rows"]) == 50
    assert names(response)[0] == "School 050"
    html = response.content.decode()
    assert "govuk-pagination" in html
    assert 'aria-current="page"' in html
    assert 'rel="prev"' in html and 'rel="next"' in html
    last = client.get("/schools/", {"page": 3})
    assert names(last)[-1] == "School 119" and len(last.context["rows"]) == 20
    assert 'rel="next"' not in last.content.decode().split("govuk-pagination")[1]
    beyond = client.get("/schools/", {"page": 9})
    assert beyond.status_code == 200 and beyond.context["rows"] == []


def test_search_query_count_is_small_and_fixed(client):
    trust = PartnershipFactory()
    for i in range(30):
        s = SchoolFactory(name=f"School {i}")
        CensusRecordFactory(school=s, year=2019)
        ResultFactory(school=s, year=2019, measure="PTRWM_EXP", value=float(i))
        MembershipFactory(partnership=trust, school=s)
    client.get("/schools/")  # warm the option cache
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/schools/", {"q": "school", "sort": "pupils", "trust": trust.pk})
    assert response.status_code == 200 and len(response.context["rows"]) == 30
    # data version, trust, ordered URNs of the matches, the page's rows: fixed, whatever the page size
    assert len(ctx.captured_queries) <= 5, [q["sql"] for q in ctx.captured_queries]


# --- Exports of the search -----------------------------------------------------------------------------------


def test_search_export_csv_has_every_page_with_same_filter_and_order(client):
    for i in range(60):
        s = SchoolFactory(name=f"Primary {i:02d}", phase=Phase.PRIMARY)
        ResultFactory(school=s, year=2019, measure="PTRWM_EXP", value=float(i))
    SchoolFactory(name="Secondary", phase=Phase.SECONDARY)
    response = client.get(
        "/schools/export.csv", {"phase": "primary", "sort": "m_PTRWM_EXP_2019", "order": "desc"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = parse_csv(response)
    assert len(rows) == 60
    assert rows[0]["School name"] == "Primary 59" and rows[-1]["School name"] == "Primary 00"
    column = next(
        k for k in rows[0] if k.startswith("% meeting expected standard in reading, writing and maths")
    )
    assert "2018/19" in column
    assert rows[0][column] == "59"
    assert rows[0]["Phase"] == "Primary"


def test_search_export_xlsx(client):
    SchoolFactory(urn=111111, name="Alpha")
    SchoolFactory(urn=111112, name="Bravo")
    response = client.get("/schools/export.xlsx", {"q": "birmingham"})  # the factory's town: both match
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = parse_xlsx(response)
    assert rows[0][:3] == ["URN", "LAESTAB", "School name"]
    assert [r[0] for r in rows[1:]] == [111111, 111112]


def test_search_page_links_to_exports_with_filters(client):
    SchoolFactory(name="X", phase=Phase.SECONDARY)
    html = client.get("/schools/", {"phase": "secondary", "page": 1}).content.decode()
    assert "/schools/export.csv?phase=secondary" in html
    assert "/schools/export.xlsx?phase=secondary" in html


# --- School page ---------------------------------------------------------------------------------------------


@pytest.fixture
def school():
    s = SchoolFactory(
        urn=120001,
        name="Harbour Primary School",
        laestab=8552001,
        establishment_type="Academy - Converter mainstream",
        phase=Phase.PRIMARY,
        gender="Mixed",
        religious_character="Church of England",
        admissions_policy="Not applicable",
        la_name="Leicestershire",
        region_name="East Midlands",
        street="School Lane",
        town="Market Harborough",
        postcode="LE16 7AB",
        status=Status.OPEN,
        open_date=dt.date(2014, 4, 1),
        latitude=52.4776,
        longitude=-0.9214,
    )
    CensusRecordFactory(
        school=s, year=2019, nor=198, pct_fsm_ever=12.5, pct_eal=3.0, pct_sen_support=11.0, pct_sen_ehcp=1.5
    )
    CensusRecordFactory(
        school=s, year=2025, nor=205, pct_fsm_ever=21.4, pct_eal=4.2, pct_sen_support=14.0, pct_sen_ehcp=2.4
    )
    for year, value in [(2016, 55.0), (2017, 61.0), (2018, 64.0), (2019, 70.0)]:
        NationalAverageFactory(year=year, measure="PTRWM_EXP", value=value - 5)
        ResultFactory(school=s, year=year, measure="PTRWM_EXP", value=value)
    ResultFactory(school=s, year=2019, measure="READPROG", value=None, note="SUPP")
    ResultFactory(school=s, year=2018, measure="READPROG", value=1.25)
    ResultFactory(school=s, year=2018, measure="MATPROG", value=None, note="LOWCOV")
    ResultFactory(school=s, year=2018, measure="GPS_AVERAGE", value=106.0)
    InspectionFactory(school=s, date=dt.date(2013, 3, 1), rating="Satisfactory")
    InspectionFactory(school=s, date=dt.date(2017, 6, 1), rating="Good")
    trust = PartnershipFactory(name="Harbour Learning Trust")
    MembershipFactory(partnership=trust, school=s)
    return s


def test_school_page_sections(client, school):
    response = client.get("/schools/120001/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in [
        "Harbour Primary School",
        "8552001",
        "Academy - Converter mainstream",
        "Church of England",
        "Leicestershire",
        "East Midlands",
        "LE16 7AB",
        "1 April 2014",
    ]:
        assert text in html, text
    # census: latest year first, with the other year too
    assert "January 2025 school census (2024/25)" in html
    assert "21.4%" in html and "12.5%" in html
    # KS2 results: every year a column, national average beside each value
    table = next(t for t in response.context["data"].results if t.key_stage == 2)
    assert table.years == [2016, 2017, 2018, 2019]
    assert "2015/16" in html and "2018/19" in html
    assert "70%" in html and "England 65%" in html
    assert "Grammar, punctuation and spelling average scaled score" in html
    assert "Labelled &#x27;Writing Score&#x27;" in html or "Labelled 'Writing Score'" in html
    # inspections newest first
    assert html.index("1 June 2017") < html.index("1 March 2013")
    # trust with link to the filtered search
    trust_id = school.memberships.get().partnership_id
    assert "Harbour Learning Trust" in html and f"/schools/?trust={trust_id}" in html
    # the map: coordinates as text, tile URL from settings, Leaflet from local static
    assert "Latitude 52.47760, longitude -0.92140" in html
    assert "/static/vendor/leaflet/leaflet.js" in html
    # export links for each table
    for table_name in ["results", "census", "inspections", "trusts"]:
        assert f"/schools/120001/{table_name}.csv" in html and f"/schools/120001/{table_name}.xlsx" in html


def test_suppression_shown_as_word_not_zero(client, school):
    response = client.get("/schools/120001/")
    table = next(t for t in response.context["data"].results if t.key_stage == 2)
    read = next(r for r in table.rows if r.measure.code == "READPROG")
    cells = {c.year: c for c in read.cells}
    assert cells[2019].display == "suppressed" and cells[2019].missing
    assert cells[2018].display == "+1.25"
    html = response.content.decode()
    assert ">suppressed<" in html and ">low coverage<" in html
    assert cells[2019].value is None
    assert '<span class="sp-missing">suppressed</span>' in html


def test_ks4_2016_caveat_and_both_tables_for_all_through(client):
    s = SchoolFactory(urn=120050, name="All Through", phase=Phase.ALL_THROUGH)
    ResultFactory(school=s, year=2016, measure="PTL2BASICS_LL_PTQ_EE", value=58.0)
    ResultFactory(school=s, year=2017, measure="PTL2BASICS_95", value=40.0)
    ResultFactory(school=s, year=2019, measure="P8MEA", value=None, note="NP")
    ResultFactory(school=s, year=2019, measure="PTRWM_EXP", value=66.0)
    html = client.get("/schools/120050/").content.decode()
    assert "Key stage 2 results" in html and "Key stage 4 results" in html
    assert "A*–C" in html and "not comparable" in html
    assert "not published" in html


def test_school_page_national_zero_for_progress(client, school):
    response = client.get("/schools/120001/")
    table = next(t for t in response.context["data"].results if t.key_stage == 2)
    read = next(r for r in table.rows if r.measure.code == "READPROG")
    assert {c.year: c.national_display for c in read.cells}[
        2018
    ] == "0.00"  # England's zero has no sign (and never "-0.00")


def test_unknown_urn_is_404(client):
    response = client.get("/schools/999999/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert client.get("/schools/999999/results.csv").status_code == 404


def test_school_page_without_coordinates_or_data(client):
    SchoolFactory(urn=120002, name="Bare School", latitude=None, longitude=None, phase=Phase.NOT_APPLICABLE)
    response = client.get("/schools/120002/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No map location is known" in html
    assert "leaflet.js" not in html
    assert "No school census record" in html


def test_map_without_tile_url_renders_no_tile_layer_url(client, school, settings):
    settings.MAP_TILE_URL = ""
    html = client.get("/schools/120001/").content.decode()
    assert 'data-tiles=""' in html
    assert "Latitude 52.47760" in html


def test_school_results_export_csv_and_xlsx(client, school):
    response = client.get("/schools/120001/results.csv")
    assert response.status_code == 200
    rows = parse_csv(response)
    rwm = [r for r in rows if r["Measure code"] == "PTRWM_EXP" and r["Year (academic year ends)"] == "2019"][
        0
    ]
    assert rwm["Value"] == "70" and rwm["National average"] == "65" and rwm["Academic year"] == "2018/19"
    supp = [r for r in rows if r["Measure code"] == "READPROG" and r["Year (academic year ends)"] == "2019"][
        0
    ]
    assert supp["Value"] == "" and supp["Missing or suppressed"] == "suppressed"
    xlsx = parse_xlsx(client.get("/schools/120001/results.xlsx"))
    header = xlsx[0]
    assert header[1] == "Measure code"
    assert any(r[1] == "PTRWM_EXP" and r[3] == 2019 and r[5] == 70 for r in xlsx[1:])


def test_school_other_table_exports(client, school):
    census = parse_csv(client.get("/schools/120001/census.csv"))
    assert [r["Year (academic year ends)"] for r in census] == ["2025", "2019"]
    assert census[0]["% FSM ever 6"] == "21.4"
    inspections = parse_xlsx(client.get("/schools/120001/inspections.xlsx"))
    assert inspections[1][1] == "Good" and inspections[2][1] == "Satisfactory"
    trusts = parse_csv(client.get("/schools/120001/trusts.csv"))
    assert trusts[0]["Trust"] == "Harbour Learning Trust"
    assert client.get("/schools/120001/links.csv").status_code == 200
    assert client.get("/schools/120001/bogus.csv").status_code == 404


def test_link_chain_followed_through_levels(client):
    # 300003 (academy) <- 300002 (converter) <- 300001 (original school); 300001 also links back to 300003
    new = SchoolFactory(urn=300003, name="New Academy")
    mid = SchoolFactory(urn=300002, name="Middle School")
    old = SchoolFactory(urn=300001, name="Old School")
    ResultFactory(school=old, year=2016, measure="PTRWM_EXP", value=40.0)
    ResultFactory(school=mid, year=2018, measure="PTRWM_EXP", value=50.0)
    SchoolLinkFactory(urn=new.urn, link_urn=mid.urn, link_type="Predecessor", established=dt.date(2019, 9, 1))
    SchoolLinkFactory(urn=mid.urn, link_urn=new.urn, link_type="Successor", established=dt.date(2019, 9, 1))
    # only the reverse direction is recorded for this step (as GIAS sometimes does)
    SchoolLinkFactory(
        urn=old.urn, link_urn=mid.urn, link_type="Successor - merged", established=dt.date(2015, 9, 1)
    )
    # a cycle (old says mid is also its predecessor), and a predecessor that is not in the register
    SchoolLinkFactory(urn=old.urn, link_urn=mid.urn, link_type="Predecessor")
    SchoolLinkFactory(
        urn=old.urn, link_urn=999001, link_name="Ancient Infants", link_type="Predecessor - amalgamated"
    )
    response = client.get("/schools/300003/")
    data = response.context["data"]
    preds = {p.urn: p for p in data.predecessors}
    assert list(preds) == [300002, 300001, 999001]
    assert preds[300002].depth == 1 and preds[300002].link_type == "Predecessor"
    assert preds[300001].depth == 2 and preds[300001].link_type == "Predecessor - merged"
    assert preds[300001].via_urn == 300002 and preds[300001].via_name == "Middle School"
    assert preds[999001].name == "Ancient Infants" and not preds[999001].in_register
    assert preds[300001].result_years == [2016] and preds[300002].has_results
    assert not preds[999001].has_results
    assert data.successors == []
    html = response.content.decode()
    assert "/schools/300001/" in html and "Ancient Infants" in html and "2015/16" in html
    # from the middle, successors are followed forward
    data = client.get("/schools/300002/").context["data"]
    assert 300003 in [s.urn for s in data.successors]
    all_urns = [x.urn for x in [*data.predecessors, *data.successors]]
    assert len(all_urns) == len(set(all_urns))  # the cycle through 300001 lists it once
    links = parse_csv(client.get("/schools/300003/links.csv"))
    assert [r["URN"] for r in links] == ["300002", "300001", "999001"]


def test_link_cycles_terminate(client):
    a, b, c = (SchoolFactory(urn=urn, name=f"Cycle {urn}") for urn in (310001, 310002, 310003))
    SchoolLinkFactory(urn=a.urn, link_urn=b.urn, link_type="Predecessor")
    SchoolLinkFactory(urn=b.urn, link_urn=c.urn, link_type="Predecessor")
    SchoolLinkFactory(urn=c.urn, link_urn=a.urn, link_type="Predecessor")
    SchoolLinkFactory(urn=b.urn, link_urn=a.urn, link_type="Predecessor")
    response = client.get("/schools/310001/")
    assert response.status_code == 200
    data = response.context["data"]
    urns = [x.urn for x in [*data.predecessors, *data.successors]]
    assert sorted(urns) == [310002, 310003]  # each school once, the start never


def _school_page_queries(client, urn: int) -> list[str]:
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/schools/{urn}/")
    assert response.status_code == 200 and response["X-Page-Cache"] == "miss"
    return [q["sql"] for q in ctx.captured_queries]


def test_school_page_query_count_is_fixed(client, school):
    """No N+1: a school with many years, results, inspections, trusts and links costs the same queries as a
    school with one of each (the link chain costs one query per level, the same depth here)."""
    small = SchoolFactory(urn=120010, name="Small")
    ResultFactory(school=small, year=2019, measure="PTRWM_EXP", value=50.0)
    InspectionFactory(school=small)
    MembershipFactory(school=small)
    SchoolLinkFactory(urn=small.urn, link_urn=120011, link_type="Predecessor")
    for i in range(5):
        SchoolLinkFactory(urn=school.urn, link_urn=120090 + i, link_type="Predecessor")
        ResultFactory(school=SchoolFactory(urn=120090 + i), year=2018, measure="PTRWM_EXP", value=40.0)
        InspectionFactory(school=school, date=dt.date(2010 + i, 1, 1))
    MembershipFactory(school=school)
    small_queries = _school_page_queries(client, small.urn)
    big_queries = _school_page_queries(client, school.urn)
    assert len(big_queries) == len(small_queries), "\n".join(q[:120] for q in big_queries)
    # data version, school, link chain (levels + names + result years), census, results, national averages,
    # inspections, trusts: ~12; other domains add their summaries (similarity, evaluation...)
    assert len(big_queries) <= 20, "\n".join(q[:120] for q in big_queries)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/schools/{school.urn}/")
    assert response["X-Page-Cache"] == "hit" and len(ctx.captured_queries) == 1


def test_page_cache_is_invalidated_by_an_import(client, django_capture_on_commit_callbacks):
    s = SchoolFactory(urn=120077, name="Before Import")
    assert "Before Import" in client.get("/schools/120077/").content.decode()
    School.objects.filter(urn=s.urn).update(name="After Import")
    assert "Before Import" in client.get("/schools/120077/").content.decode()  # cached
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        run = ImportRunFactory(
            kind="spine", path="x.csv", sha256="0" * 64, started_at=timezone.now(), ok=True
        )
        record(EventKind.IMPORT, object_type="ImportRun", object_id=run.pk)
    assert "After Import" in client.get("/schools/120077/").content.decode()


def test_signed_in_users_bypass_the_page_cache(client):
    SchoolFactory(urn=120078)
    client.get("/schools/120078/")
    UserFactory(username="staffer", password="pw-staff-123", is_staff=True)
    client.login(username="staffer", password="pw-staff-123")
    response = client.get("/schools/120078/")
    assert "X-Page-Cache" not in response and "staffer" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"q": "school"},
        {"q": "school", "sort": "pupils", "order": "desc"},
        {"q": "school", "sort": "m_PTRWM_EXP_2019", "order": "asc", "phase": "primary"},
        {"q": "LE16", "page": 2},
        {"q": "nothing matches"},
    ],
)
def test_search_page_matches_search_schools(query):
    """The one-scan free-text path of the web page returns the same page and total as search_schools."""
    from django.http import QueryDict

    from schools.forms import SearchForm
    from schools.queries import search_page, search_schools

    for i in range(70):
        s = SchoolFactory(
            name=f"{'Ab' if i % 3 else 'ab'} School {i % 9}", postcode="LE16 7AB" if i % 2 else "LE1 1AA"
        )
        if i % 4:
            CensusRecordFactory(school=s, year=2019, nor=100 + (i * 37) % 50)
        if i % 5:
            ResultFactory(school=s, year=2019, measure="PTRWM_EXP", value=float(i % 7))
    q = QueryDict(mutable=True)
    q.update(query)
    params = SearchForm(q).params()
    page, total = search_schools(params)
    mine, my_total = search_page(params)
    assert [s.urn for s in mine] == [s.urn for s in page]
    assert my_total == total


def test_bad_page_or_sort_values_are_ignored_quietly(client):
    SchoolFactory(name="Only")
    response = client.get("/schools/", {"page": "abc", "order": "sideways", "sort": "x" * 60})
    assert response.status_code == 200
    assert names(response) == ["Only"]
    assert "There is a problem" not in response.content.decode()
