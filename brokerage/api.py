"""Brokerage JSON API (mounted at /api/brokerage/ in schoolpartners/api.py): matchings, proposals, responses,
deployments, declared needs and offers. Every operation states its access policy; the services enforce the
role scope (a broker only for their region, a school user only for their school, a system leader only for
their own offer). Reads return only what the caller may see (nothing for anonymous callers); writes need a
signed-in session (401 otherwise) and answer 403 when the role does not allow them. Errors are domain errors
answered as problem bodies (schoolpartners/apikit.py): refused 403, missing 404, invalid 400, offer full
409."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from brokerage import queries, services
from brokerage.models import (
    CAPACITY_MAX,
    CAPACITY_MIN,
    DAYS_MAX,
    DAYS_MIN,
    EXTRA_PLACES_MAX,
    EXTRA_PLACES_MIN,
    MAX_MILES_MAX,
    MAX_MILES_MIN,
    RADIUS_MAX,
    RADIUS_MIN,
    SEVERITY_MAX,
    SEVERITY_MIN,
    MatchingRun,
    Proposal,
)
from schoolpartners.access import SIGNED_IN
from schoolpartners.apikit import operation
from schoolpartners.errors import NotFound
from schoolpartners.params import FreeText, Id
from schoolpartners.types import Actor

router = Router(tags=["brokerage"])

WRITE_PROBLEMS = (400, 404, 409)  # invalid for the domain, missing, conflicting (beside 401/403/422/429)


def _signed_in(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_authenticated", False))


class MatchingIn(Schema):
    region: str
    trust_rule: Literal["none", "exclude_same", "prefer_same"] = "none"
    support_from: dt.date | None = (
        None  # reference date: only offers available then take part (default today)
    )
    national: bool = True
    max_radius: float | None = Field(None, ge=RADIUS_MIN, le=RADIUS_MAX)
    exclude_offers: list[Id] = []
    extra_capacity: dict[str, Annotated[int, Field(ge=EXTRA_PLACES_MIN, le=EXTRA_PLACES_MAX)]] = {}


class MatchingRunOut(Schema):
    id: int
    region: str
    status: str
    what_if: bool
    created_at: dt.datetime
    params: dict[str, Any]
    summary: dict[str, Any]


class ResultOut(Schema):
    result_id: int
    need_id: int
    urn: int
    school: str
    la: str
    region: str
    area: str
    severity: str
    need_source: str
    offer_id: int | None
    supporter_urn: int | None
    supporter: str
    miles: float | None
    cost: int | None
    reason: str
    alternatives: str
    unmatched: str
    nearest_miles: float | None
    proposed: bool


class RunDetailOut(Schema):
    run: MatchingRunOut
    results: list[ResultOut]
    cold_spots_by_la: list[dict[str, Any]]
    cold_spots_by_region: list[dict[str, Any]]


class ProposalsIn(Schema):
    result_ids: list[Id]


class ProposalOut(Schema):
    id: int
    urn: int
    school: str
    area: str
    supporter_urn: int
    supporter: str
    miles: float | None
    reason: str
    status: str
    need_response: str
    offer_response: str
    sides: list[str] = []


class RespondIn(Schema):
    side: Literal["need", "offer"]
    accept: bool


class DeploymentOut(Schema):
    id: int
    urn: int
    school: str
    area: str
    supporter_urn: int
    supporter: str
    status: str
    support_type: str
    days: int | None
    start: dt.date | None
    end: dt.date | None
    outcome: str


class DeploymentIn(Schema):
    support_type: str | None = None
    days: int | None = Field(None, ge=DAYS_MIN, le=DAYS_MAX)
    start: dt.date | None = None
    end: dt.date | None = None
    close_with_outcome: str | None = None  # closes the deployment with this outcome note


class NeedIn(Schema):
    school: Id
    area: str
    severity: int = Field(2, ge=SEVERITY_MIN, le=SEVERITY_MAX)
    evidence: FreeText = ""


class OfferIn(Schema):
    school: Id
    areas: list[str]
    phases: list[str]
    designation: str = ""
    capacity: int | None = Field(None, ge=CAPACITY_MIN, le=CAPACITY_MAX)
    max_miles: float | None = Field(None, ge=MAX_MILES_MIN, le=MAX_MILES_MAX)
    available_from: dt.date | None = None
    available_to: dt.date | None = None
    as_system_leader: bool = False


class IdOut(Schema):
    id: int


def _run_out(run: MatchingRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "region": run.region,
        "status": run.status,
        "what_if": run.what_if,
        "created_at": run.created_at,
        "params": run.params,
        "summary": run.summary,
    }


@router.get(
    "/brokerage/regions",
    **operation(
        SIGNED_IN,
        list[str],
        description="The regions the caller is a broker for (empty for anyone else).",
        who="any signed-in user; anonymous: empty.",
    ),
)
def regions(request: HttpRequest) -> list[str]:
    return queries.broker_regions(request.user) if _signed_in(request) else []


@router.post(
    "/brokerage/matchings",
    **operation(
        SIGNED_IN,
        MatchingRunOut,
        description="Run a matching for a region (optionally a what-if: radius, exclusions, extra capacity). "
        "Solves the whole region at once and stores one result per open need. Only offers available on "
        "`support_from` (default today) take part.",
        who="a broker for that region (403 otherwise).",
        problems=WRITE_PROBLEMS,
        write=True,
    ),
)
def run_matching(request: HttpRequest, payload: MatchingIn) -> dict[str, Any]:
    opts = payload.dict(exclude={"region"})
    opts = {k: v for k, v in opts.items() if v not in (None, [], {})}
    if "support_from" in opts:
        opts["support_from"] = opts["support_from"].isoformat()
    return _run_out(services.run_matching(request.user, payload.region, opts))


@router.get(
    "/brokerage/matchings",
    **operation(
        SIGNED_IN,
        list[MatchingRunOut],
        description="The caller's regions' matchings, newest first.",
        who="brokers see their regions; others an empty list.",
    ),
)
def list_matchings(request: HttpRequest) -> list[dict[str, Any]]:
    regs = queries.broker_regions(request.user) if _signed_in(request) else []
    return [_run_out(r) for r in MatchingRun.objects.filter(region__in=regs)[:50]]


@router.get(
    "/brokerage/matchings/{run_id}",
    **operation(
        SIGNED_IN,
        RunDetailOut,
        description="One matching: every need with its match, reason and alternatives, or why it is "
        "unmatched; cold spots by "
        "local authority and region.",
        who="a broker for the matching's region; 404 for anyone else.",
        problems=(404,),
    ),
)
def get_matching(request: HttpRequest, run_id: Id) -> dict[str, Any]:
    run = MatchingRun.objects.filter(pk=run_id).first()
    if run is None or not queries.can_view_run(request.user, run):
        raise NotFound("Not found")
    cold = queries.cold_spots(run)
    return {
        "run": _run_out(run),
        "results": queries.result_rows(run),
        "cold_spots_by_la": cold["by_la"],
        "cold_spots_by_region": cold["by_region"],
    }


@router.post(
    "/brokerage/matchings/{run_id}/proposals",
    **operation(
        SIGNED_IN,
        list[IdOut],
        description="Send proposals for some matched needs of a matching.",
        who="a broker for the matching's region (403 otherwise).",
        problems=WRITE_PROBLEMS,
        write=True,
    ),
)
def send_proposals(request: HttpRequest, run_id: Id, payload: ProposalsIn) -> list[dict[str, int]]:
    run = MatchingRun.objects.get(pk=run_id)
    return [{"id": p.pk} for p in services.send_proposals(request.user, run, payload.result_ids)]


@router.get(
    "/brokerage/matchings/{run_id}/proposals",
    **operation(
        SIGNED_IN,
        list[ProposalOut],
        description="Proposals sent from one matching.",
        who="a broker for the matching's region; 404 for anyone else.",
        problems=(404,),
    ),
)
def run_proposals(request: HttpRequest, run_id: Id) -> list[dict[str, Any]]:
    run = MatchingRun.objects.filter(pk=run_id).first()
    if run is None or not queries.can_view_run(request.user, run):
        raise NotFound("Not found")
    return queries.proposal_rows_for_run(run)


@router.get(
    "/brokerage/proposals/{proposal_id}",
    **operation(
        SIGNED_IN,
        ProposalOut,
        description="One proposal.",
        who="a user who can answer for either side; 404 for anyone else.",
        problems=(404,),
    ),
)
def get_proposal(request: HttpRequest, proposal_id: Id) -> dict[str, Any]:
    rows = (
        [r for r in queries.proposal_rows(request.user) if r["id"] == proposal_id]
        if _signed_in(request)
        else []
    )
    if not rows:
        raise NotFound("Not found")
    return rows[0]


@router.get(
    "/brokerage/proposals",
    **operation(
        SIGNED_IN,
        list[ProposalOut],
        description="Proposals where the caller's school gives or receives support, or for the caller's own "
        "system-leader offers; `sides` lists the sides the caller can still answer for.",
        who="any signed-in user; anonymous: empty.",
    ),
)
def list_proposals(request: HttpRequest) -> list[dict[str, Any]]:
    return queries.proposal_rows(request.user) if _signed_in(request) else []


@router.post(
    "/brokerage/proposals/{proposal_id}",
    **operation(
        SIGNED_IN,
        ProposalOut,
        description="Accept or decline one side of a proposal. When both sides accept, the deployment "
        "becomes active and takes one place of the offer (409 when the offer is full).",
        who="for side=need a school user of the school in need; for side=offer a school user of the "
        "supporting school, or the system leader who made the offer (403 otherwise).",
        problems=WRITE_PROBLEMS,
        write=True,
    ),
)
def respond(request: HttpRequest, proposal_id: Id, payload: RespondIn) -> dict[str, Any]:
    p = services.respond(request.user, proposal_id, payload.side, payload.accept)  # full offer: 409
    return next(r for r in queries.proposal_rows(request.user) if r["id"] == p.pk)


@router.get(
    "/brokerage/deployments",
    **operation(
        SIGNED_IN,
        list[DeploymentOut],
        description="Deployments the caller is part of (either school, their offers) or brokers for.",
        who="any signed-in user; anonymous: empty.",
    ),
)
def list_deployments(request: HttpRequest) -> list[dict[str, Any]]:
    return queries.deployment_rows(request.user) if _signed_in(request) else []


def _deployment_out(user: Actor, deployment_id: int) -> dict[str, Any]:
    """The deployment as `user` sees it; 404 when they cannot see it (the same answer as a missing one)."""
    row = next((r for r in queries.deployment_rows(user) if r["id"] == deployment_id), None)
    if row is None:
        raise NotFound("Not found")
    return row


@router.get(
    "/brokerage/deployments/{deployment_id}",
    **operation(
        SIGNED_IN,
        DeploymentOut,
        description="One deployment.",
        who="its schools, the system leader of its offer, or a broker for its region; 404 otherwise.",
        problems=(404,),
    ),
)
def get_deployment(request: HttpRequest, deployment_id: Id) -> dict[str, Any]:
    if not _signed_in(request) or not queries.deployments_for(request.user).filter(pk=deployment_id).exists():
        raise NotFound("Not found")
    return _deployment_out(request.user, deployment_id)


@router.post(
    "/brokerage/deployments/{deployment_id}",
    **operation(
        SIGNED_IN,
        DeploymentOut,
        description="Set the type of support, days and dates of an active deployment; with "
        "`close_with_outcome`, close it with that outcome note.",
        who="a broker for the supported school's region; 404 for a deployment the caller cannot see (as for a "
        "missing one), 403 for one they can see but not manage.",
        problems=WRITE_PROBLEMS,
        write=True,
    ),
)
def update_deployment(request: HttpRequest, deployment_id: Id, payload: DeploymentIn) -> dict[str, Any]:
    # a deployment the caller cannot see answers exactly as a missing one, whatever the payload (issue 10, hole
    # 5: no existence oracle); one they can see but not manage (its schools, its leader) answers 403
    if not queries.deployments_for(request.user).filter(pk=deployment_id).exists():
        raise NotFound("Not found")
    data = payload.dict()
    outcome = data.pop("close_with_outcome")
    if any(v is not None for v in data.values()):
        services.update_deployment(request.user, deployment_id, **data)
    if outcome is not None:
        services.close_deployment(request.user, deployment_id, outcome)
    return _deployment_out(request.user, deployment_id)


class NeedOut(Schema):
    id: int
    school: int
    area: str
    severity: int
    source: str
    evidence: str
    is_open: bool


class OfferOut(Schema):
    id: int
    school: int
    designation: str
    areas: list[str]
    phases: list[str]
    capacity: int
    max_miles: float | None
    available_from: dt.date | None
    available_to: dt.date | None
    source: str
    is_active: bool


@router.get(
    "/brokerage/needs",
    **operation(
        SIGNED_IN,
        list[NeedOut],
        description="The needs of the caller's schools (identified from data and declared).",
        who="any signed-in user; anonymous: empty.",
    ),
)
def list_needs(request: HttpRequest) -> list[dict[str, Any]]:
    if not _signed_in(request):
        return []
    return [
        {
            "id": n.pk,
            "school": n.school_id,
            "area": n.area,
            "severity": n.severity,
            "source": n.source,
            "evidence": n.evidence,
            "is_open": n.is_open,
        }
        for n in queries.needs_of(request.user)
    ]


@router.get(
    "/brokerage/offers",
    **operation(
        SIGNED_IN,
        list[OfferOut],
        description="The offers of the caller's schools and the caller's own system-leader offers.",
        who="any signed-in user; anonymous: empty.",
    ),
)
def list_offers(request: HttpRequest) -> list[dict[str, Any]]:
    if not _signed_in(request):
        return []
    return [
        {
            "id": o.pk,
            "school": o.school_id,
            "designation": o.designation,
            "areas": o.areas,
            "phases": o.phases,
            "capacity": o.capacity,
            "max_miles": o.max_miles,
            "available_from": o.available_from,
            "available_to": o.available_to,
            "source": o.source,
            "is_active": o.is_active,
        }
        for o in queries.offers_of(request.user)
    ]


@router.post(
    "/brokerage/needs",
    **operation(
        SIGNED_IN,
        IdOut,
        description="Declare (or update) a need for support in one area, with a severity 1-3.",
        who="a school user of that school (403 otherwise).",
        problems=WRITE_PROBLEMS,
        write=True,
    ),
)
def declare_need(request: HttpRequest, payload: NeedIn) -> dict[str, int]:
    need = services.declare_need(
        request.user, payload.school, payload.area, payload.severity, payload.evidence
    )
    return {"id": need.pk}


@router.post(
    "/brokerage/offers",
    **operation(
        SIGNED_IN,
        IdOut,
        description="Offer support: areas, phases, capacity (default by designation), travel distance and "
        "dates.",
        who="a school user of that school; a system leader (`as_system_leader`) who is that school's user or "
        "has a designation recorded for them at that school; a `designation` must be recorded there "
        "(403 otherwise).",
        problems=WRITE_PROBLEMS,
        write=True,
    ),
)
def declare_offer(request: HttpRequest, payload: OfferIn) -> dict[str, int]:
    d = payload.dict()
    school, areas, phases = d.pop("school"), d.pop("areas"), d.pop("phases")
    return {"id": services.declare_offer(request.user, school, areas, phases, **d).pk}


__all__ = ["router", "Proposal"]
