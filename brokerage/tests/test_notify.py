"""Brokerage tells every party who must act or should know: a proposal goes to both sides; each answer to the
other side and the region's brokers; an agreed or closed deployment to both sides and the brokers."""

from __future__ import annotations

from typing import Any

import pytest

from brokerage import services
from brokerage.models import Deployment
from brokerage.tests.helpers import world
from notifications.models import Notification
from schools.tests.factories import empty_database  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_database")]


def _told(since: int = 0) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for n in Notification.objects.filter(pk__gt=since).select_related("user").order_by("id"):
        out.setdefault(n.user.username, []).append(n.text)
    return out


def _last() -> int:
    return Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _proposal(w: Any) -> Any:
    run = services.run_matching(w.broker, "West Midlands")
    result = run.results.get(need=w.need)
    (p,) = services.send_proposals(w.broker, run, [result.pk])
    return p


def test_proposal_accept_deploy_close_tell_the_right_people():
    w = world()
    p = _proposal(w)
    supporter = w.helper_user if p.offer_id == w.offer.pk else w.helper2_user
    sent = _told()
    assert set(sent) == {"head-ash", supporter.username}
    assert sent["head-ash"][0].startswith("Proposal:") and "Accept or decline" in sent["head-ash"][0]
    assert all(n.url == "/brokerage/proposals/" for n in Notification.objects.all())

    mark = _last()
    services.respond(w.needy_user, p.pk, "need", True)
    answer = _told(mark)
    assert set(answer) == {supporter.username, "broker"}  # the other side and the region's broker, not NW's
    assert "Ash Primary accepted" in answer[supporter.username][0]
    assert "Your answer is still needed" in answer[supporter.username][0]

    mark = _last()
    services.respond(supporter, p.pk, "offer", True)
    agreed = _told(mark)
    assert set(agreed) == {"head-ash", supporter.username, "broker"}
    assert all(any(t.startswith("Deployment agreed:") for t in texts) for texts in agreed.values())
    assert "Ash Primary" in agreed["head-ash"][0]
    assert any(t.startswith("Deployment agreed:") for t in agreed["broker"])
    d = Deployment.objects.get(proposal=p)

    mark = _last()
    services.close_deployment(w.broker, d.pk, "Leadership review done.")
    closed = _told(mark)
    assert set(closed) == {"head-ash", supporter.username, "broker"}
    assert all("Outcome: Leadership review done." in t[0] for t in closed.values())
    assert Notification.objects.filter(pk__gt=mark).first().url == f"/brokerage/deployments/{d.pk}/"


def test_a_decline_closes_the_proposal_for_the_other_side():
    w = world()
    p = _proposal(w)
    supporter = w.helper_user if p.offer_id == w.offer.pk else w.helper2_user
    mark = _last()
    services.respond(supporter, p.pk, "offer", False)
    told = _told(mark)
    assert set(told) == {"head-ash", "broker"}
    assert "declined" in told["head-ash"][0] and "The proposal is closed." in told["head-ash"][0]
