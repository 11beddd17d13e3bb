"""Trust figures by attribution rule through the database, hand-computed: in the trust by the start of the
year, 3 or more years, before joining; weights from the value's own cohort, a predecessor's, else the roll,
each counted."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerships import services
from partnerships.models import Kind, TrustAggregate
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
    """2018/19 KS2 reading progress of three members:
    A  in the trust since 2014 (joined), own value 2.0, own 2017/18 cohort 30;
    B  converted 1 January 2019 (link date): its 2018/19 value 0.5 is from before it joined; weight from its
       predecessor's 2017/18 cohort (the academy URN has no cohort);
    C  joined 1 September 2017, value -1.0 with no cohort anywhere: weighted by its 2018/19 roll 140 / 7 = 20."""
    t = PartnershipFactory(kind=Kind.MAT, name="Rule Trust")
    a, b, c = (
        SchoolFactory(urn=u, name=f"{n} Academy") for u, n in ((150101, "A"), (150102, "B"), (150103, "C"))
    )
    pb = SchoolFactory(urn=110102, name="B Old")
    SchoolLinkFactory(urn=b.urn, link_urn=pb.urn, link_type="Predecessor", established=dt.date(2019, 1, 1))
    MembershipFactory(partnership=t, school=a, joined=dt.date(2014, 9, 1))
    MembershipFactory(partnership=t, school=b, joined=None)
    MembershipFactory(partnership=t, school=c, joined=dt.date(2017, 9, 1))
    ResultFactory(school=a, year=2019, measure="READPROG", value=2.0)
    ResultFactory(school=a, year=2018, measure="TELIG", value=30)
    ResultFactory(school=b, year=2019, measure="READPROG", value=0.5)
    ResultFactory(school=pb, year=2018, measure="TELIG", value=10)
    ResultFactory(school=c, year=2019, measure="READPROG", value=-1.0)
    CensusRecordFactory(school=c, year=2019, nor=140)
    return t


def test_rules_and_weights_hand_computed(trust):
    services.recompute()
    a = TrustAggregate.objects.get(partnership=trust)
    row = {r["measure"]: r for r in a.performance if r["year"] == 2019}["READPROG"]
    # in the trust by 1 September 2018: A (30 pupils) and C (140 / 7 = 20)
    assert row["mean"] == pytest.approx((2.0 * 30 - 1.0 * 20) / 50)
    assert (row["schools"], row["pupils"]) == (2, 50)
    assert row["weights"] == {"cohort": 1, "predecessor": 0, "roll": 1}
    assert row["boot_low"] is not None and -1.0 <= row["boot_low"] <= row["boot_high"] <= 2.0
    three = {r["measure"]: r for r in a.attribution["three_years"] if r["year"] == 2019}["READPROG"]
    assert three["mean"] == pytest.approx(2.0) and three["schools"] == 1  # only A by 1 September 2016
    before = {r["measure"]: r for r in a.attribution["before_joining"] if r["year"] == 2019}["READPROG"]
    assert before["mean"] == pytest.approx(0.5) and before["pupils"] == 10
    assert before["weights"] == {"cohort": 0, "predecessor": 1, "roll": 0}
    assert a.attribution["weights"] == {"values": 3, "cohort": 1, "predecessor": 1, "roll": 1}
    assert a.attribution["since"] == {"conversion link": 1, "membership start": 2}
    assert a.ks2_headline is None  # writing and maths are not held: no headline
    since = {r["urn"]: (r["since"], r["since_basis"]) for r in a.member_rows}
    assert since[150102] == ("2019-01-01", "conversion link")


def test_trust_page_shows_the_rules_apart_and_the_roll_count(client, trust):
    services.recompute()
    html = client.get(f"/trusts/{trust.pk}/").content.decode()
    assert "Results of schools while in this trust" in html
    assert "Results of today&#x27;s members before they joined" in html or "before they joined" in html
    assert "1 of 3 values weighted by roll" in html
    assert "1 January 2019" in html and "conversion link" in html
    for table in ("performance", "three-years", "before-joining"):
        r = client.get(f"/trusts/{trust.pk}/{table}.csv")
        assert r.status_code == 200
    body = b"".join(client.get(f"/trusts/{trust.pk}/before-joining.csv").streaming_content).decode()  # type: ignore[attr-defined]
    assert "before_joining" in body and "0.5" in body
