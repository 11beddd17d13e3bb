"""A small world for the procedures: two schools in one region, two MATs, and one user per scoped role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from partnerships.models import Kind
from schools.tests.factories import CensusRecordFactory, PartnershipFactory, SchoolFactory

REGION = "West Midlands A"
OTHER_REGION = "London Central"
EFFECTIVE = dt.date(dt.date.today().year + 1, 9, 1)  # a join date cannot be in the past


@dataclass
class World:
    a: Any
    b: Any
    c: Any
    t1: Any
    t2: Any
    user_a: Any
    user_b: Any
    user_c: Any
    admin_t1: Any
    admin_t2: Any
    approver: Any
    approver_other: Any
    staff: Any


def _user(name: str, **extra: Any) -> Any:
    return UserFactory(username=name, password=None, **extra)  # force_login in tests: no slow hashing


@pytest.fixture
def world(db: Any) -> World:
    a: Any = SchoolFactory(
        urn=140001,
        name="Alpha Primary",
        region_name=REGION,
        la_name="Birmingham",
        latitude=52.48,
        longitude=-1.89,
    )
    b: Any = SchoolFactory(
        urn=140002,
        name="Beta Primary",
        region_name=REGION,
        la_name="Birmingham",
        latitude=52.50,
        longitude=-1.85,
    )
    c: Any = SchoolFactory(
        urn=140003,
        name="Gamma Primary",
        region_name=REGION,
        la_name="Solihull",
        latitude=52.41,
        longitude=-1.78,
    )
    for s, nor in ((a, 95), (b, 180), (c, 400)):
        CensusRecordFactory(school=s, year=2025, nor=nor)
    t1: Any = PartnershipFactory(kind=Kind.MAT, name="First Trust")
    t2: Any = PartnershipFactory(kind=Kind.MAT, name="Second Trust")
    w = World(
        a,
        b,
        c,
        t1,
        t2,
        _user("user_a"),
        _user("user_b"),
        _user("user_c"),
        _user("admin_t1"),
        _user("admin_t2"),
        _user("approver"),
        _user("approver_other"),
        _user("staffer", is_staff=True),
    )
    RoleAssignmentFactory(user=w.user_a, role=Role.SCHOOL_USER, school=a)
    RoleAssignmentFactory(user=w.user_b, role=Role.SCHOOL_USER, school=b)
    RoleAssignmentFactory(user=w.user_c, role=Role.SCHOOL_USER, school=c)
    RoleAssignmentFactory(user=w.admin_t1, role=Role.TRUST_ADMIN, partnership=t1)
    RoleAssignmentFactory(user=w.admin_t2, role=Role.TRUST_ADMIN, partnership=t2)
    RoleAssignmentFactory(user=w.approver, role=Role.REGIONAL_APPROVER, region=REGION)
    RoleAssignmentFactory(user=w.approver_other, role=Role.REGIONAL_APPROVER, region=OTHER_REGION)
    return w
