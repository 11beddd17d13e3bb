"""Brokerage proposals and deployments: a broker sends proposals from a matching, each side answers, an accepted
proposal becomes an active deployment (taking one place of the offer, never overbooked), the broker updates and
closes it; every deployment change goes to the support ledger in the same transaction."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import require
from audit.services import record
from brokerage.models import (
    Deployment,
    MatchingRun,
    Offer,
    Proposal,
    Response,
    SupportType,
)
from brokerage.queries import (
    brokers_for_school_region,
    can_manage_deployment,
    is_broker_for,
    need_side_users,
    offer_side_users,
    sides_for,
)
from notifications.services import notify
from schoolpartners.types import Actor


class CapacityExhausted(ValidationError):
    pass


@transaction.atomic
def send_proposals(user: Actor, run: MatchingRun, result_ids: Iterable[int]) -> list[Proposal]:
    require(is_broker_for(user, run.region), "Only a broker for this region can send its proposals.")
    out = []
    for r in run.results.filter(pk__in=list(result_ids), offer__isnull=False).select_related("need", "offer"):
        p, created = Proposal.objects.get_or_create(
            need=r.need,
            offer=r.offer,
            status=Proposal.Status.SENT,
            defaults={"run": run, "reason": r.reason, "miles": r.miles, "sent_by": user},
        )
        if created:
            record(
                "brokerage.proposal.send",
                actor=user,
                object_type="brokerage.Proposal",
                object_id=p.pk,
                data={
                    "need": r.need_id,
                    "offer": r.offer_id,
                    "run": run.pk,
                    "region": run.region,
                    "school": r.need.school_id,
                },
            )
            _tell_proposal_sent(p)
        out.append(p)
    return out


PROPOSALS_URL = "/brokerage/proposals/"


def _deployment_url(d: Deployment) -> str:
    return f"/brokerage/deployments/{d.pk}/"


def _names(p: Proposal) -> tuple[str, str, str]:
    return p.need.school.name, p.offer.school.name, p.need.get_area_display().lower()


def _tell_proposal_sent(p: Proposal) -> None:
    """Both sides must answer: the school with the need and the supporter."""
    school, supporter, area = _names(p)
    notify(
        need_side_users(p.need),
        f"Proposal: {supporter} could support {school} with {area}. Accept or decline it.",
        PROPOSALS_URL,
    )
    notify(
        offer_side_users(p.offer),
        f"Proposal: could {supporter} support {school} with {area}? Accept or decline it.",
        PROPOSALS_URL,
    )


def _tell_answer(p: Proposal, side: str, accept: bool) -> None:
    """The other side and the region's brokers learn each answer (the other side may still have to act)."""
    school, supporter, area = _names(p)
    who = school if side == "need" else supporter
    verb = "accepted" if accept else "declined"
    other = offer_side_users(p.offer) if side == "need" else need_side_users(p.need)
    brokers = brokers_for_school_region(p.need.school.region_name)
    text = f"{who} {verb} the proposal that {supporter} supports {school} with {area}."
    if p.status == Proposal.Status.SENT:
        notify(other, text + " Your answer is still needed.", PROPOSALS_URL)
    elif p.status == Proposal.Status.DECLINED:
        notify(other, text + " The proposal is closed.", PROPOSALS_URL)
    notify(brokers, text, PROPOSALS_URL)


def _tell_deployment(d: Deployment, what: str) -> None:
    """Deployment created or closed: both schools (or the system leader) and the region's brokers."""
    school, supporter, area = d.need.school.name, d.offer.school.name, d.need.get_area_display().lower()
    if what == "created":
        start = f", from {d.start.day} {d.start:%B %Y}" if d.start else ""
        text = f"Deployment agreed: {supporter} supports {school} with {area}{start}."
    else:
        text = f"Deployment closed: {supporter}'s support for {school} with {area}. Outcome: {d.outcome}"
    people = (
        need_side_users(d.need)
        + offer_side_users(d.offer)
        + brokers_for_school_region(d.need.school.region_name)
    )
    notify(people, text, _deployment_url(d))


def _support_hook() -> Any:
    """Integration point with the support ledger (support/services.py), looked up at call time."""
    try:
        mod = importlib.import_module("support.services")
    except ImportError:
        return None
    return getattr(mod, "record_brokered_deployment", None)


def respond(user: Actor, proposal_id: int, side: str, accept: bool) -> Proposal:
    """Accept or decline one side of a proposal. When both sides have accepted, a deployment becomes active,
    taking one place of the offer: the offer row is locked (SELECT ... FOR UPDATE) and its active deployments
    counted in the same transaction, so concurrent acceptances can never overbook it."""
    with transaction.atomic():
        base = Proposal.objects.select_related("need__school", "offer__school").get(pk=proposal_id)
        require(side in sides_for(user, base), "You cannot answer this proposal for that school.")
        # lock order: offer, then proposal (every path takes them in this order)
        offer = Offer.objects.select_for_update().get(pk=base.offer_id)
        p = Proposal.objects.select_for_update().get(pk=proposal_id)
        p.need, p.offer = base.need, offer
        if p.status != Proposal.Status.SENT:
            raise ValidationError("This proposal has already been decided.")
        value = Response.ACCEPTED if accept else Response.DECLINED
        if side == "need":
            p.need_response = value
        else:
            p.offer_response = value
        if not accept:
            p.status = Proposal.Status.DECLINED
        elif p.need_response == Response.ACCEPTED and p.offer_response == Response.ACCEPTED:
            used = Deployment.objects.filter(offer=offer, status=Deployment.Status.ACTIVE).count()
            if used >= offer.capacity:
                raise CapacityExhausted("The supporter has no capacity left for another deployment.")
            p.status = Proposal.Status.ACCEPTED
        p.save(update_fields=["need_response", "offer_response", "status"])
        record(
            f"brokerage.proposal.{'accept' if accept else 'decline'}",
            actor=user,
            object_type="brokerage.Proposal",
            object_id=p.pk,
            data={"side": side, "school": p.need.school_id, "region": p.need.school.region_name},
        )
        _tell_answer(p, side, accept)
        if p.status == Proposal.Status.ACCEPTED:
            d = Deployment.objects.create(
                proposal=p,
                need=p.need,
                offer=offer,
                support_type=SupportType.SYSTEM_LEADER if offer.designation else SupportType.JPD,
                start=timezone.localdate(),
            )
            record(
                "brokerage.deployment.activate",
                actor=user,
                object_type="brokerage.Deployment",
                object_id=d.pk,
                data={
                    "proposal": p.pk,
                    "offer": offer.pk,
                    "need": p.need_id,
                    "school": p.need.school_id,
                    "region": p.need.school.region_name,
                },
            )
            _to_ledger(d, user)
            _tell_deployment(d, "created")
    return p


LEDGER_TYPES = {"middle_leaders": "middle_leadership", "governance_review": "governance"}


def ledger_payload(d: Deployment) -> dict[str, Any]:
    """The deployment in the shape `support.services.record_brokered_deployment` reads."""
    leader = d.offer.leader
    return {
        "id": d.pk,
        "provider_urns": [d.offer.school_id],
        "system_leader_name": (leader.get_full_name() or leader.get_username()) if leader else "",
        "recipient_urn": d.need.school_id,
        "support_type": LEDGER_TYPES.get(d.support_type, d.support_type),
        "start_date": d.start,
        "end_date": d.end,
        "days": d.days,
        "outcome": d.outcome,
    }


def _to_ledger(d: Deployment, actor: Actor) -> None:
    """Send an active/updated/closed deployment to the support ledger (same transaction), if it exists."""
    hook = _support_hook()
    if hook is not None:
        hook(ledger_payload(d), actor=actor)


@transaction.atomic
def update_deployment(
    user: Actor,
    deployment_id: int,
    *,
    support_type: str | None = None,
    days: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Deployment:
    d = Deployment.objects.select_for_update().select_related("need__school").get(pk=deployment_id)
    require(can_manage_deployment(user, d), "Only a broker for the region can change this deployment.")
    if d.status != Deployment.Status.ACTIVE:
        raise ValidationError("This deployment is closed.")
    if support_type is not None:
        if support_type not in SupportType.values:
            raise ValidationError("unknown support type")
        d.support_type = support_type
    if days is not None:
        d.days = days
    if start is not None:
        d.start = start
    if end is not None:
        d.end = end
    if d.start and d.end and d.end < d.start:
        raise ValidationError("The end date must not be before the start date.")
    d.save()
    _to_ledger(d, user)
    record(
        "brokerage.deployment.update",
        actor=user,
        object_type="brokerage.Deployment",
        object_id=d.pk,
        data={
            "support_type": d.support_type,
            "days": d.days,
            "start": str(d.start),
            "end": str(d.end),
            "school": d.need.school_id,
            "region": d.need.school.region_name,
        },
    )
    return d


@transaction.atomic
def close_deployment(user: Actor, deployment_id: int, outcome: str) -> Deployment:
    d = Deployment.objects.select_for_update().select_related("need__school").get(pk=deployment_id)
    require(can_manage_deployment(user, d), "Only a broker for the region can close this deployment.")
    if d.status != Deployment.Status.ACTIVE:
        raise ValidationError("This deployment is already closed.")
    if not outcome.strip():
        raise ValidationError("Write an outcome note.")
    d.status, d.outcome, d.closed_at = Deployment.Status.CLOSED, outcome.strip(), timezone.now()
    if d.end is None:
        d.end = timezone.localdate()
    d.save()
    _to_ledger(d, user)
    record(
        "brokerage.deployment.close",
        actor=user,
        object_type="brokerage.Deployment",
        object_id=d.pk,
        data={"outcome": d.outcome, "school": d.need.school_id, "region": d.need.school.region_name},
    )
    _tell_deployment(d, "closed")
    return d
