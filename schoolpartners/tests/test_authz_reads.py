"""Reads across scopes (issue 14): the audit log and the support ledger show each role only its own school, trust
or region. The writes of every route are in test_authz_matrix.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from schoolpartners.tests import authz_world
from schools.tests.factories import empty_database  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


# ---------------------------------------------------------------------------------------------------------------
# Reads: the audit log shows each role only its own scope
# ---------------------------------------------------------------------------------------------------------------
def _audit_rows(client: Client) -> tuple[int, str]:
    r: Any = client.get("/audit.csv")
    if r.status_code != 200:
        return r.status_code, ""
    return 200, b"".join(r.streaming_content).decode()


def test_audit_log_shows_each_role_only_its_own_trust_or_region() -> None:
    """Trust A's admin never reads trust B's events, region A's approver never region B's; B's own roles and
    staff do. Roles without an audit scope are refused."""
    import datetime as dt

    from django.utils import timezone

    from audit.models import AuditEvent
    from partnerships import services as partnerships

    w = authz_world.build()
    soon = timezone.localdate() + dt.timedelta(days=200)
    a_leave = partnerships.submit_leave(w.users["school"], w.ids["a1"], soon, "A leaves trust A")
    b_events = AuditEvent.objects.filter(data__partnership=w.ids["trust_b"])
    assert b_events.count() >= 3  # B's leave and join requests and trust B's consent
    seen: dict[str, str] = {}
    for role in (*authz_world.ROLES, "b_trust", "b_approver"):
        c = Client()
        if role != "anonymous":
            c.force_login(w.users[role])
        status, csv = _audit_rows(c)
        page = c.get("/audit/")
        if role in ("anonymous",):
            assert status == 302 and page.status_code == 302, role
            continue
        if role in ("school", "broker", "leader"):
            assert status == 403 and page.status_code == 403, role
            continue
        assert status == 200 and page.status_code == 200, role
        seen[role] = csv
    a_line = f"partnership_request {a_leave.pk}"
    b_lines = [f"partnership_request {w.ids[k]}" for k in ("leave", "join")]
    for role in ("trust", "approver"):
        assert a_line in seen[role], role
        assert not any(b in seen[role] for b in b_lines), (role, seen[role][:2000])
        assert "North West" not in seen[role], role
    for role in ("b_trust", "b_approver"):
        assert all(b in seen[role] for b in b_lines), role
        assert a_line not in seen[role], role
    assert a_line in seen["staff"] and all(b in seen["staff"] for b in b_lines)


# ---------------------------------------------------------------------------------------------------------------
# Reads: the support ledger of a region
# ---------------------------------------------------------------------------------------------------------------
def test_a_broker_reads_the_ledger_of_their_region_and_not_another() -> None:
    """Issue 14: a regional broker reads the support ledger of their region (page and API), never another's."""
    from schools.models import School
    from support.tests.factories import SupportActivityFactory

    w = authz_world.build()
    a1 = School.objects.get(urn=w.ids["a1"])
    b1, b2 = School.objects.get(urn=w.ids["b1"]), School.objects.get(urn=w.ids["b2"])
    SupportActivityFactory(recipient=a1, providers=[a1], system_leader="Given in A")
    SupportActivityFactory(recipient=b1, providers=[b2], system_leader="Given in B")
    for role, sees, never in (
        ("broker", "Given in A", "Given in B"),
        ("b_broker", "Given in B", "Given in A"),
    ):
        c = Client()
        c.force_login(w.users[role])
        page = c.get("/support/").content.decode()
        assert sees in page and never not in page, role
        urns = {r["recipient_urn"] for r in c.get("/api/support/activities").json()["results"]}
        own, other = (a1, b1) if role == "broker" else (b1, a1)
        assert own.urn in urns and other.urn not in urns, role
        assert School.objects.filter(urn__in=urns).exclude(region_name=own.region_name).count() == 0, role
    c = Client()
    c.force_login(w.users["leader"])  # a system leader has no region: still refused
    assert "ledger-refused" in c.get("/support/").content.decode()
    assert c.get("/api/support/activities").status_code == 403
