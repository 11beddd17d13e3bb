"""Member mapping, stored trust aggregates (hand-computed), the commands, public pages, exports and API reads."""

from __future__ import annotations

import datetime as dt
import json
import math
from io import StringIO

import pytest
from django.core.management import call_command

from partnerships import queries, services
from partnerships.models import Kind, MemberMapping, TrustAggregate
from schools.tests.factories import (
    CensusRecordFactory,
    MembershipFactory,
    PartnershipFactory,
    ResultFactory,
    SchoolFactory,
    SchoolLinkFactory,
    empty_database,  # noqa: F401 - fixture
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


@pytest.fixture
def trust():
    """Three academies: A with its own 2018 results, B through one predecessor (P1), C through a chain
    (C -> P2 -> P3)."""
    t = PartnershipFactory(kind=Kind.MAT, name="Hand Trust")
    a = SchoolFactory(urn=150001, name="A Academy", la_name="Leeds", latitude=53.80, longitude=-1.55)
    b = SchoolFactory(urn=150002, name="B Academy", la_name="Leeds", latitude=53.85, longitude=-1.60)
    c = SchoolFactory(
        urn=150003,
        name="C Academy",
        la_name="Bradford",
        latitude=53.79,
        longitude=-1.75,
        ofsted_rating="Good",
    )
    p1 = SchoolFactory(urn=110001, name="B Old")
    p3 = SchoolFactory(urn=110003, name="C Oldest")
    SchoolLinkFactory(urn=b.urn, link_urn=p1.urn, link_type="Predecessor")
    SchoolLinkFactory(urn=c.urn, link_urn=110002, link_type="Predecessor - merged")
    SchoolLinkFactory(urn=110002, link_urn=p3.urn, link_type="Predecessor")
    SchoolLinkFactory(urn=p3.urn, link_urn=c.urn, link_type="Predecessor")  # a cycle back to C
    for school, prog, pupils, rwm in ((a, 1.5, 40, 70.0), (p1, -0.5, 20, 60.0), (p3, 0.25, 60, 50.0)):
        ResultFactory(school=school, year=2018, measure="READPROG", value=prog)
        ResultFactory(school=school, year=2018, measure="TELIG", value=pupils)
        ResultFactory(school=school, year=2018, measure="PTRWM_EXP", value=rwm)
    for s, nor in ((a, 210), (b, 90), (c, 400)):
        CensusRecordFactory(school=s, year=2025, nor=nor)
    for s in (a, b, c):
        MembershipFactory(partnership=t, school=s, joined=dt.date(2012, 9, 1))
    return t


def test_mapping_direct_link_chain(trust):
    services.map_members()
    got = {
        m.urn: (m.results_urn, m.method, m.hops) for m in MemberMapping.objects.filter(key_stage=2, year=2018)
    }
    assert got == {150001: (150001, "direct", 0), 150002: (110001, "link", 1), 150003: (110003, "chain", 2)}
    assert MemberMapping.objects.get(urn=150003, key_stage=2, year=2018).path == [150003, 110002, 110003]
    # no KS2 results in 2019 and no KS4 at all: not found
    assert set(MemberMapping.objects.filter(year=2019).values_list("method", flat=True)) == {"none"}


def test_recompute_hand_computed_and_idempotent(trust):
    services.recompute()
    a = TrustAggregate.objects.get(partnership=trust)
    assert a.members == 3 and a.pupils == 700 and a.n_las == 2
    assert a.ofsted == {"Good": 1, "Not known": 2}
    row = next(p for p in a.performance if p["measure"] == "READPROG" and p["year"] == 2018)
    w, x = [40, 20, 60], [1.5, -0.5, 0.25]
    mean = sum(wi * xi for wi, xi in zip(w, x, strict=True)) / 120
    se = math.sqrt(sum(wi**2 * 36 / wi for wi in w)) / 120
    assert row["mean"] == pytest.approx(mean) and row["se"] == pytest.approx(se)
    assert row["low"] == pytest.approx(mean - 1.96 * se) and row["pupils"] == 120 and row["schools"] == 3
    rwm = next(p for p in a.performance if p["measure"] == "PTRWM_EXP" and p["year"] == 2018)
    assert rwm["mean"] == pytest.approx((40 * 70 + 20 * 60 + 60 * 50) / 120)
    se_pct = (
        math.sqrt(sum(wi**2 * (100**2 * p * (1 - p) / wi) for wi, p in zip(w, (0.7, 0.6, 0.5), strict=True)))
        / 120
    )
    assert rwm["se"] == pytest.approx(se_pct)
    # geography: max pair distance is B-C; labels from the documented thresholds
    assert a.compactness == "compact" and a.max_pair_miles < 25
    before = list(
        TrustAggregate.objects.values_list(
            "partnership_id", "members", "performance", "member_rows", "compactness"
        )
    )
    s = services.recompute()
    assert s.mapping is not None and (s.mapping.inserted, s.mapping.updated, s.mapping.deleted) == (0, 0, 0)
    after = list(
        TrustAggregate.objects.values_list(
            "partnership_id", "members", "performance", "member_rows", "compactness"
        )
    )
    assert before == after


def test_commands_print_counts(trust):
    out = StringIO()
    call_command("partnerships", "map-members", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["rows"] == 3 * 2 * 4 and data["inserted"] == 24
    out = StringIO()
    call_command("partnerships", "map-members", stdout=out)
    assert "unchanged 24" in out.getvalue()
    out = StringIO()
    call_command("partnerships", "recompute", stdout=out)
    assert "Stored aggregates for 1 partnerships" in out.getvalue()


def test_public_pages_and_exports(client, trust):
    services.recompute()
    page = client.get("/trusts/")
    assert page.status_code == 200 and "Hand Trust" in page.content.decode()
    assert (
        client.get("/trusts/", {"sort": "ks2", "order": "asc", "compactness": "dispersed"})
        .content.decode()
        .count("Hand Trust")
        == 0
    )
    csv = b"".join(client.get("/trusts/export.csv").streaming_content).decode()
    assert "Hand Trust" in csv.splitlines()[1]
    assert client.get("/trusts/export.xlsx").status_code == 200
    t = client.get(f"/trusts/{trust.pk}/").content.decode()
    for text in ("A Academy", "Reading progress score", "Compact", 'id="trust-map"'):
        assert text in t
    members = b"".join(client.get(f"/trusts/{trust.pk}/members.csv").streaming_content).decode()
    assert "110003" in members  # C's KS2 results come from its oldest predecessor
    assert client.get(f"/trusts/{trust.pk}/performance.xlsx").status_code == 200
    assert client.get("/partnerships/mapping/").status_code == 200
    school = client.get("/schools/150001/").content.decode()
    assert 'id="partnerships"' in school and "Hand Trust" in school


def test_api_reads(client, trust):
    services.recompute()
    rows = client.get("/api/partnerships/trusts").json()
    assert rows["count"] == 1 and rows["results"][0]["name"] == "Hand Trust"
    detail = client.get(f"/api/partnerships/trusts/{trust.pk}").json()
    assert detail["members"] == 3 and any(p["measure"] == "READPROG" for p in detail["performance"])
    assert len(client.get(f"/api/partnerships/trusts/{trust.pk}/members").json()) == 3
    assert client.get("/api/partnerships/trusts/999999").status_code == 404
    g = client.get("/api/partnerships/grant", {"urns": "150001,150002,150003"}).json()
    assert g["total"] == 25000 + 5000 + 2000  # 210 pupils is in the 100-210 band; 400 gets nothing
    assert client.get("/api/partnerships/grant", {"urns": "x"}).status_code == 400


def test_grant_amounts_come_from_settings(settings, trust):
    settings.GRANT_PER_CHAIN = 10000
    settings.GRANT_PER_SMALL_SCHOOL = 1
    settings.GRANT_PER_MEDIUM_SCHOOL = 2
    assert queries.grant_for([150001, 150002]).total == 10000 + 1 + 2
