"""Brokerage reads for pages and the API: who may see or manage what (role predicates), matching results and
cold spots, proposals, deployments, and the needs and offers of a user's schools.

Writes (derive, declare, match, propose, respond, deploy) are in `brokerage.services`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Role, RoleAssignment
from accounts.permissions import can_act_for_school, is_regional, regions_of, schools_of
from brokerage import engine
from brokerage.models import Deployment, MatchingRun, Need, Offer, Proposal, Response
from partnerships.models import Designation
from partnerships.queries import school_users
from schoolpartners.districts import district_names
from schoolpartners.regions import in_region, region_q
from schoolpartners.types import Actor, User
from schools.models import School

__all__ = [
    "UNMATCHED_LABELS",
    "broker_for_school_region",
    "broker_regions",
    "brokers_for_school_region",
    "can_manage_deployment",
    "can_view_run",
    "check_view_run",
    "cold_spots",
    "matched_by_area",
    "miles_label",
    "run_ladder",
    "run_summary_words",
    "unmet_by_district",
    "deployment_rows",
    "deployments_for",
    "is_broker_for",
    "is_system_leader",
    "latest_run",
    "need_side_users",
    "needs_of",
    "offer_side_users",
    "offers_of",
    "proposal_rows",
    "proposal_rows_for_run",
    "proposals_for",
    "recorded_designations",
    "regions",
    "result_rows",
    "schools_of",
    "sides_for",
]


UNMATCHED_LABELS = {**engine.UNMATCHED_REASONS, "no_location": "The school has no recorded location"}


# ---------------------------------------------------------------------------------------------------------------
# Who may see and manage what
# ---------------------------------------------------------------------------------------------------------------
def is_system_leader(user: Actor) -> bool:
    return (
        isinstance(user, User) and RoleAssignment.objects.filter(user=user, role=Role.SYSTEM_LEADER).exists()
    )


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def recorded_designations(school_urn: int, user: Actor | None = None) -> set[str]:
    """The NLE/LLE/SLE designations currently recorded (partnerships register, by staff or the regional
    director's office) at `school_urn`; with `user`, only those whose person is that user (by full name)."""
    today = timezone.localdate()
    rows = Designation.objects.filter(
        school_id=school_urn, kind__in=["nle", "lle", "sle"], valid_from__lte=today
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
    if user is None:
        return {d.kind for d in rows}
    name = _name_key(user.get_full_name()) if isinstance(user, User) else ""
    return {d.kind for d in rows if name and _name_key(d.person_name) == name}


def broker_regions(user: Actor) -> list[str]:
    return regions_of(user, Role.BROKER)


def is_broker_for(user: Actor, region: str) -> bool:
    return bool(region) and is_regional(user, Role.BROKER, region)


def broker_for_school_region(user: Actor, school_region: str) -> bool:
    return any(in_region(school_region, r) for r in broker_regions(user))


def brokers_for_school_region(school_region: str) -> list[User]:
    """Active brokers whose region holds a school of `school_region` (to tell them about its deployments)."""
    ids = {
        ra.user_id
        for ra in RoleAssignment.objects.filter(role=Role.BROKER, user__is_active=True)
        if in_region(school_region, ra.region)
    }
    return list(User.objects.filter(pk__in=ids))


def need_side_users(need: Need) -> list[User]:
    """Who answers for the school with the need: its school users."""
    return school_users(need.school_id)


def offer_side_users(offer: Offer) -> list[User]:
    """Who answers for the supporter: the system leader who made the offer, else the school's users."""
    if offer.leader_id is not None:
        return list(User.objects.filter(pk=offer.leader_id, is_active=True))
    return school_users(offer.school_id)


def can_view_run(user: Actor, run: MatchingRun) -> bool:
    return is_broker_for(user, run.region)


def check_view_run(user: Actor, run: MatchingRun) -> None:
    if not can_view_run(user, run):
        raise PermissionDenied("Only a broker for this region can see its matchings.")


def can_manage_deployment(user: Actor, d: Deployment) -> bool:
    return broker_for_school_region(user, d.need.school.region_name)


def sides_for(user: Actor, proposal: Proposal) -> list[str]:
    """Which side(s) of a proposal the user may answer for: "need" and/or "offer"."""
    sides = []
    if can_act_for_school(user, proposal.need.school_id):
        sides.append("need")
    o = proposal.offer
    if o.leader_id is not None:
        if getattr(user, "pk", None) == o.leader_id:
            sides.append("offer")
    elif can_act_for_school(user, o.school_id):
        sides.append("offer")
    return sides


# ---------------------------------------------------------------------------------------------------------------
# Matchings
# ---------------------------------------------------------------------------------------------------------------
def regions() -> list[str]:
    return sorted(
        r
        for r in School.objects.exclude(region_name="").values_list("region_name", flat=True).distinct()
        if r
    )


def latest_run(region: str) -> MatchingRun | None:
    return MatchingRun.objects.filter(region__iexact=region, status=MatchingRun.Status.DONE).first()


def result_rows(run: MatchingRun) -> list[dict[str, Any]]:
    rows = []
    qs = run.results.select_related("need__school", "offer__school", "offer__leader").order_by(
        "-need__severity", "need__school__name", "need__area"
    )
    sent = set(Proposal.objects.filter(run=run).values_list("need_id", "offer_id"))
    for r in qs:
        s = r.need.school
        rows.append(
            {
                "result_id": r.pk,
                "need_id": r.need_id,
                "urn": s.urn,
                "school": s.name,
                "la": s.la_name,
                "region": s.region_name,
                "lat": s.latitude,
                "lon": s.longitude,
                "area": r.need.get_area_display(),
                "severity": r.need.get_severity_display(),
                "need_source": r.need.get_source_display(),
                "offer_id": r.offer_id,
                "supporter_urn": r.offer.school_id if r.offer else None,
                "supporter": (
                    r.offer.school.name
                    + (f" ({r.offer.get_designation_display()})" if r.offer.designation else "")
                )
                if r.offer
                else "",
                "miles": r.miles,
                "cost": r.cost,
                "reason": r.reason,
                "alternatives": "; ".join(f"{a['name']} ({a['miles']} mi)" for a in r.alternatives),
                "unmatched": UNMATCHED_LABELS.get(r.unmatched_reason, r.unmatched_reason),
                "nearest_miles": r.nearest_miles,
                "proposed": (r.need_id, r.offer_id) in sent,
            }
        )
    return rows


def run_ladder(run: MatchingRun) -> tuple[float, ...]:
    """The radius ladder (miles) this run used: its own what-if ladder, else the standard one."""
    ladder = (run.summary or {}).get("params", {}).get("ladder")
    if not ladder and run.params.get("max_radius"):
        r = float(run.params["max_radius"])
        ladder = (r / 3, 2 * r / 3, r)
    return tuple(float(x) for x in (ladder or engine.DEFAULT_PARAMS.ladder))


def miles_label(miles: float) -> str:
    """25 -> "25", 2.666 -> "2.7" (a rung of the ladder, for labels)."""
    return f"{miles:,.0f}" if abs(miles - round(miles)) < 0.05 else f"{miles:,.1f}"


def cold_spots(run: MatchingRun) -> dict[str, Any]:
    """Needs with no compatible offer within the middle and the outer rung of this run's own radius ladder
    (50 and 75 miles for the standard ladder), counted by local authority and region. `over_50` and `over_75`
    stay fixed at 50 and 75 miles (the API's fields); `beyond_middle` and `beyond_outer` follow the ladder."""
    ladder = run_ladder(run)
    middle, outer = ladder[len(ladder) // 2] if len(ladder) > 1 else ladder[0], ladder[-1]
    by_la: dict[tuple[str, str], dict[str, int]] = {}
    by_region: dict[str, dict[str, int]] = {}
    points = []

    def blank() -> dict[str, int]:
        return {"needs": 0, "over_50": 0, "over_75": 0, "beyond_middle": 0, "beyond_outer": 0, "unserved": 0}

    for r in run.results.select_related("need__school"):
        s = r.need.school
        nm = r.nearest_miles if r.nearest_miles is not None else float("inf")
        la = by_la.setdefault((s.region_name, s.la_name), blank())
        rg = by_region.setdefault(s.region_name, blank())
        for d in (la, rg):
            d["needs"] += 1
            d["over_50"] += nm > 50
            d["over_75"] += nm > 75
            d["beyond_middle"] += nm > middle
            d["beyond_outer"] += nm > outer
            d["unserved"] += r.offer_id is None
        if nm > middle and s.latitude is not None:
            points.append(
                {
                    "urn": s.urn,
                    "name": s.name,
                    "lat": s.latitude,
                    "lon": s.longitude,
                    "area": r.need.get_area_display(),
                    "la": s.la_name,
                    "nearest": None if nm == float("inf") else round(nm, 1),
                }
            )
    las = [
        {"region": k[0], "la": k[1], **v}
        for k, v in sorted(by_la.items())
        if v["beyond_middle"] or v["unserved"]
    ]
    regs = [{"region": k, **v} for k, v in sorted(by_region.items())]
    return {
        "by_la": las,
        "by_region": regs,
        "points": points,
        "ladder": ladder,
        "middle": miles_label(middle),
        "outer": miles_label(outer),
        "ladder_text": ", ".join(miles_label(x) for x in ladder) + " miles",
        "national": bool((run.summary or {}).get("params", {}).get("national", True)),
    }


def run_summary_words(run: MatchingRun, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's result in words: needs served and unserved, share served, mean and longest miles travelled
    (instead of the solver's objective, which is kept for the methodology)."""
    matched = [r for r in rows if r["offer_id"]]
    miles = [float(r["miles"]) for r in matched if r["miles"] is not None]
    needs = int((run.summary or {}).get("needs", len(rows)))
    served = int((run.summary or {}).get("served", len(matched)))
    return {
        "needs": needs,
        "served": served,
        "unserved": needs - served,
        "share": served / needs if needs else None,
        "mean_miles": sum(miles) / len(miles) if miles else None,
        "max_miles": max(miles) if miles else None,
        "areas": len({r["area"] for r in matched}),
    }


def matched_by_area(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Matched needs grouped by area of need (largest group first), each with how many are still to send."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["offer_id"]:
            groups.setdefault(r["area"], []).append(r)
    out = [
        {"area": area, "slug": "area-" + str(i), "rows": g, "to_send": sum(not r["proposed"] for r in g)}
        for i, (area, g) in enumerate(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])), start=1)
    ]
    return out


def unmet_by_district(run: MatchingRun) -> list[dict[str, Any]]:
    """Needs of a run by local authority district (ONS outlines, the same the maps draw): how many, and how many
    the run left unserved. Districts with no need are left out; needs of schools with no location are counted
    under "Location not known"."""
    rows = list(run.results.values_list("need__school__latitude", "need__school__longitude", "offer_id"))
    located = [(lat, lon, offer) for lat, lon, offer in rows if lat is not None and lon is not None]
    names = district_names([r[0] for r in located], [r[1] for r in located])
    counts: dict[str, dict[str, int]] = {}
    for (_, _, offer), name in zip(located, names, strict=True):
        c = counts.setdefault(name or "Outside the district outlines", {"needs": 0, "unserved": 0})
        c["needs"] += 1
        c["unserved"] += offer is None
    missing = [r for r in rows if r[0] is None or r[1] is None]
    if missing:
        counts["Location not known"] = {"needs": len(missing), "unserved": sum(r[2] is None for r in missing)}
    return [
        {"district": k, **v}
        for k, v in sorted(counts.items(), key=lambda kv: (-kv[1]["unserved"], -kv[1]["needs"], kv[0]))
    ]


# ---------------------------------------------------------------------------------------------------------------
# Proposals, deployments, needs and offers
# ---------------------------------------------------------------------------------------------------------------
def proposals_for(user: Actor) -> QuerySet[Proposal]:
    schools = schools_of(user)
    return (
        Proposal.objects.filter(
            Q(need__school_id__in=schools)
            | Q(offer__school_id__in=schools, offer__leader__isnull=True)
            | Q(offer__leader_id=getattr(user, "pk", None))
        )
        .select_related("need__school", "offer__school")
        .distinct()
    )


def _proposal_row(p: Proposal, sides: list[str]) -> dict[str, Any]:
    return {
        "id": p.pk,
        "school": p.need.school.name,
        "urn": p.need.school_id,
        "area": p.need.get_area_display(),
        "supporter": p.offer.school.name,
        "supporter_urn": p.offer.school_id,
        "miles": p.miles,
        "reason": p.reason,
        "status": p.get_status_display(),
        "need_response": p.get_need_response_display(),
        "offer_response": p.get_offer_response_display(),
        "sides": sides,
    }


def proposal_rows_for_run(run: MatchingRun) -> list[dict[str, Any]]:
    return [_proposal_row(p, []) for p in run.proposals.select_related("need__school", "offer__school")]


def proposal_rows(user: Actor) -> list[dict[str, Any]]:
    out = []
    for p in proposals_for(user):
        sides = [
            s
            for s in sides_for(user, p)
            if p.status == Proposal.Status.SENT
            and (p.need_response if s == "need" else p.offer_response) == Response.PENDING
        ]
        out.append(_proposal_row(p, sides))
    return out


def deployments_for(user: Actor) -> QuerySet[Deployment]:
    schools = schools_of(user)
    regions_ = broker_regions(user)
    q = (
        Q(need__school_id__in=schools)
        | Q(offer__school_id__in=schools)
        | Q(offer__leader_id=getattr(user, "pk", None))
    )
    for r in regions_:
        q |= region_q("need__school__region_name", r)
    return Deployment.objects.filter(q).select_related("need__school", "offer__school").distinct()


def deployment_rows(user: Actor) -> list[dict[str, Any]]:
    return [
        {
            "id": d.pk,
            "school": d.need.school.name,
            "urn": d.need.school_id,
            "area": d.need.get_area_display(),
            "supporter": d.offer.school.name,
            "supporter_urn": d.offer.school_id,
            "status": d.get_status_display(),
            "support_type": d.get_support_type_display(),
            "days": d.days,
            "start": d.start,
            "end": d.end,
            "outcome": d.outcome,
            "can_manage": can_manage_deployment(user, d),
        }
        for d in deployments_for(user)
    ]


def needs_of(user: Actor) -> QuerySet[Need]:
    """The needs (identified from data and declared) of the user's schools."""
    return Need.objects.filter(school_id__in=schools_of(user)).select_related("school")


def offers_of(user: Actor) -> QuerySet[Offer]:
    """The offers of the user's schools (not system-leader offers made from them) and the user's own
    system-leader offers; none for an anonymous user."""
    if not getattr(user, "is_authenticated", False):
        return Offer.objects.none()
    return Offer.objects.filter(
        Q(school_id__in=schools_of(user), leader__isnull=True) | Q(leader_id=user.pk)
    ).select_related("school")
