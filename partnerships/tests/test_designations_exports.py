"""The designations API (public list, scoped create) and the exports of the requests, ISSP and notifications
tables (they parse back and show only what the caller's page shows)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from audit.models import AuditEvent
from notifications.models import Notification
from partnerships import services
from partnerships.models import Activity, Designation, IsspPost, Kind
from partnerships.tests.conftest import EFFECTIVE, OTHER_REGION, REGION
from partnerships.tests.factories import IsspPostFactory, NotificationFactory
from schools.tests.factories import MembershipFactory, PartnershipFactory, SchoolFactory

pytestmark = pytest.mark.django_db

API = "/api/partnerships/designations"


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def _xlsx(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


# ------------------------------------------------------------------------------------------------ designations API
def test_designations_list_is_public_and_filters(client, world):
    other = SchoolFactory(urn=150001, name="Far School", region_name=OTHER_REGION)
    services.record_designation(
        world.staff, kind="nle", valid_from=dt.date(2024, 9, 1), school_urn=world.a.urn
    )
    services.record_designation(world.staff, kind="nss", valid_from=dt.date(2023, 9, 1), school_urn=other.urn)
    services.record_designation(
        world.staff, kind="sle", valid_from=dt.date(2024, 1, 1), person_name="Ann Leader"
    )

    everything = client.get(API).json()
    assert everything["count"] == 3
    assert client.get(API, {"kind": "nle"}).json()["results"][0]["school_urn"] == world.a.urn
    assert [r["school_urn"] for r in client.get(API, {"region": OTHER_REGION.upper()}).json()["results"]] == [
        other.urn
    ]
    by_urn = client.get(API, {"urn": world.a.urn}).json()
    assert by_urn["count"] == 1 and by_urn["results"][0]["kind_label"] == "National Leader of Education"
    assert by_urn["results"][0]["region"] == REGION
    assert client.get(API, {"kind": "sle"}).json()["results"][0]["person_name"] == "Ann Leader"
    assert client.get(API, {"kind": "nonsense"}).status_code == 422


@pytest.mark.parametrize("who", ["staff", "approver"])
def test_designation_create_allowed(client, world, who):
    client.force_login(getattr(world, who))
    hub = PartnershipFactory(kind=Kind.TEACHING_HUB, name="Hub")
    r = client.post(
        API,
        {
            "kind": "teaching_hub",
            "valid_from": "2025-09-01",
            "school_urn": world.a.urn,
            "expertise": "maths",
            "partnership_id": hub.pk,
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    d = Designation.objects.get()
    assert (d.kind, d.school_id, d.partnership_id, d.recorded_by) == (
        "teaching_hub",
        world.a.urn,
        hub.pk,
        getattr(world, who),
    )
    assert r.json()["id"] == d.pk
    assert AuditEvent.objects.filter(action="partnerships.designation.recorded", object_id=str(d.pk)).exists()
    assert client.get(API, {"kind": "teaching_hub"}).json()["count"] == 1


@pytest.mark.parametrize(
    "who,status", [(None, 401), ("user_a", 403), ("admin_t1", 403), ("approver_other", 403)]
)
def test_designation_create_refused_writes_nothing(client, world, who, status):
    if who:
        client.force_login(getattr(world, who))
    audits = AuditEvent.objects.count()
    r = client.post(
        API,
        {"kind": "nle", "valid_from": "2025-09-01", "school_urn": world.a.urn},
        content_type="application/json",
    )
    assert r.status_code == status
    assert not Designation.objects.exists()
    assert AuditEvent.objects.count() == audits


def test_designation_create_invalid(client, world):
    client.force_login(world.staff)
    body = {"kind": "nle", "valid_from": "2025-09-01"}
    assert client.post(API, body, content_type="application/json").status_code == 409  # no school, no person
    assert (
        client.post(API, {**body, "school_urn": 999999}, content_type="application/json").status_code == 404
    )
    assert (
        client.post(
            API, {**body, "person_name": "X", "partnership_id": 999999}, content_type="application/json"
        ).status_code
        == 404
    )
    assert (
        client.post(
            API, {**body, "person_name": "X", "valid_to": "2020-01-01"}, content_type="application/json"
        ).status_code
        == 409
    )
    assert not Designation.objects.exists()


def test_designations_export_follows_the_page_filter(client, world):
    services.record_designation(
        world.staff, kind="nle", valid_from=dt.date(2024, 9, 1), school_urn=world.a.urn
    )
    services.record_designation(world.staff, kind="sle", valid_from=dt.date(2024, 1, 1), person_name="=Ann")
    page = client.get("/partnerships/designations/", {"kind": "sle"}).content.decode()
    assert "/partnerships/designations.csv?kind=sle" in page
    rows = _csv(client.get("/partnerships/designations.csv", {"kind": "sle"}))
    assert [r["Person"] for r in rows] == ["'=Ann"]
    assert len(_xlsx(client.get("/partnerships/designations.xlsx"))) == 2


# ------------------------------------------------------------------------------------------------ request exports
def test_requests_export_is_scoped_like_the_page(client, world):
    MembershipFactory(partnership=world.t1, school=world.b)
    services.submit_join(world.user_a, world.a.urn, world.t1.pk, EFFECTIVE, "growth")
    services.submit_leave(world.user_b, world.b.urn, EFFECTIVE, "moving on")

    assert client.get("/partnerships/requests.csv").status_code == 302  # anonymous: sign in first
    client.force_login(world.user_a)
    page = client.get("/partnerships/requests/").content.decode()
    assert "/partnerships/requests.csv" in page and "/partnerships/requests.xlsx" in page
    rows = _csv(client.get("/partnerships/requests.csv"))
    assert [(r["School URN"], r["Kind"]) for r in rows] == [(str(world.a.urn), "Join a multi-academy trust")]
    assert rows[0]["Partnership"] == "First Trust"

    client.force_login(world.user_c)
    assert _csv(client.get("/partnerships/requests.csv")) == []
    client.force_login(world.staff)
    assert {r["School URN"] for r in _xlsx(client.get("/partnerships/requests.xlsx"))} == {
        world.a.urn,
        world.b.urn,
    }
    client.force_login(world.approver_other)
    assert _xlsx(client.get("/partnerships/requests.xlsx")) == []
    client.force_login(world.admin_t1)
    assert len(_csv(client.get("/partnerships/requests.csv"))) == 2


def test_notifications_export_is_the_callers_own_and_marks_nothing_read(client, world):
    NotificationFactory(user=world.user_a, text="For A", url="/partnerships/requests/1/")
    NotificationFactory(user=world.user_b, text="For B")
    assert client.get("/notifications.csv").status_code == 302
    client.force_login(world.user_a)
    assert "/notifications.xlsx" in client.get("/notifications/").content.decode()
    rows = _csv(client.get("/notifications.csv"))
    assert [r["Notification"] for r in rows] == ["For A"]
    assert rows[0]["Link"].endswith("/partnerships/requests/1/") and rows[0]["Read"] == ""
    assert [r["Notification"] for r in _xlsx(client.get("/notifications.xlsx"))] == ["For A"]
    assert not Notification.objects.filter(read_at__isnull=False).exists()


# ------------------------------------------------------------------------------------------------ ISSP exports
def test_issp_exports_match_the_search(client, world):
    indep = SchoolFactory(
        urn=160001,
        name="Indie College",
        region_name=REGION,
        la_name="Birmingham",
        type_group="independent",
        latitude=52.49,
        longitude=-1.88,
    )
    services.register_issp(world.staff, "Brum ISSP", [indep.urn, world.a.urn], [Activity.SPORT])
    services.register_issp(world.staff, "Solihull ISSP", [indep.urn, world.c.urn], [Activity.ARTS])
    IsspPostFactory(
        kind=IsspPost.REQUEST,
        school=world.b,
        activity=Activity.SPORT,
        description="netball",
        created_by=world.user_b,
    )
    IsspPostFactory(kind=IsspPost.REQUEST, school=world.c, activity=Activity.ARTS, created_by=world.user_c)

    page = client.get("/partnerships/issp/", {"activity": "sport"}).content.decode()
    assert "/partnerships/issp/partnerships.csv?activity=sport" in page
    assert "/partnerships/issp/posts.xlsx?activity=sport" in page

    ps = _csv(client.get("/partnerships/issp/partnerships.csv", {"activity": "sport"}))
    assert [r["Partnership"] for r in ps] == ["Brum ISSP"]
    assert set(ps[0]["School URNs"].split("; ")) == {str(indep.urn), str(world.a.urn)}
    posts = _xlsx(client.get("/partnerships/issp/posts.xlsx", {"activity": "sport"}))
    assert [(p["School URN"], p["Details"]) for p in posts] == [(world.b.urn, "netball")]
    near = _csv(client.get("/partnerships/issp/posts.csv", {"urn": world.a.urn, "miles": "5"}))
    assert [r["School URN"] for r in near] == [str(world.b.urn)]
    assert len(_csv(client.get("/partnerships/issp/partnerships.csv"))) == 2
    assert client.get("/partnerships/issp/posts.csv", {"miles": "-1"}).status_code == 404
