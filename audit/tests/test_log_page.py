"""The audit log page: every kind has words, filters (kind, dates, actor, school, trust) narrow the events, the
page is paginated and exports what it filters, bad filters are explained; request histories read in words."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from audit import kinds
from audit.services import record
from audit.templatetags.audit_tags import person_name
from partnerships import services as partnerships
from schools.tests.factories import MembershipFactory, PartnershipFactory, SchoolFactory

pytestmark = pytest.mark.django_db


def test_every_event_kind_has_words():
    assert set(kinds.LABELS) == set(kinds.EventKind)
    assert kinds.EventKind.JOIN_MAT_TRUST_CONSENTED.label == "Trust consented"
    assert kinds.step_label("join_mat", "trust_consent", "consented") == "Trust consented"
    assert kinds.label_of("something.removed") == "something.removed"
    assert person_name("Ann", "Person", "ux_trustadmin") == "A. Person"
    assert person_name("", "", "ux_trustadmin") == "ux_trustadmin"


def _events(n: int, **data: object) -> None:
    with transaction.atomic():
        for i in range(n):
            record("brokerage.need.declare", object_type="need", object_id=i, data=data)


def test_staff_filter_paginate_and_export(client):
    staff = UserFactory(username="staff", is_staff=True)
    _events(55, school=100001, region="London East")
    with transaction.atomic():
        record(
            "partnerships.designation.recorded",
            actor=staff,
            object_type="designation",
            object_id=1,
            data={"school": 100002, "partnership": 9},
        )
    client.force_login(staff)
    page = client.get("/audit/").content.decode()
    assert "56 events, page 1 of 2." in page and "Need declared" in page and 'rel="next"' in page
    assert "Previous" not in client.get("/audit/?page=1").content.decode()
    assert "page 2 of 2" in client.get("/audit/?page=2").content.decode()
    one = client.get("/audit/", {"kind": "partnerships.designation.recorded"}).content.decode()
    assert "1 event." in one and "Designation recorded" in one and "staff" in one
    assert "1 event." in client.get("/audit/", {"actor": "staf"}).content.decode()
    assert "1 event." in client.get("/audit/", {"school": "100002"}).content.decode()
    assert "1 event." in client.get("/audit/", {"trust": "9"}).content.decode()
    today = timezone.localdate()
    past = today - dt.timedelta(days=3)
    dates = {"from_day": past.day, "from_month": past.month, "from_year": past.year}
    assert "56 events" in client.get("/audit/", dates).content.decode()
    before = {"to_day": past.day, "to_month": past.month, "to_year": past.year}
    assert "No events match" in client.get("/audit/", before).content.decode()
    csv = b"".join(client.get("/audit.csv", {"school": "100002"}).streaming_content).decode().lstrip("\ufeff")
    assert csv.splitlines()[0].startswith("When,What happened") and len(csv.strip().splitlines()) == 2
    assert "Designation recorded" in csv
    xlsx = client.get("/audit.xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxml")


def test_bad_filters_are_explained_not_crashes(client):
    client.force_login(UserFactory(is_staff=True))
    r = client.get("/audit/", {"from_day": "31", "from_month": "2", "from_year": "2026", "school": "abc"})
    page = r.content.decode()
    assert r.status_code == 200 and "govuk-error-summary" in page
    assert "The from date must be a real date" in page and "Enter a whole number" in page
    r = client.get("/audit/", {"from_day": "3", "from_year": "2026"})
    assert "must include a day, month and year" in r.content.decode()
    assert client.get("/audit/?page=99999999999999999999").status_code == 200


def test_request_history_reads_in_words(client):
    a1 = SchoolFactory(urn=510001, name="Ash Primary", region_name="North East")
    trust = PartnershipFactory(name="Oak Trust")
    MembershipFactory(partnership=trust, school=a1)
    head = UserFactory(username="ux_head", first_name="Hana", last_name="Head")
    RoleAssignmentFactory(user=head, role=Role.SCHOOL_USER, school=a1)
    admin = UserFactory(username="ux_trustadmin", first_name="Ann", last_name="Person")
    RoleAssignmentFactory(user=admin, role=Role.TRUST_ADMIN, partnership=trust)
    req = partnerships.submit_leave(head, a1.urn, timezone.localdate() + dt.timedelta(days=100), "moving")
    partnerships.trust_consent(admin, req.pk, True)
    client.force_login(admin)
    page = client.get(f"/partnerships/requests/{req.pk}/").content.decode()
    today = timezone.localdate()
    assert "Trust consented — A. Person, <time datetime=" in page
    assert f"{today.day} {today:%B %Y}</time>" in page
    assert "Request to leave a trust submitted — H. Head" in page
    assert "trustconsent" not in page and "by ux_trustadmin" not in page
