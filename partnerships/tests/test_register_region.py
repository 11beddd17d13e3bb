"""Issue 10, hole 2: a regional approver registers partnerships only for schools in their own region.

The approver for another region posting `/partnerships/register/` with `kind=sponsor&urns=...` (schools outside
their region) is refused with 403 and nothing is written (no partnership, membership or audit event); one
school outside the region among others inside it refuses the whole request. There is no register API."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from audit.models import AuditEvent
from partnerships import services
from partnerships.models import Membership, Partnership
from partnerships.tests.conftest import OTHER_REGION
from schools.tests.factories import SchoolFactory


def _counts() -> tuple[int, int, int]:
    return Partnership.objects.count(), Membership.objects.count(), AuditEvent.objects.count()


def test_approver_of_another_region_is_refused_on_the_form(client: Any, world: Any) -> None:
    before = _counts()
    client.force_login(world.approver_other)  # approver for London Central; a and b are West Midlands A
    r = client.post(
        "/partnerships/register/",
        {"kind": "sponsor", "name": "Far Sponsor", "urns": f"{world.a.urn} {world.b.urn}"},
    )
    assert r.status_code == 403
    assert _counts() == before


def test_one_school_outside_the_region_refuses_the_whole_request(client: Any, world: Any) -> None:
    london: Any = SchoolFactory(urn=140099, region_name=OTHER_REGION)
    before = _counts()
    client.force_login(world.approver)  # West Midlands A: a is theirs, the London school is not
    r = client.post(
        "/partnerships/register/",
        {"kind": "sponsor", "name": "Mixed Sponsor", "urns": f"{world.a.urn} {london.urn}"},
    )
    assert r.status_code == 403
    assert _counts() == before
    with pytest.raises(PermissionDenied):
        services.register_partnership(world.approver, "sponsor", "Mixed", [world.a.urn, london.urn])
    assert _counts() == before


def test_own_region_and_staff_still_register(client: Any, world: Any) -> None:
    london: Any = SchoolFactory(urn=140099, region_name=OTHER_REGION)
    client.force_login(world.approver)
    r = client.post(
        "/partnerships/register/",
        {"kind": "sponsor", "name": "Near Sponsor", "urns": f"{world.a.urn} {world.b.urn}"},
    )
    assert r.status_code == 302
    p = services.register_partnership(world.staff, "sponsor", "Anywhere Sponsor", [world.a.urn, london.urn])
    assert p.memberships.count() == 2
    p = services.register_partnership(world.approver_other, "umbrella", "London Umbrella", [london.urn])
    assert p.memberships.count() == 1
