"""Brokerage JSON API (mounted at /api/brokerage/ in schoolpartners/api.py): matchings, proposals, responses,
deployments, declared needs and offers. Every operation states its access policy; the services enforce the
role scope (a broker only for their region, a school user only for their school, a system leader only for
their own offer). Reads return only what the caller may see (nothing for anonymous callers); writes need a
signed-in session (401 otherwise) and answer 403 when the role does not allow them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, Literal, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.security import django_auth

from brokerage import queries, services
from brokerage.models import Deployment, MatchingRun, Proposal

router = Router(tags=["brokerage"])

SIGNED_IN = "Signed-in users only"
F = TypeVar("F", bound=Callable[..., Any])


def policy(text: str, who: str) -> str:
    return f"{SIGNED_IN}: {who}\n\n{text}"


def errors(fn: F) -> F:
    """Service exceptions as HTTP answers: 403 refused, 404 missing, 400 invalid."""

    @wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PermissionDenied as exc:
            raise HttpError(403, str(exc) or "Not allowed") from exc
        except ObjectDoesNotExist as exc:
            raise HttpError(404, "Not found") from exc
        except ValidationError as exc:
            raise HttpError(400, "; ".join(exc.messages)) from exc

    return inner  # type: ignore[return-value]


def _signed_in(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_authenticated", False))


class MatchingIn(Schema):
    region: str
    trust_rule: Literal["none", "exclude_same", "prefer_same"] = "none"
    support_from: dt.date | None = (
        None  # reference date: only offers available then take part (default today)
    )
    national: bool = True
    max_radius: float | None = None
    exclude_offers: list[int] = []
    extra_capacity: dict[str, int] = {}


class RunOut(Schema):
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
    run: RunOut
    results: list[ResultOut]
    cold_spots_by_la: list[dict[str, Any]]
    cold_spots_by_region: list[dict[str, Any]]


class ProposalsIn(Schema):
    result_ids: list[int]


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
    days: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    close_with_outcome: str | None = None  # closes the deployment with this outcome note


class NeedIn(Schema):
    school: int
    area: str
    severity: int = 2
    evidence: str = ""


class OfferIn(Schema):
    school: int
    areas: list[str]
    phases: list[str]
    designation: str = ""
    capacity: int | None = None
    max_miles: float | None = None
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
    response=list[str],
    description=policy(
        "The regions the caller is a broker for (empty for anyone else).",
        "any signed-in user; anonymous: empty.",
    ),
)
def regions(request: HttpRequest) -> list[str]:
    return queries.broker_regions(request.user) if _signed_in(request) else []


@router.post(
    "/brokerage/matchings",
    response=RunOut,
    auth=django_auth,
    description=policy(
        "Run a matching for a region (optionally a what-if: radius, exclusions, extra capacity). Solves the whole "
        "region at once and stores one result per open need. Only offers available on `support_from` (default "
        "today) take part.",
        "a broker for that region (403 otherwise).",
    ),
)
@errors
def run_matching(request: HttpRequest, payload: MatchingIn) -> dict[str, Any]:
    opts = payload.dict(exclude={"region"})
    opts = {k: v for k, v in opts.items() if v not in (None, [], {})}
    if "support_from" in opts:
        opts["support_from"] = opts["support_from"].isoformat()
    return _run_out(services.run_matching(request.user, payload.region, opts))


@router.get(
    "/brokerage/matchings",
    response=list[RunOut],
    description=policy(
        "The caller's regions' matchings, newest first.", "brokers see their regions; others an empty list."
    ),
)
def list_matchings(request: HttpRequest) -> list[dict[str, Any]]:
    regs = queries.broker_regions(request.user) if _signed_in(request) else []
    return [_run_out(r) for r in MatchingRun.objects.filter(region__in=regs)[:50]]


@router.get(
    "/brokerage/matchings/{run_id}",
    response=RunDetailOut,
    description=policy(
        "One matching: every need with its match, reason and alternatives, or why it is unmatched; cold spots by "
        "local authority and region.",
        "a broker for the matching's region; 404 for anyone else.",
    ),
)
def get_matching(request: HttpRequest, run_id: int) -> dict[str, Any]:
    run = MatchingRun.objects.filter(pk=run_id).first()
    if run is None or not queries.can_view_run(request.user, run):
        raise HttpError(404, "Not found")
    cold = queries.cold_spots(run)
    return {
        "run": _run_out(run),
        "results": queries.result_rows(run),
        "cold_spots_by_la": cold["by_la"],
        "cold_spots_by_region": cold["by_region"],
    }


@router.post(
    "/brokerage/matchings/{run_id}/proposals",
    response=list[IdOut],
    auth=django_auth,
    description=policy(
        "Send proposals for some matched needs of a matching.",
        "a broker for the matching's region (403 otherwise).",
    ),
)
@errors
def send_proposals(request: HttpRequest, run_id: int, payload: ProposalsIn) -> list[dict[str, int]]:
    run = MatchingRun.objects.get(pk=run_id)
    return [{"id": p.pk} for p in services.send_proposals(request.user, run, payload.result_ids)]


@router.get(
    "/brokerage/matchings/{run_id}/proposals",
    response=list[ProposalOut],
    description=policy(
        "Proposals sent from one matching.", "a broker for the matching's region; 404 for anyone else."
    ),
)
def run_proposals(request: HttpRequest, run_id: int) -> list[dict[str, Any]]:
    run = MatchingRun.objects.filter(pk=run_id).first()
    if run is None or not queries.can_view_run(request.user, run):
        raise HttpError(404, "Not found")
    return queries.proposal_rows_for_run(run)


@router.get(
    "/brokerage/proposals/{proposal_id}",
    response=ProposalOut,
    description=policy("One proposal.", "a user who can answer for either side; 404 for anyone else."),
)
def get_proposal(request: HttpRequest, proposal_id: int) -> dict[str, Any]:
    rows = (
        [r for r in queries.proposal_rows(request.user) if r["id"] == proposal_id]
        if _signed_in(request)
        else []
    )
    if not rows:
        raise HttpError(404, "Not found")
    return rows[0]


@router.get(
    "/brokerage/proposals",
    response=list[ProposalOut],
    description=policy(
        "Proposals where the caller's school gives or receives support, or for the caller's own system-leader "
        "offers; `sides` lists the sides the caller can still answer for.",
        "any signed-in user; anonymous: empty.",
    ),
)
def list_proposals(request: HttpRequest) -> list[dict[str, Any]]:
    return queries.proposal_rows(request.user) if _signed_in(request) else []


@router.post(
    "/brokerage/proposals/{proposal_id}",
    response=ProposalOut,
    auth=django_auth,
    description=policy(
        "Accept or decline one side of a proposal. When both sides accept, the deployment becomes "
        "active and takes one place of the offer (409 when the offer is full).",
        "for side=need a school user of the school in need; for side=offer a school user of the "
        "supporting school, or the system leader who made the offer (403 otherwise).",
    ),
)
@errors
def respond(request: HttpRequest, proposal_id: int, payload: RespondIn) -> dict[str, Any]:
    try:
        p = services.respond(request.user, proposal_id, payload.side, payload.accept)
    except services.CapacityExhausted as exc:
        raise HttpError(409, "; ".join(exc.messages)) from exc
    return next(r for r in queries.proposal_rows(request.user) if r["id"] == p.pk)


@router.get(
    "/brokerage/deployments",
    response=list[DeploymentOut],
    description=policy(
        "Deployments the caller is part of (either school, their offers) or brokers for.",
        "any signed-in user; anonymous: empty.",
    ),
)
def list_deployments(request: HttpRequest) -> list[dict[str, Any]]:
    return queries.deployment_rows(request.user) if _signed_in(request) else []


def _deployment_out(user: Any, d: Deployment) -> dict[str, Any]:
    return next(r for r in queries.deployment_rows(user) if r["id"] == d.pk)


@router.get(
    "/brokerage/deployments/{deployment_id}",
    response=DeploymentOut,
    description=policy(
        "One deployment.",
        "its schools, the system leader of its offer, or a broker for its region; 404 otherwise.",
    ),
)
def get_deployment(request: HttpRequest, deployment_id: int) -> dict[str, Any]:
    if not _signed_in(request) or not queries.deployments_for(request.user).filter(pk=deployment_id).exists():
        raise HttpError(404, "Not found")
    return next(r for r in queries.deployment_rows(request.user) if r["id"] == deployment_id)


@router.post(
    "/brokerage/deployments/{deployment_id}",
    response=DeploymentOut,
    auth=django_auth,
    description=policy(
        "Set the type of support, days and dates of an active deployment; with "
        "`close_with_outcome`, close it with that outcome note.",
        "a broker for the supported school's region (403 otherwise).",
    ),
)
@errors
def update_deployment(request: HttpRequest, deployment_id: int, payload: DeploymentIn) -> dict[str, Any]:
    data = payload.dict()
    outcome = data.pop("close_with_outcome")
    if any(v is not None for v in data.values()):
        services.update_deployment(request.user, deployment_id, **data)
    if outcome is not None:
        services.close_deployment(request.user, deployment_id, outcome)
    return _deployment_out(request.user, Deployment.objects.get(pk=deployment_id))


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
    response=list[NeedOut],
    description=policy(
        "The needs of the caller's schools (identified from data and declared).",
        "any signed-in user; anonymous: empty.",
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
    response=list[OfferOut],
    description=policy(
        "The offers of the caller's schools and the caller's own system-leader offers.",
        "any signed-in user; anonymous: empty.",
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
    response=IdOut,
    auth=django_auth,
    description=policy(
        "Declare (or update) a need for support in one area, with a severity 1-3.",
        "a school user of that school (403 otherwise).",
    ),
)
@errors
def declare_need(request: HttpRequest, payload: NeedIn) -> dict[str, int]:
    need = services.declare_need(
        request.user, payload.school, payload.area, payload.severity, payload.evidence
    )
    return {"id": need.pk}


@router.post(
    "/brokerage/offers",
    response=IdOut,
    auth=django_auth,
    description=policy(
        "Offer support: areas, phases, capacity (default by designation), travel distance and dates.",
        "a school user of that school, or a system leader for their own offer (403 otherwise).",
    ),
)
@errors
def declare_offer(request: HttpRequest, payload: OfferIn) -> dict[str, int]:
    d = payload.dict()
    school, areas, phases = d.pop("school"), d.pop("areas"), d.pop("phases")
    return {"id": services.declare_offer(request.user, school, areas, phases, **d).pk}


__all__ = ["router", "Proposal"]
