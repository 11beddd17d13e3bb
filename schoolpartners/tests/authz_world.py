"""The world of the authorization matrix (schoolpartners/tests/test_authz_matrix.py).

Scope A (school A1, trust A, region "West Midlands") holds the seven roles under test: anonymous, a school user,
a trust admin, a regional approver, a broker, a system leader (designated at A1) and staff. Scope B (schools
B1..B5, trust B, region "North West") holds the objects the writes aim at, and one user per B scope who may
make each write (the matrix's positive control: the same request succeeds for them, so a refusal is about who
asks, not about a malformed payload).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from brokerage import services as brokerage
from brokerage.models import Deployment
from brokerage.tests.factories import NeedFactory, OfferFactory, ProposalFactory
from partnerships import services as partnerships
from partnerships.models import Kind, RequestKind
from partnerships.tests.factories import DesignationFactory, NotificationFactory
from schools.tests.factories import MembershipFactory, PartnershipFactory, SchoolFactory

REGION_A = "West Midlands"
REGION_B = "North West"
A = {"region_name": REGION_A, "la_name": "Birmingham", "la_code": 330, "latitude": 52.48, "longitude": -1.89}
B = {"region_name": REGION_B, "la_name": "Manchester", "la_code": 352, "latitude": 53.48, "longitude": -2.24}
ROLES = ("anonymous", "school", "trust", "approver", "broker", "leader", "staff")


@dataclass
class World:
    users: dict[str, Any] = field(default_factory=dict)  # the seven roles (A) and the B controls ("b_...")
    ids: dict[str, Any] = field(default_factory=dict)  # URNs and object ids the payloads name


def _user(
    name: str, role: str | None = None, first: str = "", last: str = "", staff: bool = False, **scope: Any
) -> Any:
    u = UserFactory(username=name, password=None, first_name=first, last_name=last, is_staff=staff)
    if role:
        RoleAssignmentFactory(user=u, role=role, **scope)
    return u


def build() -> World:
    w = World()
    a1: Any = SchoolFactory(urn=500001, name="A One Primary", ofsted_rating="Good", **A)
    trust_a: Any = PartnershipFactory(kind=Kind.MAT, name="Trust A")
    MembershipFactory(partnership=trust_a, school=a1, joined=dt.date(2015, 1, 1))
    b: dict[int, Any] = {
        i: SchoolFactory(urn=600000 + i, name=f"B{i} Primary", ofsted_rating="Good", **B) for i in range(1, 6)
    }
    b[1].ofsted_rating = "Requires Improvement"
    b[1].save()
    trust_b: Any = PartnershipFactory(kind=Kind.MAT, name="Trust B")
    MembershipFactory(partnership=trust_b, school=b[4], joined=dt.date(2015, 1, 1))

    u = w.users
    u["school"] = _user("a-school", Role.SCHOOL_USER, school=a1)
    u["trust"] = _user("a-trust", Role.TRUST_ADMIN, partnership=trust_a)
    u["approver"] = _user("a-approver", Role.REGIONAL_APPROVER, region=REGION_A)
    u["broker"] = _user("a-broker", Role.BROKER, region=REGION_A)
    u["leader"] = _user("a-leader", Role.SYSTEM_LEADER, "Ada", "Leader")
    DesignationFactory(kind="nle", school=a1, person_name="Ada Leader")
    u["staff"] = _user("staff", staff=True)
    for i in range(1, 6):
        u[f"b_school{i}"] = _user(f"b-school{i}", Role.SCHOOL_USER, school=b[i])
    u["b_trust"] = _user("b-trust", Role.TRUST_ADMIN, partnership=trust_b)
    u["b_approver"] = _user("b-approver", Role.REGIONAL_APPROVER, region=REGION_B)
    u["b_broker"] = _user("b-broker", Role.BROKER, region=REGION_B)
    u["b_leader"] = _user("b-leader", Role.SYSTEM_LEADER, "Bea", "Leader")
    DesignationFactory(kind="nle", school=b[2], person_name="Bea Leader")

    # brokerage in B: a matching run with a matched result, a pending proposal and an active deployment
    NeedFactory(school=b[1], area="maths", severity=3)
    OfferFactory(school=b[2], areas=["maths"], phases=["primary"], capacity=2, max_miles=60)
    run = brokerage.run_matching(u["b_broker"], REGION_B)
    result = run.results.exclude(offer=None).first()
    assert result is not None, run.summary
    pending: Any = ProposalFactory(
        need=NeedFactory(school=b[1], area="english"), offer=OfferFactory(school=b[2], areas=["english"])
    )
    deployed: Any = ProposalFactory(need=NeedFactory(school=b[1]), offer=OfferFactory(school=b[2]))
    brokerage.respond(u["b_school2"], deployed.pk, "offer", True)
    brokerage.respond(u["b_school1"], deployed.pk, "need", True)
    deployment = Deployment.objects.get(proposal=deployed)

    # partnerships in B: a leave request awaiting trust B, a join awaiting the region, a MAT awaiting B2
    soon = timezone.localdate() + dt.timedelta(days=200)
    leave = partnerships.submit_leave(u["b_school4"], b[4].urn, soon, "moving on")
    join = partnerships.submit_join(u["b_school5"], b[5].urn, trust_b.pk, soon, "joining")
    partnerships.trust_consent(u["b_trust"], join.pk, True)
    form = partnerships.submit_form(
        u["b_school1"],
        RequestKind.FORM_MAT,
        [b[1].urn, b[2].urn],
        "B New Trust",
        soon,
        "",
        requesting_urn=b[1].urn,
    )
    NotificationFactory(user=u["b_school3"], text="For B3 only")

    w.ids = {
        "a1": a1.urn,
        **{f"b{i}": b[i].urn for i in b},
        "trust_b": trust_b.pk,
        "run": run.pk,
        "result": result.pk,
        "proposal": pending.pk,
        "deployment": deployment.pk,
        "leave": leave.pk,
        "join": join.pk,
        "form": form.pk,
        "soon": soon.isoformat(),
    }
    return w
