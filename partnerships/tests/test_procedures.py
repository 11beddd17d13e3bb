"""Join, leave and form procedures through the web pages (Django test client): each step allowed for the right
role, refused (403, nothing changed) for anyone else, with audit events and notifications."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.test import Client

from audit.models import AuditEvent
from notifications.models import Notification
from partnerships import services
from partnerships.models import (
    Kind,
    MatSeat,
    Membership,
    Partnership,
    PartnershipRequest,
    RequestStatus,
)
from partnerships.tests.conftest import EFFECTIVE, World
from partnerships.tests.factories import MatSeatFactory
from schools.tests.factories import MembershipFactory, PartnershipFactory

pytestmark = pytest.mark.django_db


def _state() -> tuple[Any, ...]:
    return (
        tuple(PartnershipRequest.objects.order_by("pk").values_list("pk", "status")),
        tuple(Membership.objects.order_by("pk").values_list("pk", "partnership_id", "school_id", "left")),
        MatSeat.objects.count(),
        Partnership.objects.count(),
    )


def _join(client: Any, w: World, school: int | None = None, trust: int | None = None) -> Any:
    client.force_login(w.user_a)
    return client.post(
        "/partnerships/requests/new/",
        {
            "which": "join",
            "join-school": school or w.a.urn,
            "join-trust": trust or w.t1.pk,
            "join-effective_date": EFFECTIVE.isoformat(),
            "join-reason": "Closer collaboration",
        },
    )


def _decide(
    client: Client, user: User, req: PartnershipRequest, step: str, yes: bool = True, reason: str = ""
) -> Any:
    client.force_login(user)
    prefix = "school" if step == "school" else "decision"
    data = {f"{prefix}-decision": "yes" if yes else "no", f"{prefix}-reason": reason}
    return client.post(f"/partnerships/requests/{req.pk}/{step}/", data)


def test_join_flow_each_step_by_the_right_role(client, world):
    w = world
    audit0 = AuditEvent.objects.count()
    r = _join(client, w)
    assert r.status_code == 302
    req = PartnershipRequest.objects.get()
    assert req.status == RequestStatus.AWAITING_TRUST and req.region == "West Midlands A"
    assert Notification.objects.filter(user=w.admin_t1).count() == 1
    assert Notification.objects.filter(user=w.admin_t2).count() == 0

    assert _decide(client, w.admin_t1, req, "trust").status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.AWAITING_REGION
    assert Notification.objects.filter(user=w.approver).count() == 1
    assert not Notification.objects.filter(user=w.approver_other).exists()

    assert _decide(client, w.approver, req, "region").status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    m = Membership.objects.get(school=w.a, partnership=w.t1, left__isnull=True)
    assert m.joined == EFFECTIVE
    assert MatSeat.objects.get(school=w.a).membership == m
    assert AuditEvent.objects.count() == audit0 + 3
    assert list(req.steps.values_list("step", "outcome")) == [
        ("request", "submitted"),
        ("trust_consent", "consented"),
        ("regional_approval", "approved"),
    ]
    # the school user hears about the approval, and sees the count in the header
    client.force_login(w.user_a)
    page = client.get("/notifications/").content.decode()
    assert "approved" in page and 'id="notification-count"' in page
    client.post("/notifications/")
    assert 'id="notification-count"' not in client.get("/notifications/").content.decode()


def test_join_request_for_another_school_is_refused(client, world):
    w = world
    before = _state()
    assert _join(client, w, school=w.b.urn).status_code == 403
    assert _state() == before
    # the API refuses too, and anonymous callers are asked to sign in
    client.force_login(w.user_a)
    body = {
        "kind": "join_mat",
        "school_urn": w.b.urn,
        "partnership_id": w.t1.pk,
        "effective_date": EFFECTIVE.isoformat(),
    }
    assert client.post("/api/partnerships/requests", body, content_type="application/json").status_code == 403
    client.logout()
    assert client.post("/api/partnerships/requests", body, content_type="application/json").status_code == 401
    assert _state() == before


@pytest.mark.parametrize("who", ["admin_t2", "user_a", "approver", "staff"])
def test_trust_consent_refused_for_anyone_but_that_trust(client, world, who):
    w = world
    _join(client, w)
    req = PartnershipRequest.objects.get()
    before = _state()
    assert _decide(client, getattr(w, who), req, "trust").status_code == 403
    assert _state() == before


@pytest.mark.parametrize("who", ["approver_other", "admin_t1", "user_a", "staff"])
def test_regional_approval_refused_for_anyone_but_that_region(client, world, who):
    w = world
    _join(client, w)
    req = PartnershipRequest.objects.get()
    _decide(client, w.admin_t1, req, "trust")
    before = _state()
    assert _decide(client, getattr(w, who), req, "region").status_code == 403
    assert _state() == before
    # also through the API
    client.force_login(getattr(w, who))
    r = client.post(
        f"/api/partnerships/requests/{req.pk}",
        {"step": "region", "approve": True},
        content_type="application/json",
    )
    assert r.status_code == 403
    assert _state() == before


def test_decline_needs_a_reason_and_ends_the_request(client, world):
    w = world
    _join(client, w)
    req = PartnershipRequest.objects.get()
    _decide(client, w.admin_t1, req, "trust", yes=False, reason="")
    req.refresh_from_db()
    assert req.status == RequestStatus.AWAITING_TRUST
    _decide(client, w.admin_t1, req, "trust", yes=False, reason="Board capacity")
    req.refresh_from_db()
    assert req.status == RequestStatus.DECLINED and req.decline_reason == "Board capacity"
    # no step after a decline
    before = _state()
    _decide(client, w.approver, req, "region")
    assert _state() == before


def test_regional_decline_with_reason(client, world):
    w = world
    _join(client, w)
    req = PartnershipRequest.objects.get()
    _decide(client, w.admin_t1, req, "trust")
    _decide(client, w.approver, req, "region", yes=False, reason="Not viable")
    req.refresh_from_db()
    assert req.status == RequestStatus.DECLINED
    assert not Membership.objects.filter(school=w.a).exists()


def test_double_approval_opens_one_membership(client, world):
    w = world
    _join(client, w)
    req = PartnershipRequest.objects.get()
    _decide(client, w.admin_t1, req, "trust")
    _decide(client, w.approver, req, "region")
    _decide(client, w.approver, req, "region")
    with pytest.raises(services.ProcedureError):
        services.regional_decision(w.approver, req.pk, True)
    assert Membership.objects.filter(school=w.a).count() == 1


def test_join_refused_while_in_another_mat(client, world):
    w = world
    with transaction.atomic():
        services.open_membership(w.t2, w.a, EFFECTIVE)
    before = _state()
    r = _join(client, w)
    assert r.status_code == 200 and "already in Second Trust" in r.content.decode()
    assert _state() == before


def test_approval_refused_if_school_joined_another_mat_meanwhile(world):
    w = world
    req = services.submit_join(w.user_a, w.a.urn, w.t1.pk, EFFECTIVE)
    services.trust_consent(w.admin_t1, req.pk, True)
    services.open_membership(w.t2, w.a, EFFECTIVE)
    with pytest.raises(services.ProcedureError):
        services.regional_decision(w.approver, req.pk, True)
    req.refresh_from_db()
    assert req.status == RequestStatus.AWAITING_REGION
    assert Membership.objects.filter(school=w.a, left__isnull=True).count() == 1


def test_one_mat_at_a_time_service_and_database(world):
    w = world
    services.open_membership(w.t1, w.a, EFFECTIVE)
    with pytest.raises(services.ProcedureError):
        services.open_membership(w.t2, w.a, EFFECTIVE)
    # other kinds at the same time are fine
    fed = PartnershipFactory(kind=Kind.FEDERATION, name="Fed")
    hub = PartnershipFactory(kind=Kind.TEACHING_HUB, name="Hub")
    services.open_membership(fed, w.a, EFFECTIVE)
    services.open_membership(hub, w.a, EFFECTIVE)
    # the database refuses a second seat for the same school, whatever the code path
    other = MembershipFactory(partnership=w.t2, school=w.a, joined=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        MatSeatFactory(school=w.a, membership=other)
    # sync reports the conflict instead of seating it
    assert services.sync_mat_seats().conflicts == [w.a.urn]


def test_leave_flow_keeps_history(client, world):
    w = world
    services.open_membership(w.t1, w.a, EFFECTIVE)
    client.force_login(w.user_a)
    r = client.post(
        "/partnerships/requests/new/",
        {
            "which": "leave",
            "leave-school": w.a.urn,
            "leave-effective_date": "2027-08-31",
            "leave-reason": "Moving to a local trust",
        },
    )
    assert r.status_code == 302
    req = PartnershipRequest.objects.get()
    assert req.partnership == w.t1
    assert _decide(client, w.admin_t2, req, "trust").status_code == 403
    _decide(client, w.admin_t1, req, "trust")
    _decide(client, w.approver, req, "region")
    m = Membership.objects.get(school=w.a, partnership=w.t1)
    assert str(m.left) == "2027-08-31" and "Moving to a local trust" in m.reason
    assert not MatSeat.objects.filter(school=w.a).exists()
    # now it may join the second trust; history holds both memberships
    req2 = services.submit_join(w.user_a, w.a.urn, w.t2.pk, EFFECTIVE)
    services.trust_consent(w.admin_t2, req2.pk, True)
    services.regional_decision(w.approver, req2.pk, True)
    assert Membership.objects.filter(school=w.a).count() == 2
    page = client.get(f"/schools/{w.a.urn}/").content.decode()
    assert "Second Trust" in page and "First Trust" in page


def test_form_federation_every_school_consents(client, world):
    w = world
    client.force_login(w.user_a)
    r = client.post(
        "/partnerships/requests/new/",
        {
            "which": "form",
            "form-kind": "form_federation",
            "form-school": w.a.urn,
            "form-name": "Alpha Beta Federation",
            "form-others": str(w.b.urn),
            "form-effective_date": EFFECTIVE.isoformat(),
        },
    )
    assert r.status_code == 302
    req = PartnershipRequest.objects.get()
    assert req.status == RequestStatus.AWAITING_SCHOOLS
    assert Notification.objects.filter(user=w.user_b).count() == 1
    # a school outside the proposal cannot consent
    before = _state()
    client.force_login(w.user_c)
    assert (
        client.post(
            f"/partnerships/requests/{req.pk}/school/", {"school-decision": "yes", "school-school": w.c.urn}
        ).status_code
        == 403
    )
    assert _state() == before
    # B cannot consent for A either (not its school)
    client.force_login(w.user_b)
    assert (
        client.post(
            f"/partnerships/requests/{req.pk}/school/", {"school-decision": "yes", "school-school": w.a.urn}
        ).status_code
        == 403
    )
    assert _state() == before
    r = client.post(
        f"/partnerships/requests/{req.pk}/school/", {"school-decision": "yes", "school-school": w.b.urn}
    )
    assert r.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    fed = req.result_partnership
    assert fed.kind == Kind.FEDERATION
    assert set(fed.memberships.values_list("school_id", flat=True)) == {w.a.urn, w.b.urn}


def test_form_mat_needs_regional_approval_and_shows_grant(client, world):
    w = world
    req = services.submit_form(w.user_a, "form_mat", [w.a.urn, w.b.urn], "New Chain Trust", EFFECTIVE)
    services.school_consent(w.user_b, req.pk, w.b.urn, True)
    req.refresh_from_db()
    assert req.status == RequestStatus.AWAITING_REGION
    client.force_login(w.user_a)
    page = client.get(f"/partnerships/requests/{req.pk}/").content.decode()
    # 25,000 + 5,000 (95 pupils) + 2,000 (180 pupils)
    assert "£32000" in page
    with pytest.raises(PermissionDenied):
        services.regional_decision(w.approver_other, req.pk, True)
    services.regional_decision(w.approver, req.pk, True)
    req.refresh_from_db()
    mat = req.result_partnership
    assert mat.kind == Kind.MAT and MatSeat.objects.filter(membership__partnership=mat).count() == 2


def test_request_page_is_scoped(client, world):
    w = world
    req = services.submit_join(w.user_a, w.a.urn, w.t1.pk, EFFECTIVE)
    for user, code in (
        (w.user_a, 200),
        (w.admin_t1, 200),
        (w.approver, 200),
        (w.user_b, 403),
        (w.admin_t2, 403),
        (w.approver_other, 403),
    ):
        client.force_login(user)
        assert client.get(f"/partnerships/requests/{req.pk}/").status_code == code
        api = client.get(f"/api/partnerships/requests/{req.pk}")
        assert api.status_code == (200 if code == 200 else 404)
    client.logout()
    assert client.get(f"/partnerships/requests/{req.pk}/").status_code == 302


def test_api_join_flow(client, world):
    w = world
    client.force_login(w.user_a)
    r = client.post(
        "/api/partnerships/requests",
        {
            "kind": "join_mat",
            "school_urn": w.a.urn,
            "partnership_id": w.t1.pk,
            "effective_date": EFFECTIVE.isoformat(),
        },
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    rid = r.json()["id"]
    client.force_login(w.admin_t1)
    r = client.post(
        f"/api/partnerships/requests/{rid}",
        {"step": "region", "approve": True},
        content_type="application/json",
    )
    assert r.status_code == 403  # not the trust's step yet, and not the admin's role
    r = client.post(
        f"/api/partnerships/requests/{rid}",
        {"step": "trust", "approve": True},
        content_type="application/json",
    )
    assert r.json()["status"] == "awaiting_region"
    client.force_login(w.approver)
    r = client.post(
        f"/api/partnerships/requests/{rid}",
        {"step": "region", "approve": True},
        content_type="application/json",
    )
    assert r.json()["status"] == "approved"
    r = client.post(
        f"/api/partnerships/requests/{rid}",
        {"step": "region", "approve": True},
        content_type="application/json",
    )
    assert r.status_code == 409
    assert [x["id"] for x in client.get("/api/partnerships/requests").json()] == [rid]
    # forming through the API: the other school consents
    client.force_login(w.user_b)
    r = client.post(
        "/api/partnerships/requests",
        {
            "kind": "form_federation",
            "school_urn": w.b.urn,
            "other_urns": [w.c.urn],
            "name": "B-C Federation",
            "effective_date": EFFECTIVE.isoformat(),
        },
        content_type="application/json",
    )
    fid = r.json()["id"]
    r = client.post(
        f"/api/partnerships/requests/{fid}",
        {"step": "school", "approve": True, "school_urn": w.b.urn},
        content_type="application/json",
    )
    assert r.status_code == 409  # B consented by proposing
    client.force_login(w.user_c)
    r = client.post(
        f"/api/partnerships/requests/{fid}",
        {"step": "school", "approve": True, "school_urn": w.c.urn},
        content_type="application/json",
    )
    assert r.json()["status"] == "approved" and r.json()["result_partnership_id"]


def test_designations_staff_or_regional_only(client, world):
    w = world
    data = {
        "kind": "nle",
        "person_name": "Jo Bloggs",
        "school": w.a.urn,
        "valid_from": "2024-09-01",
        "expertise": "maths",
    }
    client.force_login(w.user_a)
    assert client.post("/partnerships/designations/new/", data).status_code == 403
    client.force_login(w.approver)
    assert client.post("/partnerships/designations/new/", data).status_code == 302
    client.force_login(w.staff)
    assert client.post("/partnerships/designations/new/", {**data, "kind": "sle"}).status_code == 302
    assert "Jo Bloggs" in client.get("/partnerships/designations/").content.decode()
    # a regional approver of another region cannot designate a school outside it
    with pytest.raises(PermissionDenied):
        services.record_designation(w.approver_other, kind="nle", valid_from=EFFECTIVE, school_urn=w.a.urn)


def test_issp_offers_requests_and_matches(client, world):
    w = world
    indep = w.c
    indep.type_group = "independent"
    indep.establishment_type = "Other independent school"
    indep.save()
    client.force_login(w.user_c)
    r = client.post(
        "/partnerships/issp/post/",
        {"school": indep.urn, "activity": "sport", "description": "Pool time", "max_miles": 25},
    )
    assert r.status_code == 200
    client.force_login(w.user_a)
    r = client.post("/partnerships/issp/post/", {"school": w.a.urn, "activity": "sport", "max_miles": 25})
    assert "Gamma Primary" in r.content.decode()  # suggested match
    assert Notification.objects.filter(user=w.user_c).exists()
    # a user cannot post for another school (403, as for the other scoped forms; issue 10 matrix)
    assert (
        client.post(
            "/partnerships/issp/post/", {"school": w.b.urn, "activity": "sport", "max_miles": 25}
        ).status_code
        == 403
    )
    from partnerships.models import IsspPost

    assert IsspPost.objects.count() == 2 and set(IsspPost.objects.values_list("kind", flat=True)) == {
        "offer",
        "request",
    }
    # register a partnership and search it by activity and distance
    services.register_issp(w.staff, "Gamma-Alpha ISSP", [indep.urn, w.a.urn], ["sport", "arts"])
    page = client.get(
        "/partnerships/issp/", {"activity": "arts", "urn": w.b.urn, "miles": 10}
    ).content.decode()
    assert "Gamma-Alpha ISSP" in page
    far = client.get("/api/partnerships/issp", {"activity": "arts", "urn": w.b.urn, "miles": 0.5}).json()
    assert far["partnerships"] == []
    near = client.get("/api/partnerships/issp", {"activity": "sport", "la": "Birmingham"}).json()
    assert [p["name"] for p in near["partnerships"]] == ["Gamma-Alpha ISSP"]
    with pytest.raises(PermissionDenied):
        services.register_issp(w.user_a, "X", [indep.urn, w.a.urn], ["sport"])


def test_register_partnerships_staff_or_regional_only(client, world):
    w = world
    w.c.type_group = "independent"
    w.c.save()
    data = {
        "kind": "issp",
        "name": "Gamma Alpha ISSP",
        "urns": f"{w.a.urn}, {w.c.urn}",
        "activities": ["sport", "arts"],
    }
    client.force_login(w.user_a)
    assert client.post("/partnerships/register/", data).status_code == 403
    client.force_login(w.approver)
    page = client.get("/partnerships/register/").content.decode()
    assert 'type="checkbox"' in page
    r = client.post("/partnerships/register/", data)
    assert r.status_code == 302
    issp = Partnership.objects.get(kind=Kind.ISSP)
    assert set(issp.activities.values_list("activity", flat=True)) == {"sport", "arts"}
    # an ISSP needs an independent and a state school
    r = client.post("/partnerships/register/", {**data, "urns": f"{w.a.urn} {w.b.urn}"})
    assert r.status_code == 200 and "independent" in r.content.decode()
    # a sponsor and its schools, shown to parents
    r = client.post(
        "/partnerships/register/", {"kind": "sponsor", "name": "Good Sponsor", "urns": f"{w.a.urn} {w.b.urn}"}
    )
    assert r.status_code == 302
    sponsors = client.get("/sponsors/").content.decode()
    assert "Good Sponsor" in sponsors and "Alpha Primary" in sponsors and "Beta Primary" in sponsors


def test_request_refused_when_the_region_is_unknown(world):
    w = world
    w.a.region_name = ""
    w.a.save()
    with pytest.raises(services.ProcedureError):
        services.submit_join(w.user_a, w.a.urn, w.t1.pk, EFFECTIVE)
    assert not PartnershipRequest.objects.exists()
