"""Issue 10, holes 3 and 5 in brokerage.

Hole 3: an offer is made in a school's name, so it needs that school's consent: a system leader may declare an
offer attributed to a school only as that school's user or with a designation recorded (by staff or the regional
director's office) for them at that school; a designation on an offer is never self-declared.

Hole 5: `POST /api/brokerage/deployments/{id}` by a signed-in user who cannot see the deployment answers 404,
exactly as for a missing one, for an empty and a non-empty payload (no existence oracle, no 500)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from brokerage import services
from brokerage.models import Deployment, Offer
from brokerage.tests.factories import ProposalFactory
from brokerage.tests.helpers import designate, world
from schools.tests.factories import empty_database  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _counts() -> tuple[int, int]:
    return Offer.objects.count(), AuditEvent.objects.count()


def _offer(c: Client, **body: Any) -> Any:
    payload = {"areas": ["maths"], "phases": ["primary"], **body}
    return c.post("/api/brokerage/offers", data=json.dumps(payload), content_type="application/json")


def test_system_leader_cannot_offer_in_any_schools_name() -> None:
    w = world()
    before = _counts()
    r = _offer(_client(w.leader), school=w.helper2.urn, designation="nle", capacity=20, as_system_leader=True)
    assert r.status_code == 403, r.content
    r = _offer(
        _client(w.leader), school=w.helper2.urn, as_system_leader=True
    )  # no designation claimed either
    assert r.status_code == 403, r.content
    assert _counts() == before


def test_a_designation_recorded_for_the_leader_at_that_school_is_consent() -> None:
    w = world()
    designate(w.leader, w.helper2, "lle")
    r = _offer(_client(w.leader), school=w.helper2.urn, designation="lle", as_system_leader=True)
    assert r.status_code == 200, r.content
    o = Offer.objects.get(pk=r.json()["id"])
    assert o.leader == w.leader and o.designation == "lle" and o.school_id == w.helper2.urn
    # ... but only that designation, and only at that school
    before = _counts()
    assert (
        _offer(_client(w.leader), school=w.helper2.urn, designation="nle", as_system_leader=True).status_code
        == 403
    )
    assert (
        _offer(_client(w.leader), school=w.helper.urn, designation="lle", as_system_leader=True).status_code
        == 403
    )
    assert _counts() == before


def test_another_persons_designation_at_the_school_is_not_the_leaders() -> None:
    w = world()
    from partnerships.tests.factories import DesignationFactory

    DesignationFactory(kind="nle", school=w.helper2, person_name="Someone Else")
    w.leader.first_name, w.leader.last_name = "Nia", "Leader"
    w.leader.save()
    before = _counts()
    r = _offer(_client(w.leader), school=w.helper2.urn, designation="nle", as_system_leader=True)
    assert r.status_code == 403
    assert _counts() == before


def test_school_user_cannot_self_declare_a_designation() -> None:
    w = world()
    c = _client(w.helper_user)
    before = _counts()
    assert _offer(c, school=w.helper.urn, designation="nle").status_code == 403
    assert _offer(c, school=w.helper2.urn).status_code == 403  # another school
    assert _counts() == before
    assert _offer(c, school=w.helper.urn).status_code == 200  # plain school offer: their own school
    designate(w.leader, w.helper, "nle")  # recorded at the school: the school may now offer with it
    assert _offer(c, school=w.helper.urn, designation="nle").status_code == 200


def _deployment(w: Any) -> Deployment:
    p: Any = ProposalFactory(need=w.need, offer=w.offer)
    services.respond(w.helper_user, p.pk, "offer", True)
    services.respond(w.needy_user, p.pk, "need", True)
    return Deployment.objects.get()


@pytest.mark.parametrize("body", [{}, {"days": 3}, {"close_with_outcome": "done"}, {"support_type": "other"}])
def test_deployment_update_is_not_an_existence_oracle(body: dict[str, Any]) -> None:
    w = world()
    d = _deployment(w)
    state = Deployment.objects.values().get(pk=d.pk)
    events = AuditEvent.objects.count()
    missing = d.pk + 1000
    for who in (w.outsider, w.broker_nw, w.helper2_user, w.leader):
        c = _client(who)
        seen = c.post(
            f"/api/brokerage/deployments/{d.pk}", data=json.dumps(body), content_type="application/json"
        )
        gone = c.post(
            f"/api/brokerage/deployments/{missing}", data=json.dumps(body), content_type="application/json"
        )
        assert seen.status_code == gone.status_code == 404, (who.username, seen.content, gone.content)
        assert seen.json()["detail"] == gone.json()["detail"]
    assert Deployment.objects.values().get(pk=d.pk) == state
    assert AuditEvent.objects.count() == events
    # the broker for the region still manages it; its own school sees it but may not change it (403)
    assert (
        _client(w.needy_user)
        .post(
            f"/api/brokerage/deployments/{d.pk}",
            data=json.dumps({"days": 2}),
            content_type="application/json",
        )
        .status_code
        == 403
    )
    r = _client(w.broker).post(
        f"/api/brokerage/deployments/{d.pk}", data=json.dumps({"days": 2}), content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["days"] == 2
