"""Support JSON API (/api/support/): each route allowed and refused (anonymous, another school's user), validation
as 422 naming the field, the staff import (success; a malformed file leaves the database unchanged), the report."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from audit.models import AuditEvent
from schools.tests.factories import (
    MembershipFactory,
    PartnershipFactory,
    SchoolFactory,
    empty_database,  # noqa: F401 - fixture
)
from support import queries, services
from support.models import ConverterPledge, SupportActivity
from support.tests.factories import SurveyResponseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]

D = dt.date(2017, 9, 1)
POLICIES = ("Public: anyone may read; read-only.", "Staff only", "Signed-in users only")


@pytest.fixture
def schools() -> SimpleNamespace:
    trust = PartnershipFactory()
    a = SchoolFactory(urn=100001, establishment_type="Academy - Converter mainstream", region_name="London")
    b = SchoolFactory(urn=100002, establishment_type="Academy sponsor led mainstream", region_name="London")
    c = SchoolFactory(
        urn=100003, establishment_type="Academy - Converter mainstream", region_name="North West"
    )
    d = SchoolFactory(urn=100004, region_name="North West")
    MembershipFactory(partnership=trust, school=a, joined=dt.date(2015, 1, 1))
    MembershipFactory(partnership=trust, school=b, joined=dt.date(2015, 1, 1))
    return SimpleNamespace(a=a, b=b, c=c, d=d, trust=trust)


def user(name: str, staff: bool = False, school: Any = None) -> Any:
    u = UserFactory(username=name, password="pw-123456", is_staff=staff)
    if school is not None:
        RoleAssignmentFactory(user=u, role=Role.SCHOOL_USER, school=school)
    return u


def login(client: Client, **kw: Any) -> Client:
    client.force_login(user(kw.pop("name", "u"), **kw))
    return client


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=body, content_type="application/json")


def seed(s: SimpleNamespace) -> None:
    staff = user("seed-staff", staff=True)
    for prov, recip, stype, start in [
        (s.a, s.b, "jpd", D),
        (s.c, s.d, "cpd", D),
        (s.a, s.c, "governance", dt.date(2018, 1, 1)),
    ]:
        services.record_activity(
            services.ActivityData(
                recipient_urn=recip.urn, support_type=stype, start_date=start, provider_urns=[prov.urn]
            ),
            staff,
        )
    services.record_pledge(s.a.urn, s.b.urn, dt.date(2016, 4, 1), staff)  # delivered (jpd 2017)
    services.record_pledge(s.c.urn, s.a.urn, dt.date(2016, 4, 1), staff)  # not delivered


ACT = {
    "provider_urns": [100001],
    "recipient_urn": 100002,
    "support_type": "cpd",
    "start_date": "2019-09-01",
    "days": "2.5",
}


def test_every_support_operation_starts_with_its_policy(client: Client) -> None:
    paths = {
        p: item
        for p, item in client.get("/api/openapi.json").json()["paths"].items()
        if p.startswith("/api/support/")
    }
    assert set(paths) == {
        "/api/support/activities",
        "/api/support/pledges",
        "/api/support/pledges/monitoring",
        "/api/support/report",
        "/api/support/import",
    }
    for path, item in paths.items():
        for method, op in item.items():
            assert op["description"].startswith(POLICIES), f"{method} {path}"
    assert paths["/api/support/import"]["post"]["description"].startswith("Staff only")
    assert paths["/api/support/report"]["get"]["description"].startswith(POLICIES[0])


# ------------------------------------------------------------------------------------------------ activities: read
def test_activities_list_scoped_like_the_ledger(client: Client, schools: SimpleNamespace) -> None:
    seed(schools)
    anon = client.get("/api/support/activities")
    assert anon.status_code == 200 and anon.json() == {"count": 0, "page": 1, "page_size": 50, "results": []}

    login(client, name="nobody")  # signed in, neither staff nor a school user
    assert client.get("/api/support/activities").status_code == 403

    login(client, name="head-d", school=schools.d)  # d received from c only
    r = client.get("/api/support/activities").json()
    assert r["count"] == 1 and r["results"][0]["provider_urns"] == [100003]
    # another school's activities stay invisible whatever the filter
    assert client.get("/api/support/activities", {"provider": 100001}).json()["count"] == 0

    login(client, name="staff", staff=True)
    r = client.get("/api/support/activities").json()
    assert r["count"] == 3
    assert r["results"][0]["support_type"] == "governance"  # newest first
    assert client.get("/api/support/activities", {"provider": 100001}).json()["count"] == 2
    assert client.get("/api/support/activities", {"recipient": 100004}).json()["count"] == 1
    assert client.get("/api/support/activities", {"type": "jpd"}).json()["count"] == 1
    assert client.get("/api/support/activities", {"region": "north west"}).json()["count"] == 2
    assert client.get("/api/support/activities", {"trust": schools.trust.pk}).json()["count"] == 2
    page = client.get("/api/support/activities", {"page_size": 2, "page": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 1
    assert client.get("/api/support/activities", {"type": "lessons"}).status_code == 422


# ------------------------------------------------------------------------------------------------ activities: write
def test_record_activity_refused_anonymous_and_for_another_school(
    client: Client, schools: SimpleNamespace
) -> None:
    assert post(client, "/api/support/activities", ACT).status_code == 401
    login(client, name="head-c", school=schools.c)
    r = post(client, "/api/support/activities", ACT)  # provided by a, not by c
    assert r.status_code == 403
    r = post(client, "/api/support/activities", {**ACT, "provider_urns": [100001], "recipient_urn": 100003})
    assert r.status_code == 403  # received by c, but given by a
    assert SupportActivity.objects.count() == 0
    assert not AuditEvent.objects.filter(action="support.activity.recorded").exists()


def test_record_activity_by_the_provider_school(client: Client, schools: SimpleNamespace) -> None:
    login(client, name="head-a", school=schools.a)
    r = post(client, "/api/support/activities", ACT)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["provider_urns"] == [100001] and body["relationship"] == "same_trust" and body["days"] == 2.5
    act = SupportActivity.objects.get()
    assert act.recipient_id == 100002 and act.days == 2.5
    assert AuditEvent.objects.filter(action="support.activity.recorded").count() == 1
    assert post(client, "/api/support/activities", ACT).status_code == 409  # duplicate
    assert SupportActivity.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"support_type": "lessons"}, "support_type"),
        ({"start_date": "2019-13-01"}, "start_date"),
        ({"days": "-1"}, "days"),
        ({"recipient_urn": 999999}, "recipient_urn"),
        ({"provider_urns": [100001, 999998]}, "provider_urns"),
        ({"provider_urns": [], "system_leader": ""}, "provider_urns"),
        ({"end_date": "2019-01-01"}, "end_date"),
        ({"recipient_urn": 100001}, "provider_urns"),
    ],
)
def test_record_activity_validation_names_the_field(
    client: Client, schools: SimpleNamespace, change: dict[str, Any], field: str
) -> None:
    login(client, name="staff", staff=True)
    r = post(client, "/api/support/activities", {**ACT, **change})
    assert r.status_code == 422, r.content
    assert any(e["loc"][-1] == field for e in r.json()["errors"]), r.json()
    assert SupportActivity.objects.count() == 0


# ------------------------------------------------------------------------------------------------ pledges
def test_pledges_list_and_monitoring(client: Client, schools: SimpleNamespace) -> None:
    seed(schools)
    assert client.get("/api/support/pledges").json() == {
        "count": 0,
        "page": 1,
        "page_size": 50,
        "results": [],
    }
    assert client.get("/api/support/pledges/monitoring").json() == {"by_region": [], "by_trust": []}

    login(client, name="anyone")  # any signed-in user, as on the page
    r = client.get("/api/support/pledges").json()
    assert r["count"] == 2
    assert {p["academy_urn"]: p["delivered"] for p in r["results"]} == {100001: True, 100003: False}
    assert client.get("/api/support/pledges", {"delivered": "true"}).json()["count"] == 1
    assert client.get("/api/support/pledges", {"region": "London"}).json()["count"] == 1
    assert client.get("/api/support/pledges", {"trust": schools.trust.name}).json()["count"] == 1
    m = client.get("/api/support/pledges/monitoring").json()
    assert m["by_region"][0] == {"name": "England", "pledged": 2, "delivered": 1, "percent": 50.0}
    assert {"name": "London", "pledged": 1, "delivered": 1, "percent": 100.0} in m["by_region"]
    assert {"name": schools.trust.name, "pledged": 1, "delivered": 1, "percent": 100.0} in m["by_trust"]
    assert {"name": "No trust", "pledged": 1, "delivered": 0, "percent": 0.0} in m["by_trust"]


def test_record_pledge_scoped(client: Client, schools: SimpleNamespace) -> None:
    body = {"academy_urn": 100001, "supported_urn": 100004, "pledge_date": "2016-04-01", "note": "maths"}
    assert post(client, "/api/support/pledges", body).status_code == 401
    login(client, name="head-b", school=schools.b)
    assert post(client, "/api/support/pledges", body).status_code == 403  # a's pledge, not b's
    assert ConverterPledge.objects.count() == 0

    login(client, name="head-a", school=schools.a)
    r = post(client, "/api/support/pledges", body)
    assert r.status_code == 201 and r.json()["academy_urn"] == 100001
    assert ConverterPledge.objects.get().note == "maths"
    assert post(client, "/api/support/pledges", body).status_code == 409
    r = post(client, "/api/support/pledges", {**body, "supported_urn": 100001})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "supported_urn"
    r = post(client, "/api/support/pledges", {**body, "supported_urn": 999999})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "supported_urn"
    r = post(client, "/api/support/pledges", {**body, "pledge_date": "soon"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "pledge_date"
    assert ConverterPledge.objects.count() == 1


# ------------------------------------------------------------------------------------------------ report
def test_report_is_public_with_every_table(client: Client, schools: SimpleNamespace) -> None:
    SurveyResponseFactory(
        school=schools.a,
        survey_year=2014,
        supports_others=True,
        support_types=["jpd"],
        supported_before_conversion=False,
    )
    seed(schools)
    r = client.get("/api/support/report")
    assert r.status_code == 200
    tables = {t["key"]: t for t in r.json()["tables"]}
    assert list(tables) == ["overall", "by_type", "by_phase", "by_route", "by_relationship", "newly"]
    for t in tables.values():
        assert t["title"] and t["rows"]
        assert all(set(row) == {"name", "count", "base", "percent"} for row in t["rows"])
    assert tables["overall"]["rows"][0] == queries.survey_report()["overall"][0]
    assert tables["newly"]["rows"][0]["count"] == 1
    assert client.post("/api/support/report").status_code == 405


# ------------------------------------------------------------------------------------------------ import
GOOD = (
    "provider_urns,system_leader,recipient_urn,support_type,start_date,end_date,days,outcome\n"
    "100001,,100002,jpd,2017-09-01,2018-07-20,10,Lesson study\n"
    ",Jo Bloggs (NLE),100004,system_leader,2018-01-08,,,\n"
)


def upload(client: Client, name: str, text: str) -> Any:
    return client.post("/api/support/import", {"file": SimpleUploadedFile(name, text.encode("utf-8"))})


def test_import_formats_are_public(client: Client) -> None:
    kinds = {k["kind"]: k for k in client.get("/api/support/import").json()}
    assert set(kinds) == {"activities", "pledges", "survey"}
    assert "recipient_urn" in kinds["activities"]["required"]


def test_import_is_staff_only(client: Client, schools: SimpleNamespace) -> None:
    assert upload(client, "acts.csv", GOOD).status_code == 401
    login(client, name="head-a", school=schools.a)
    assert upload(client, "acts.csv", GOOD).status_code == 403
    assert SupportActivity.objects.count() == 0


def test_import_success_then_idempotent(client: Client, schools: SimpleNamespace) -> None:
    login(client, name="staff", staff=True)
    r = upload(client, "acts.csv", GOOD)
    assert r.status_code == 200, r.content
    assert r.json() == {
        "file": "acts.csv",
        "kind": "activities",
        "rows": 2,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
    }
    assert SupportActivity.objects.count() == 2
    assert upload(client, "acts.csv", GOOD).json()["unchanged"] == 2
    assert AuditEvent.objects.filter(action="support.import").count() == 2


def test_import_xlsx(client: Client, schools: SimpleNamespace) -> None:
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["academy_urn", "supported_urn", "pledge_date"])
    ws.append([100001, 100004, dt.date(2016, 4, 1)])
    buf = io.BytesIO()
    wb.save(buf)
    login(client, name="staff", staff=True)
    r = client.post("/api/support/import", {"file": SimpleUploadedFile("pledges.xlsx", buf.getvalue())})
    assert r.status_code == 200, r.content
    assert r.json()["kind"] == "pledges" and ConverterPledge.objects.get().supported_id == 100004


def test_malformed_import_names_the_cell_and_changes_nothing(
    client: Client, schools: SimpleNamespace
) -> None:
    login(client, name="staff", staff=True)
    upload(client, "acts.csv", GOOD)
    before = list(SupportActivity.objects.order_by("id").values())
    events = AuditEvent.objects.count()
    bad = GOOD.replace(",10,", ",20,") + "100001,,100003,cpd,2018-02-30,,,\n"
    r = upload(client, "bad.csv", bad)
    assert r.status_code == 422
    err = r.json()
    assert (err["file"], err["row"], err["column"], err["value"]) == (
        "bad.csv",
        4,
        "start_date",
        "2018-02-30",
    )
    assert err["detail"].startswith("bad.csv, row 4, column start_date, value '2018-02-30'")
    assert list(SupportActivity.objects.order_by("id").values()) == before
    assert AuditEvent.objects.count() == events
    r = upload(client, "notes.txt", "hello")
    assert r.status_code == 422 and r.json()["file"] == "notes.txt"
    assert list(SupportActivity.objects.order_by("id").values()) == before
