"""A recorded designation is told to the school's users and the trust's administrators."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from notifications.models import Notification
from partnerships.services import record_designation
from schools.tests.factories import PartnershipFactory, SchoolFactory

pytestmark = pytest.mark.django_db


def test_designation_notifies_school_users_and_trust_admins():
    school = SchoolFactory(urn=500001, name="Oak Primary", region_name="North East")
    trust = PartnershipFactory(name="Oak Trust")
    head = UserFactory(username="head")
    RoleAssignmentFactory(user=head, role=Role.SCHOOL_USER, school=school)
    admin = UserFactory(username="admin")
    RoleAssignmentFactory(user=admin, role=Role.TRUST_ADMIN, partnership=trust)
    UserFactory(username="bystander")
    staff = UserFactory(username="staff", is_staff=True)
    record_designation(
        staff,
        kind="nle",
        valid_from=dt.date(2026, 9, 1),
        school_urn=school.urn,
        person_name="Ada Byron",
        partnership_id=trust.pk,
    )
    rows = Notification.objects.select_related("user")
    assert sorted(n.user.username for n in rows) == ["admin", "head"]
    assert rows[0].text == (
        "Designation recorded: Ada Byron at Oak Primary is a National Leader of Education from 1 September 2026."
    )
    assert rows[0].url == "/schools/500001/"
