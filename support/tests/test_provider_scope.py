"""Issue 10, hole 1: a school user may record support only when EVERY provider school is one they act for.

Naming another school as co-provider (API and form) answers 403, writes nothing (no activity, no audit event)
and leaves the other school's pledge undelivered."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import RoleAssignmentFactory, UserFactory
from audit.models import AuditEvent
from schools.tests.factories import SchoolFactory, empty_database  # noqa: F401 - fixture
from support import queries, services
from support.models import ConverterPledge, SupportActivity

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


@pytest.fixture
def world() -> SimpleNamespace:
    own: Any = SchoolFactory(urn=100001, establishment_type="Academy - Converter mainstream")
    other: Any = SchoolFactory(urn=100453, establishment_type="Academy - Converter mainstream")
    recipient: Any = SchoolFactory(urn=100010)
    staff: Any = UserFactory(username="staff", is_staff=True)
    services.record_pledge(other.urn, recipient.urn, dt.date(2024, 4, 1), staff)
    u = UserFactory(username="own-school")
    RoleAssignmentFactory(user=u, role=Role.SCHOOL_USER, school=own)
    return SimpleNamespace(own=own, other=other, recipient=recipient, user=u, staff=staff)


def _snapshot() -> tuple[int, int, int, bool]:
    delivered = next(r["delivered"] for r in queries.pledge_rows() if r["academy_urn"] == 100453)
    return (
        SupportActivity.objects.count(),
        AuditEvent.objects.count(),
        ConverterPledge.objects.count(),
        delivered,
    )


BODY = {"recipient_urn": 100010, "support_type": "secondment", "start_date": "2025-02-15"}


def test_api_refuses_a_co_provider_that_is_not_yours(world: SimpleNamespace) -> None:
    c = Client()
    c.force_login(world.user)
    before = _snapshot()
    assert before[3] is False
    r = c.post(
        "/api/support/activities",
        data={**BODY, "provider_urns": [world.own.urn, world.other.urn]},
        content_type="application/json",
    )
    assert r.status_code == 403, r.content
    assert _snapshot() == before  # nothing written; the other school's pledge is still undelivered


def test_form_refuses_a_co_provider_that_is_not_yours(world: SimpleNamespace) -> None:
    c = Client()
    c.force_login(world.user)
    before = _snapshot()
    r = c.post(
        "/support/record/",
        {**BODY, "provider_urns": f"{world.own.urn};{world.other.urn}"},
    )
    assert r.status_code == 403, r.content.decode()[:2000]
    assert _snapshot() == before


def test_only_the_other_school_as_provider_is_refused(world: SimpleNamespace) -> None:
    c = Client()
    c.force_login(world.user)
    before = _snapshot()
    r = c.post(
        "/api/support/activities",
        data={**BODY, "provider_urns": [world.other.urn]},
        content_type="application/json",
    )
    assert r.status_code == 403
    assert _snapshot() == before


def test_own_providers_only_still_records(world: SimpleNamespace) -> None:
    c = Client()
    c.force_login(world.user)
    r = c.post(
        "/api/support/activities",
        data={**BODY, "provider_urns": [world.own.urn]},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    assert SupportActivity.objects.count() == 1


def test_staff_may_name_any_providers(world: SimpleNamespace) -> None:
    act = services.record_activity(
        services.ActivityData(
            recipient_urn=100010,
            support_type="secondment",
            start_date=dt.date(2025, 2, 15),
            provider_urns=[world.own.urn, world.other.urn],
        ),
        world.staff,
    )
    assert sorted(act.providers.values_list("urn", flat=True)) == [100001, 100453]
    assert next(r["delivered"] for r in queries.pledge_rows() if r["academy_urn"] == 100453) is True


def test_no_provider_is_staffs_to_record(world: SimpleNamespace) -> None:
    assert services.can_record_activity(world.user, []) is False
    assert services.can_record_activity(world.staff, []) is True
