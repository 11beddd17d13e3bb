"""Partnership reads for pages and the API: compare trusts, a trust's results, sponsors, member-mapping coverage,
requests a user may see and the step they may take, designations, the ISSP search, the chain grant and the
people to notify. Nothing here writes; writes are in `partnerships.services`."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet

from accounts.models import Role, RoleAssignment
from accounts.permissions import can_act_for_school, can_act_for_trust, is_regional
from partnerships import aggregates as agg
from partnerships.aggregates import KEY_STAGES, YEARS
from partnerships.models import (
    Designation,
    IsspPost,
    Kind,
    MemberMapping,
    Membership,
    Partnership,
    PartnershipRequest,
    PartnershipResult,
    RequestStatus,
    TrustAggregate,
)
from schoolpartners.types import Actor, User
from schools.models import CensusRecord, ImportRun, School

# =============================================================================================================
# Compare trusts, a trust's results, sponsors
# =============================================================================================================
COMPARE_SORTS = {
    "name": "partnership__name",
    "members": "members",
    "pupils": "pupils",
    "region": "main_region",
    "phase": "main_phase",
    "ks2": "ks2_headline",
    "ks4": "ks4_headline",
    "compactness": "compactness",
    "max_pair": "max_pair_miles",
    "las": "n_las",
}


@dataclass
class CompareParams:
    q: str = ""
    kind: str = ""
    region: str = ""
    phase: str = ""
    compactness: str = ""
    min_members: int | None = None
    max_members: int | None = None
    sort: str = "members"
    descending: bool = True


def compare_trusts(params: CompareParams) -> QuerySet[TrustAggregate]:
    qs = TrustAggregate.objects.select_related("partnership")
    if params.q:
        qs = qs.filter(
            Q(partnership__name__icontains=params.q) | Q(partnership__external_id__iexact=params.q)
        )
    if params.kind:
        qs = qs.filter(partnership__kind=params.kind)
    if params.region:
        qs = qs.filter(main_region=params.region)
    if params.phase:
        qs = qs.filter(main_phase=params.phase)
    if params.compactness:
        qs = qs.filter(compactness=params.compactness)
    if params.min_members is not None:
        qs = qs.filter(members__gte=params.min_members)
    if params.max_members is not None:
        qs = qs.filter(members__lte=params.max_members)
    field_name = COMPARE_SORTS.get(params.sort, "members")
    order = F(field_name).desc(nulls_last=True) if params.descending else F(field_name).asc(nulls_last=True)
    return qs.order_by(order, "partnership__name")


def compare_regions() -> list[str]:
    return sorted(r for r in TrustAggregate.objects.values_list("main_region", flat=True).distinct() if r)


def trust_results(partnership: Partnership) -> list[PartnershipResult]:
    return list(partnership.results.order_by("measure", "year"))


def trust_aggregate(partnership: Partnership) -> TrustAggregate | None:
    return TrustAggregate.objects.filter(partnership=partnership).first()


def trust_figures(partnership_id: int) -> TrustAggregate | None:
    """A partnership's stored figures with the partnership, by id (None when not computed)."""
    return TrustAggregate.objects.select_related("partnership").filter(partnership_id=partnership_id).first()


def trust_members(partnership: Partnership) -> list[Membership]:
    """Every membership, current first, by school name."""
    return list(partnership.memberships.select_related("school").order_by("left", "school__name"))


def current_schools(partnership: Partnership) -> list[School]:
    return [m.school for m in partnership.memberships.filter(left__isnull=True).select_related("school")]


def mat_choices() -> list[tuple[int, str]]:
    """(id, "Name (TR02659)") of every multi-academy trust, by name: the options of the trust picker."""
    rows = Partnership.objects.filter(kind=Kind.MAT).order_by("name").values_list("pk", "name", "external_id")
    return [(pk, f"{name} ({ext})" if ext else name) for pk, name, ext in rows]


_TRUST_ID = re.compile(r"\b(TR\d{3,8})\b", re.IGNORECASE)


def resolve_mat(text: str) -> int | str:
    """The id of the multi-academy trust a person typed or picked: its DfE id (TR02659, also inside
    "Name (TR02659)"), its number on this service or its exact name. Otherwise a message saying what to fix."""
    text = " ".join(text.split())
    mats = Partnership.objects.filter(kind=Kind.MAT)
    if m := _TRUST_ID.search(text):
        found = list(mats.filter(external_id__iexact=m.group(1)).values_list("pk", flat=True)[:1])
        if found:
            return found[0]
        if Partnership.objects.filter(external_id__iexact=m.group(1)).exists():
            return f"{m.group(1).upper()} is not a multi-academy trust: schools can only ask to join one here"
        return f"There is no multi-academy trust with the DfE id {m.group(1).upper()}"
    if text.isdigit() and len(text) <= 18:
        if mats.filter(pk=int(text)).exists():
            return int(text)
        return "There is no multi-academy trust with that number"
    named = list(mats.filter(name__iexact=text).values_list("pk", flat=True)[:2])
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        return "More than one trust has that name: choose it from the list or type its DfE id, e.g. TR02659"
    return "No multi-academy trust has that name: start typing it and choose it from the list, or type its DfE id"


def urns_in_a_mat(urns: Iterable[int]) -> set[int]:
    """Which of these schools are in a multi-academy trust today (they may ask to leave, not to join)."""
    return set(
        Membership.objects.filter(
            school_id__in=list(urns), left__isnull=True, partnership__kind=Kind.MAT
        ).values_list("school_id", flat=True)
    )


def is_mat(partnership_id: int) -> bool:
    return Partnership.objects.filter(pk=partnership_id, kind=Kind.MAT).exists()


def school_choices(urns: Iterable[int]) -> list[tuple[int, str]]:
    """(URN, "name (URN)") for a form's school choices."""
    return [(s.urn, f"{s.name} ({s.urn})") for s in School.objects.filter(urn__in=list(urns))]


def sponsors() -> QuerySet[Partnership]:
    return (
        Partnership.objects.filter(Q(kind=Kind.SPONSOR) | Q(designations__kind="sponsor"))
        .distinct()
        .annotate(n=Count("memberships", filter=Q(memberships__left__isnull=True)))
        .order_by("name")
    )


# =============================================================================================================
# Member -> results mapping coverage
# =============================================================================================================
def _file_members(ks: int) -> tuple[set[int], str]:
    """URNs listed in INSTITUTIONS_INMAT of the key stage's MAT file, read from the file the import recorded (plain
    or .xz); when that file is gone, the stored open memberships whose source is that file."""
    import csv
    import io
    from pathlib import Path

    from schoolpartners import decompress

    for run in ImportRun.objects.filter(kind="mat_performance", ok=True).order_by("-started_at"):
        name = Path(run.path).name.lower()
        if f"ks{ks}-mats" not in name:
            continue
        path = Path(run.path)
        if path.exists():
            raw = decompress.read(path)  # bounded: the file may have been replaced since it was imported
            urns: set[int] = set()
            for row in csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))):
                urns.update(
                    int(u) for u in (row.get("INSTITUTIONS_INMAT") or "").split(";") if u.strip().isdigit()
                )
            return urns, f"INSTITUTIONS_INMAT of {path.name}"
        stem = name.split(".")[0]
        stored = Membership.objects.filter(left__isnull=True, source__icontains=stem).values_list(
            "school_id", flat=True
        )
        return set(stored), f"stored memberships from {stem} (file not found)"
    return set(), "no MAT file imported"


def mapping_report() -> list[dict[str, Any]]:
    """Per key stage and year: the academies of that key stage's MAT file matched to results directly, through one
    predecessor link, through a chain, or not at all; URNs the register does not hold count as not found."""
    report = []
    for ks in KEY_STAGES:
        urns, basis = _file_members(ks)
        known = (
            set(School.objects.filter(urn__in=list(urns)).values_list("urn", flat=True)) if urns else set()
        )
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        for urn, year, method in MemberMapping.objects.filter(key_stage=ks).values_list(
            "urn", "year", "method"
        ):
            if urn in known:
                counts[year][method] += 1
        for year in YEARS:
            c = counts[year]
            members = len(urns)
            found = c["direct"] + c["link"] + c["chain"]
            report.append(
                {
                    "key_stage": ks,
                    "year": year,
                    "members": members,
                    "basis": basis,
                    "direct": c["direct"],
                    "link": c["link"],
                    "chain": c["chain"],
                    "found": found,
                    "none": members - found,
                    "not_in_register": members - len(known),
                    "found_pct": round(100.0 * found / members, 1) if members else None,
                    "direct_pct": round(100.0 * c["direct"] / members, 1) if members else None,
                }
            )
    return report


# =============================================================================================================
# Requests: which a user may see, and the step they may take now
# =============================================================================================================
def requests_for(user: Actor) -> QuerySet[PartnershipRequest]:
    """Requests a user may see: their schools', trusts' and region's, or all for staff."""
    qs = PartnershipRequest.objects.select_related("school", "partnership")
    if getattr(user, "is_staff", False):
        return qs
    if not user.is_authenticated:
        return qs.none()
    roles = RoleAssignment.objects.filter(user=user)
    schools = [r.school_id for r in roles if r.role == Role.SCHOOL_USER]
    trusts = [r.partnership_id for r in roles if r.role == Role.TRUST_ADMIN]
    regions = [r.region for r in roles if r.role == Role.REGIONAL_APPROVER]
    q = Q(school_id__in=schools) | Q(schools__school_id__in=schools) | Q(partnership_id__in=trusts)
    for region in regions:
        q |= Q(region__iexact=region)
    return qs.filter(q).distinct()


def awaiting_action(user: Actor) -> dict[str, list[PartnershipRequest]]:
    """Requests waiting for a step this user can take: "trust" (their trust's consent), "region" (the regional
    director's approval) and "schools" (their school's consent to a new federation or trust); and "own" (their
    schools' requests still waiting for someone else)."""
    out: dict[str, list[PartnershipRequest]] = {"trust": [], "region": [], "schools": [], "own": []}
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return out
    roles = list(RoleAssignment.objects.filter(user=user))
    schools = [r.school_id for r in roles if r.role == Role.SCHOOL_USER]
    trusts = [r.partnership_id for r in roles if r.role == Role.TRUST_ADMIN]
    regions = [r.region for r in roles if r.role == Role.REGIONAL_APPROVER]
    qs = PartnershipRequest.objects.select_related("school", "partnership").order_by("created_at", "id")
    if trusts:
        out["trust"] = list(qs.filter(status=RequestStatus.AWAITING_TRUST, partnership_id__in=trusts))
    if regions:
        rq = Q()
        for region in regions:
            rq |= Q(region__iexact=region)
        out["region"] = list(qs.filter(rq, status=RequestStatus.AWAITING_REGION))
    if schools:
        out["schools"] = list(
            qs.filter(
                status=RequestStatus.AWAITING_SCHOOLS,
                schools__school_id__in=schools,
                schools__consented_at__isnull=True,
            ).distinct()
        )
        mine = {r.pk for r in out["schools"]}
        out["own"] = [
            r
            for r in qs.filter(
                Q(school_id__in=schools) | Q(schools__school_id__in=schools),
                status__in=[
                    RequestStatus.AWAITING_SCHOOLS,
                    RequestStatus.AWAITING_TRUST,
                    RequestStatus.AWAITING_REGION,
                ],
            ).distinct()
            if r.pk not in mine
        ]
    return out


def can_view_request(user: Actor, req: PartnershipRequest) -> bool:
    return requests_for(user).filter(pk=req.pk).exists()


def request_actions(user: Actor, req: PartnershipRequest) -> dict[str, Any]:
    """Which step this user may take now (for the page)."""
    out: dict[str, Any] = {"trust": False, "region": False, "schools": []}
    if req.status == RequestStatus.AWAITING_TRUST and req.partnership_id:
        out["trust"] = can_act_for_trust(user, req.partnership_id)
    if req.status == RequestStatus.AWAITING_REGION:
        out["region"] = is_regional(user, Role.REGIONAL_APPROVER, req.region)
    if req.status == RequestStatus.AWAITING_SCHOOLS:
        out["schools"] = [
            rs
            for rs in req.schools.select_related("school")
            if rs.consented_at is None and can_act_for_school(user, rs.school_id)
        ]
    return out


# =============================================================================================================
# People to notify (role assignments)
# =============================================================================================================
def _users(qs: QuerySet[RoleAssignment]) -> list[User]:
    ids = set(qs.values_list("user_id", flat=True))
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True))


def trust_admins(partnership_id: int) -> list[User]:
    return _users(RoleAssignment.objects.filter(role=Role.TRUST_ADMIN, partnership_id=partnership_id))


def regional_approvers(region: str) -> list[User]:
    return _users(RoleAssignment.objects.filter(role=Role.REGIONAL_APPROVER, region__iexact=region))


def school_users(urn: int) -> list[User]:
    return _users(RoleAssignment.objects.filter(role=Role.SCHOOL_USER, school_id=urn))


# =============================================================================================================
# Designations
# =============================================================================================================
def can_record_designation(user: Actor, school: School | None) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_staff:
        return True
    if school is not None:
        return is_regional(user, Role.REGIONAL_APPROVER, school.region_name)
    return RoleAssignment.objects.filter(user=user, role=Role.REGIONAL_APPROVER).exists()


def designations(kind: str = "", region: str = "", urn: int | None = None) -> QuerySet[Designation]:
    """Recorded designations (public), filtered by kind, the school's region and the school's URN."""
    qs = Designation.objects.select_related("school", "partnership")
    if kind:
        qs = qs.filter(kind=kind)
    if region:
        qs = qs.filter(school__region_name__iexact=region)
    if urn is not None:
        qs = qs.filter(school_id=urn)
    return qs


# =============================================================================================================
# Chain grant
# =============================================================================================================
def _latest_nor(urns: Iterable[int]) -> dict[int, tuple[int, int]]:
    """urn -> (year, number on roll) from the latest census holding a number on roll."""
    out: dict[int, tuple[int, int]] = {}
    urn_list = list(urns)
    for i in range(0, len(urn_list), 5000):
        rows = CensusRecord.objects.filter(
            school_id__in=urn_list[i : i + 5000], nor__isnull=False
        ).values_list("school_id", "year", "nor")
        for urn, year, nor in rows:
            if nor is not None and (urn not in out or year > out[urn][0]):
                out[urn] = (year, nor)
    return out


def grant_for(urns: Iterable[int]) -> agg.Grant:
    """Chain grant for primary schools forming or joining a chain (amounts from settings GRANT_*)."""
    urn_list = sorted(set(urns))
    schools = {s.urn: s for s in School.objects.filter(urn__in=urn_list)}
    nor = _latest_nor(urn_list)
    rows = [
        (u, schools[u].name if u in schools else f"URN {u}", nor[u][1] if u in nor else None)
        for u in urn_list
    ]
    return agg.grant(
        rows, settings.GRANT_PER_CHAIN, settings.GRANT_PER_SMALL_SCHOOL, settings.GRANT_PER_MEDIUM_SCHOOL
    )


# =============================================================================================================
# ISSP register
# =============================================================================================================
def is_independent(school: School) -> bool:
    return school.type_group == "independent" or "independent" in (school.establishment_type or "").lower()


def point_for(postcode: str = "", urn: int | None = None) -> tuple[float, float] | None:
    """Coordinates of a school (URN) or of a postcode (the register's schools at that postcode, else district)."""
    qs = School.objects.filter(latitude__isnull=False, longitude__isnull=False)
    if urn:
        s = qs.filter(urn=urn).values_list("latitude", "longitude").first()
        return (float(s[0]), float(s[1])) if s and s[0] is not None and s[1] is not None else None
    pc = " ".join(postcode.upper().split())
    if not pc:
        return None
    rows = list(qs.filter(postcode__iexact=pc).values_list("latitude", "longitude")[:50])
    if not rows:
        district = pc.split(" ")[0]
        rows = list(qs.filter(postcode_district__iexact=district).values_list("latitude", "longitude")[:500])
    if not rows:
        return None
    return float(np.mean([r[0] for r in rows])), float(np.mean([r[1] for r in rows]))


@dataclass
class IsspSearch:
    activity: str = ""
    la: str = ""
    region: str = ""
    point: tuple[float, float] | None = None
    miles: float | None = None


def search_issp(params: IsspSearch) -> dict[str, list[dict[str, Any]]]:
    """ISSPs (with their activities and schools) and open posts, filtered by activity, area and distance."""
    ps = Partnership.objects.filter(kind=Kind.ISSP).prefetch_related("activities", "memberships__school")
    if params.activity:
        ps = ps.filter(activities__activity=params.activity).distinct()
    partnerships = []
    for p in ps:
        schools = [m.school for m in p.memberships.all() if m.left is None]
        if params.la and not any(s.la_name.lower() == params.la.lower() for s in schools):
            continue
        if params.region and not any(s.region_name == params.region for s in schools):
            continue
        miles = _nearest(params.point, schools)
        if params.point and params.miles is not None and (miles is None or miles > params.miles):
            continue
        partnerships.append(
            {
                "partnership": p,
                "schools": schools,
                "miles": miles,
                "activities": [a.get_activity_display() for a in p.activities.all()],
            }
        )
    posts_qs = IsspPost.objects.filter(active=True).select_related("school")
    if params.activity:
        posts_qs = posts_qs.filter(activity=params.activity)
    if params.la:
        posts_qs = posts_qs.filter(school__la_name__iexact=params.la)
    if params.region:
        posts_qs = posts_qs.filter(school__region_name=params.region)
    posts = []
    for post in posts_qs:
        miles = _nearest(params.point, [post.school])
        if params.point and params.miles is not None and (miles is None or miles > params.miles):
            continue
        posts.append({"post": post, "miles": miles})
    return {"partnerships": sorted(partnerships, key=_by_miles), "posts": sorted(posts, key=_by_miles)}


def _by_miles(row: dict[str, Any]) -> tuple[bool, float]:
    return (row["miles"] is None, row["miles"] or 0.0)


def _nearest(point: tuple[float, float] | None, schools: list[School]) -> float | None:
    if point is None:
        return None
    d = [
        float(agg.haversine_miles(point[0], point[1], s.latitude, s.longitude))
        for s in schools
        if s.latitude is not None and s.longitude is not None
    ]
    return min(d) if d else None


def issp_matches(post: IsspPost) -> list[dict[str, Any]]:
    """Open posts of the other kind for the same activity, within both posts' distance limits, nearest first."""
    other = IsspPost.REQUEST if post.kind == IsspPost.OFFER else IsspPost.OFFER
    s = post.school
    if s.latitude is None or s.longitude is None:
        return []
    out = []
    for cand in IsspPost.objects.filter(kind=other, activity=post.activity, active=True).select_related(
        "school"
    ):
        c = cand.school
        if c.latitude is None or c.longitude is None:
            continue
        miles = float(agg.haversine_miles(s.latitude, s.longitude, c.latitude, c.longitude))
        if miles <= min(post.max_miles, cand.max_miles):
            out.append({"post": cand, "miles": miles})
    return sorted(out, key=lambda r: r["miles"])
