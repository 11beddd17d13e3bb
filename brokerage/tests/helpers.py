"""A small brokerage world: schools in two regions, needs, offers and users with scoped roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from brokerage.models import Need, Offer
from brokerage.tests.factories import NeedFactory, OfferFactory
from partnerships.tests.factories import DesignationFactory
from schools.models import Phase
from schools.tests.factories import SchoolFactory

PASSWORD = "pw-brokerage-123"
WM = {"region_name": "West Midlands", "la_name": "Birmingham", "la_code": 330}
NW = {"region_name": "North West", "la_name": "Manchester", "la_code": 352}


def designate(leader: Any, school: Any, kind: str = "nle") -> None:
    """Record (as staff would) a current `kind` designation at `school` for `leader`, naming them if needed."""
    if not leader.get_full_name():
        leader.first_name, leader.last_name = "Nia", f"Leader-{leader.pk}"
        leader.save(update_fields=["first_name", "last_name"])
    DesignationFactory(kind=kind, school=school, person_name=leader.get_full_name())


def user(username: str, role: str | None = None, **scope: Any) -> Any:
    u = UserFactory(username=username, password=PASSWORD)
    if role:
        RoleAssignmentFactory(user=u, role=role, **scope)
    return u


@dataclass
class World:
    needy: Any
    needy2: Any
    far_needy: Any
    helper: Any
    helper2: Any
    other_region_school: Any
    need: Need
    need2: Need
    far_need: Need
    offer: Offer
    offer2: Offer
    broker: Any
    broker_nw: Any
    needy_user: User
    needy2_user: User
    helper_user: User
    helper2_user: User
    leader: Any
    outsider: Any


def world() -> World:
    needy: Any = SchoolFactory(
        urn=300001,
        name="Ash Primary",
        ofsted_rating="Requires Improvement",
        latitude=52.48,
        longitude=-1.89,
        **WM,
    )
    needy2: Any = SchoolFactory(
        urn=300002, name="Beech Primary", ofsted_rating="Inadequate", latitude=52.50, longitude=-1.85, **WM
    )
    # Penzance-like: far from every offer (> 75 miles)
    far_needy: Any = SchoolFactory(
        urn=300003,
        name="Cove Primary",
        ofsted_rating="Requires Improvement",
        latitude=50.12,
        longitude=-5.54,
        **WM,
    )
    helper: Any = SchoolFactory(
        urn=300010, name="Elm Primary", ofsted_rating="Outstanding", latitude=52.45, longitude=-1.93, **WM
    )
    helper2: Any = SchoolFactory(
        urn=300011, name="Fir Primary", ofsted_rating="Good", latitude=52.70, longitude=-2.10, **WM
    )
    other: Any = SchoolFactory(
        urn=300020,
        name="Gorse Secondary",
        phase=Phase.SECONDARY,
        ofsted_rating="Good",
        latitude=53.48,
        longitude=-2.24,
        **NW,
    )
    need: Any = NeedFactory(school=needy, area="leadership", severity=2, source=Need.Source.DATA)
    need2: Any = NeedFactory(school=needy2, area="leadership", severity=3, source=Need.Source.DATA)
    far_need: Any = NeedFactory(school=far_needy, area="maths", severity=2, source=Need.Source.DECLARED)
    offer: Any = OfferFactory(
        school=helper, areas=["leadership", "english"], phases=["primary"], capacity=1, max_miles=60
    )
    offer2: Any = OfferFactory(
        school=helper2, areas=["leadership"], phases=["primary"], capacity=1, max_miles=60
    )
    return World(
        needy=needy,
        needy2=needy2,
        far_needy=far_needy,
        helper=helper,
        helper2=helper2,
        other_region_school=other,
        need=need,
        need2=need2,
        far_need=far_need,
        offer=offer,
        offer2=offer2,
        broker=user("broker", Role.BROKER, region="West Midlands"),
        broker_nw=user("broker-nw", Role.BROKER, region="North West"),
        needy_user=user("head-ash", Role.SCHOOL_USER, school=needy),
        needy2_user=user("head-beech", Role.SCHOOL_USER, school=needy2),
        helper_user=user("head-elm", Role.SCHOOL_USER, school=helper),
        helper2_user=user("head-fir", Role.SCHOOL_USER, school=helper2),
        leader=user("nle", Role.SYSTEM_LEADER),
        outsider=user("reader"),
    )
