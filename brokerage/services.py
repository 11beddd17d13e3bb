"""Brokerage services: derive needs and offers, run matchings, send proposals, respond, track deployments.

Every write is one function here under `transaction.atomic` that checks the actor's role
(`accounts.permissions`) and records an audit event. The matching itself is `brokerage.engine` (pure); this
module only turns the database into its arrays and its answer back into rows.

Definitions (documented on the methodology page, `brokerage/templates/brokerage/methodology.html`):
- Data-identified needs (`derive_from_register`):
  * latest Ofsted judgement Requires improvement / Satisfactory (pre-2012 wording) -> leadership need,
    severity 2 (Satisfactory: 1); Inadequate / Serious weaknesses / Special measures -> severity 3;
  * results "well below" in two or more of the stored years (`schools.Result`): KS2 mean of the reading and
    writing progress scores < -2 (English need), KS2 maths progress < -2 (maths need), Progress 8 < -0.5
    (curriculum need); severity 2, or 3 when the latest of those years is below twice the threshold.
- Scope: open state-funded mainstream schools of a brokered phase (primary, middle, secondary, all-through,
  16 plus); special and independent schools are not derived from data but can declare needs and offers.
- Default offers: every open school whose latest judgement is in `BROKERAGE_ELIGIBLE_RATINGS` (default Good,
  Outstanding) and which has no open need gets one offer, capacity `BROKERAGE_CAPACITY[""]` (2), in the areas
  where it is strong relative to its family (current similarity run, family z >= 0.5 on the area's measures;
  leadership when Outstanding). No travel limit, so the national rung of the ladder can reach it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Role, RoleAssignment
from accounts.permissions import can_act_for_school, is_regional, regions_of, require, schools_of
from audit.services import record
from brokerage import engine
from brokerage.models import (
    AREA_INDEX,
    Area,
    Deployment,
    Designation,
    MatchingRun,
    MatchResult,
    Need,
    Offer,
    Proposal,
    Response,
    SupportType,
)
from partnerships.models import Membership
from schools.models import Result, School, Status

NEED_RATINGS = {
    "requires improvement": 2,
    "satisfactory": 1,
    "serious weaknesses": 3,
    "special measures": 3,
    "inadequate": 3,
}
KS2_THRESHOLD = -2.0
P8_THRESHOLD = -0.5
MIN_YEARS_BELOW = 2
STRONG_Z = 0.5

PHASE_BITS = {
    "primary": 1,
    "middle_primary": 1,
    "secondary": 2,
    "middle_secondary": 2,
    "16_plus": 2,
    "all_through": 3,
}
PHASE_NAMES = {1: "primary", 2: "secondary"}

#: family-strength measures per area and phase (similarity strengths); areas not listed have no data measure
AREA_MEASURES: dict[str, dict[str, tuple[str, ...]]] = {
    "english": {"primary": ("READPROG", "WRITPROG"), "secondary": ("PTL2BASICS_95",)},
    "maths": {"primary": ("MATPROG",), "secondary": ("PTL2BASICS_95",)},
    "curriculum": {"primary": ("READPROG", "WRITPROG", "MATPROG"), "secondary": ("P8MEA", "ATT8SCR")},
    "leadership": {"primary": ("READPROG", "WRITPROG", "MATPROG"), "secondary": ("P8MEA",)},
}


class CapacityExhausted(ValidationError):
    pass


def eligible_ratings() -> tuple[str, ...]:
    return tuple(getattr(settings, "BROKERAGE_ELIGIBLE_RATINGS", ("Good", "Outstanding")))


def capacity_for(designation: str) -> int:
    caps = {"": 2, "nle": 4, "lle": 3, "sle": 2}
    caps.update(getattr(settings, "BROKERAGE_CAPACITY", {}))
    return int(caps.get(designation, caps[""]))


def regions() -> list[str]:
    return sorted(
        r
        for r in School.objects.exclude(region_name="").values_list("region_name", flat=True).distinct()
        if r
    )


def is_system_leader(user: Any) -> bool:
    return (
        bool(getattr(user, "is_authenticated", False))
        and RoleAssignment.objects.filter(user=user, role=Role.SYSTEM_LEADER).exists()
    )


def region_q(field: str, region: str) -> Q:
    """Schools in `region`: the stored region name itself (e.g. the sub-region "West Midlands C") or, for one of
    the nine English regions ("West Midlands"), every stored sub-region that belongs to it."""
    from similarity.pack import SUBREGION_TO_REGION

    q = Q(**{f"{field}__iexact": region})
    for prefix, name in SUBREGION_TO_REGION.items():
        if name.lower() == region.strip().lower():
            q |= Q(**{f"{field}__istartswith": prefix})
    return q


def in_region(school_region: str, region: str) -> bool:
    from similarity.services import region_of

    return bool(region) and (
        school_region.strip().lower() == region.strip().lower()
        or region_of(school_region).lower() == region.strip().lower()
    )


def broker_for_school_region(user: Any, school_region: str) -> bool:
    return any(in_region(school_region, r) for r in broker_regions(user))


def broker_regions(user: Any) -> list[str]:
    return regions_of(user, Role.BROKER)


def is_broker_for(user: Any, region: str) -> bool:
    return bool(region) and is_regional(user, Role.BROKER, region)


# ---------------------------------------------------------------------------------------------------------------
# Derive needs and default offers from the register (idempotent)
# ---------------------------------------------------------------------------------------------------------------
def _current_similarity() -> tuple[Any, dict[int, Any]]:
    from similarity.models import SchoolSimilarity, SimilarityRun

    run = SimilarityRun.objects.filter(is_current=True).first()
    if run is None:
        return None, {}
    rows = SchoolSimilarity.objects.filter(run=run).values_list("school_id", "phase", "features", "strengths")
    return run, {urn: (phase, feats, strengths) for urn, phase, feats, strengths in rows}


def area_z(phase: str, strengths: dict[str, Any], area: str) -> float:
    """Mean family z-score of the area's measures (NaN when the area has no measure or no value)."""
    codes = AREA_MEASURES.get(area, {}).get(phase, ())
    zs = [strengths.get(c, {}).get("z") for c in codes]
    vals = [float(z) for z in zs if z is not None]
    return float(np.mean(vals)) if vals else float("nan")


OUT_OF_SCOPE_TYPES = ("independent", "special")


def in_scope_schools() -> QuerySet[School]:
    """Open state-funded mainstream schools of a brokered phase: data-identified needs and default offers are
    derived for these only (special and independent schools can still declare needs and offers)."""
    return School.objects.filter(
        status__in=[Status.OPEN, Status.PENDING_CLOSURE], phase__in=list(PHASE_BITS)
    ).exclude(type_group__in=OUT_OF_SCOPE_TYPES)


def identify_needs() -> dict[tuple[int, str], tuple[int, str]]:
    """{(urn, area): (severity, evidence)} for every open school with a data signal."""
    out: dict[tuple[int, str], tuple[int, str]] = {}
    open_schools = in_scope_schools()
    for urn, rating, date in open_schools.exclude(ofsted_rating="").values_list(
        "urn", "ofsted_rating", "ofsted_date"
    ):
        sev = NEED_RATINGS.get(rating.strip().lower())
        if sev:
            when = f" ({date:%d %B %Y})" if date else ""
            out[(urn, "leadership")] = (sev, f"Latest Ofsted judgement: {rating}{when}.")
    series: dict[tuple[int, str], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    rows = (
        Result.objects.filter(
            measure__in=["READPROG", "WRITPROG", "MATPROG", "P8MEA"],
            value__isnull=False,
            school__status__in=[Status.OPEN, Status.PENDING_CLOSURE],
            school__phase__in=list(PHASE_BITS),
        )
        .exclude(school__type_group__in=OUT_OF_SCOPE_TYPES)
        .values_list("school_id", "year", "measure", "value")
    )
    for urn, year, measure, value in rows.iterator(chunk_size=20000):
        if value is None:
            continue
        if measure in ("READPROG", "WRITPROG"):
            series[(urn, "english")][year].append(value)
        elif measure == "MATPROG":
            series[(urn, "maths")][year].append(value)
        else:
            series[(urn, "curriculum")][year].append(value)
    for (urn, area), years in series.items():
        thr = P8_THRESHOLD if area == "curriculum" else KS2_THRESHOLD
        label = (
            "Progress 8"
            if area == "curriculum"
            else ("maths progress" if area == "maths" else "mean of reading and writing progress")
        )
        vals = {y: float(np.mean(v)) for y, v in years.items() if area != "english" or len(v) == 2}
        below = sorted(y for y, v in vals.items() if v < thr)
        if len(below) >= MIN_YEARS_BELOW:
            latest = max(vals)
            sev = 3 if vals[latest] < 2 * thr else 2
            years_txt = ", ".join(f"{y - 1}/{str(y)[-2:]}: {vals[y]:+.2f}" for y in below)
            out[(urn, area)] = (
                max(sev, out.get((urn, area), (0, ""))[0]),
                f"{label.capitalize()} below {thr:g} in {len(below)} years ({years_txt}).",
            )
    return out


def strong_areas(phase: str, strengths: dict[str, Any], rating: str) -> list[str]:
    areas = [a for a in AREA_MEASURES if np.nan_to_num(area_z(phase, strengths, a), nan=-9) >= STRONG_Z]
    if rating.strip().lower() == "outstanding" and "leadership" not in areas:
        areas.append("leadership")
    return [a.value for a in Area if a.value in areas]


@transaction.atomic
def derive_from_register(actor: Any = None) -> dict[str, int]:
    """Create/update data-identified needs and default offers; close/deactivate those no longer supported.
    Running it twice in a row changes nothing the second time."""
    counts = dict.fromkeys(
        (
            "needs_created",
            "needs_updated",
            "needs_closed",
            "offers_created",
            "offers_updated",
            "offers_deactivated",
        ),
        0,
    )
    wanted = identify_needs()
    existing = {(n.school_id, n.area): n for n in Need.objects.filter(source=Need.Source.DATA)}
    new = []
    for key, (sev, evidence) in wanted.items():
        n = existing.get(key)
        if n is None:
            new.append(
                Need(school_id=key[0], area=key[1], severity=sev, source=Need.Source.DATA, evidence=evidence)
            )
        elif (n.severity, n.evidence, n.is_open) != (sev, evidence, True):
            n.severity, n.evidence, n.is_open = sev, evidence, True
            n.save(update_fields=["severity", "evidence", "is_open"])
            counts["needs_updated"] += 1
    Need.objects.bulk_create(new, batch_size=2000)
    counts["needs_created"] = len(new)
    stale = [n.pk for k, n in existing.items() if k not in wanted and n.is_open]
    counts["needs_closed"] = Need.objects.filter(pk__in=stale).update(is_open=False)

    _, sims = _current_similarity()
    in_need = set(Need.objects.filter(is_open=True).values_list("school_id", flat=True))
    ratings = [r.lower() for r in eligible_ratings()]
    wanted_offers: dict[int, tuple[list[str], list[str]]] = {}
    qs = in_scope_schools().exclude(ofsted_rating="")
    for urn, rating, phase in qs.values_list("urn", "ofsted_rating", "phase"):
        if rating.strip().lower() not in ratings or urn in in_need or phase not in PHASE_BITS:
            continue
        sim = sims.get(urn)
        areas = (
            strong_areas(sim[0], sim[2] or {}, rating)
            if sim
            else (["leadership"] if rating.strip().lower() == "outstanding" else [])
        )
        if areas:
            bits = PHASE_BITS[phase]
            wanted_offers[urn] = (areas, [PHASE_NAMES[b] for b in (1, 2) if bits & b])
    current = {o.school_id: o for o in Offer.objects.filter(source=Offer.Source.DEFAULT)}
    new_offers = []
    cap = capacity_for("")
    for urn, (areas, phases) in wanted_offers.items():
        o = current.get(urn)
        if o is None:
            new_offers.append(
                Offer(
                    school_id=urn,
                    areas=areas,
                    phases=phases,
                    capacity=cap,
                    source=Offer.Source.DEFAULT,
                    evidence="Derived: strong relative to its family.",
                )
            )
        elif (o.areas, o.phases, o.is_active) != (areas, phases, True):
            o.areas, o.phases, o.is_active = areas, phases, True
            o.save(update_fields=["areas", "phases", "is_active"])
            counts["offers_updated"] += 1
    Offer.objects.bulk_create(new_offers, batch_size=2000)
    counts["offers_created"] = len(new_offers)
    gone = [o.pk for u, o in current.items() if u not in wanted_offers and o.is_active]
    counts["offers_deactivated"] = Offer.objects.filter(pk__in=gone).update(is_active=False)
    if any(counts.values()):
        record("brokerage.derive", actor=actor, object_type="brokerage", data=counts)
    return counts


# ---------------------------------------------------------------------------------------------------------------
# Needs and offers declared by users
# ---------------------------------------------------------------------------------------------------------------
@transaction.atomic
def declare_need(user: Any, school_urn: int, area: str, severity: int, evidence: str = "") -> Need:
    require(can_act_for_school(user, school_urn), "You can only declare needs for your own school.")
    if area not in AREA_INDEX:
        raise ValidationError(f"unknown area {area!r}")
    need, _ = Need.objects.update_or_create(
        school_id=school_urn,
        area=area,
        source=Need.Source.DECLARED,
        defaults={"severity": int(severity), "evidence": evidence, "is_open": True, "created_by": user},
    )
    record(
        "brokerage.need.declare",
        actor=user,
        object_type="brokerage.Need",
        object_id=need.pk,
        data={"school": school_urn, "area": area, "severity": int(severity)},
    )
    return need


@transaction.atomic
def declare_offer(
    user: Any,
    school_urn: int,
    areas: Iterable[str],
    phases: Iterable[str],
    *,
    designation: str = "",
    capacity: int | None = None,
    max_miles: float | None = None,
    available_from: dt.date | None = None,
    available_to: dt.date | None = None,
    as_system_leader: bool = False,
) -> Offer:
    """A school user offers their school's support; a system leader (SYSTEM_LEADER role) offers their own."""
    if as_system_leader:
        require(
            getattr(user, "is_authenticated", False)
            and RoleAssignment.objects.filter(user=user, role=Role.SYSTEM_LEADER).exists(),
            "Only a system leader can make a system leader offer.",
        )
    else:
        require(can_act_for_school(user, school_urn), "You can only make offers for your own school.")
    areas, phases = [a for a in areas], [p for p in phases]
    if not areas or any(a not in AREA_INDEX for a in areas):
        raise ValidationError("choose at least one valid area")
    if not phases or any(p not in ("primary", "secondary") for p in phases):
        raise ValidationError("choose primary and/or secondary")
    if designation not in Designation.values:
        raise ValidationError("unknown designation")
    offer = Offer.objects.create(
        school_id=school_urn,
        leader=user if as_system_leader else None,
        designation=designation,
        areas=areas,
        phases=phases,
        capacity=capacity if capacity is not None else capacity_for(designation),
        max_miles=max_miles,
        available_from=available_from,
        available_to=available_to,
        source=Offer.Source.DECLARED,
    )
    record(
        "brokerage.offer.declare",
        actor=user,
        object_type="brokerage.Offer",
        object_id=offer.pk,
        data={"school": school_urn, "areas": areas, "phases": phases, "capacity": offer.capacity},
    )
    return offer


# ---------------------------------------------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------------------------------------------
def phase_mask(names: Iterable[str]) -> int:
    b = 0
    for n in names:
        b |= PHASE_BITS.get(n, 0)
    return b


def active_counts(offer_ids: Iterable[int] | None = None) -> dict[int, int]:
    qs = Deployment.objects.filter(status=Deployment.Status.ACTIVE)
    if offer_ids is not None:
        qs = qs.filter(offer_id__in=list(offer_ids))
    return dict(qs.values("offer_id").annotate(n=Count("id")).values_list("offer_id", "n"))


def _trusts(urns: Iterable[int]) -> dict[int, int]:
    return dict(
        Membership.objects.filter(school_id__in=list(urns), left__isnull=True).values_list(
            "school_id", "partnership_id"
        )
    )


def available_q(on: dt.date) -> Q:
    """Offers available on `on`: available_from <= on <= available_to, an empty date leaving that side open."""
    return (Q(available_from__isnull=True) | Q(available_from__lte=on)) & (
        Q(available_to__isnull=True) | Q(available_to__gte=on)
    )


def build_problem(region: str, today: dt.date | None = None) -> dict[str, Any]:
    """Engine inputs for the open needs of schools in `region` and every offer in England available on `today`
    (the matching's reference date; default today). `unavailable` counts the active offers left out by date."""
    today = today or timezone.localdate()
    needs = list(
        Need.objects.filter(region_q("school__region_name", region), is_open=True)
        .exclude(deployments__status=Deployment.Status.ACTIVE)
        .select_related("school")
        .order_by("-severity", "school_id", "area")
    )
    offers = list(
        Offer.objects.filter(is_active=True)
        .filter(available_q(today))
        .select_related("school")
        .order_by("id")
    )
    run, sims = _current_similarity()
    sd = (run.feature_sd if run else {}) or {}
    feats = ("PNUMFSMEVER", "PNUMEAL", "PSEN", "LOG_NOR")

    def xrow(urn: int) -> list[float]:
        s = sims.get(urn)
        if not s:
            return [np.nan] * len(feats)
        phase, f, _ = s
        sds = sd.get(phase, {})
        return [float(f[k]) / float(sds[k]) if f.get(k) is not None and sds.get(k) else np.nan for k in feats]

    def z(urn: int, area: str) -> float:
        s = sims.get(urn)
        return area_z(s[0], s[2] or {}, area) if s else float("nan")

    located = [n for n in needs if n.school.latitude is not None and n.school.longitude is not None]
    offers = [o for o in offers if o.school.latitude is not None and o.school.longitude is not None]
    used = active_counts([o.pk for o in offers])
    trusts = _trusts({n.school_id for n in located} | {o.school_id for o in offers})
    n_arr = engine.Needs(
        school=np.array([n.school_id for n in located], dtype=np.int64),
        lat=np.array([n.school.latitude for n in located], dtype=float),
        lon=np.array([n.school.longitude for n in located], dtype=float),
        phase=np.array([PHASE_BITS.get(n.school.phase, 0) for n in located], dtype=np.int64),
        area=np.array([AREA_INDEX[n.area] for n in located], dtype=np.int64),
        severity=np.array([n.severity for n in located], dtype=np.int64),
        X=np.array([xrow(n.school_id) for n in located], dtype=float).reshape(len(located), len(feats)),
        strength=np.array([z(n.school_id, n.area) for n in located], dtype=float),
        trust=np.array([trusts.get(n.school_id, -1) for n in located], dtype=np.int64),
    )
    area_list = [a.value for a in Area]
    s_arr = engine.Supporters(
        school=np.array([o.school_id for o in offers], dtype=np.int64),
        lat=np.array([o.school.latitude for o in offers], dtype=float),
        lon=np.array([o.school.longitude for o in offers], dtype=float),
        phases=np.array([phase_mask(o.phases) for o in offers], dtype=np.int64),
        areas=np.array(
            [sum(1 << AREA_INDEX[a] for a in o.areas if a in AREA_INDEX) for o in offers], dtype=np.int64
        ),
        capacity=np.array([max(o.capacity - used.get(o.pk, 0), 0) for o in offers], dtype=np.int64),
        max_miles=np.array([o.max_miles if o.max_miles is not None else np.inf for o in offers], dtype=float),
        X=np.array([xrow(o.school_id) for o in offers], dtype=float).reshape(len(offers), len(feats)),
        strength=np.array([[z(o.school_id, a) for a in area_list] for o in offers], dtype=float).reshape(
            len(offers), len(area_list)
        ),
        trust=np.array([trusts.get(o.school_id, -1) for o in offers], dtype=np.int64),
    )
    unavailable = Offer.objects.filter(is_active=True).exclude(available_q(today)).count()
    return {
        "needs": needs,
        "located": located,
        "offers": offers,
        "n": n_arr,
        "s": s_arr,
        "unavailable": unavailable,
        "on": today,
    }


def params_from(options: dict[str, Any], offers: list[Offer]) -> engine.Params:
    """Engine parameters from a form/API payload: radius ladder, trust rule, what-if capacity and exclusions."""
    p = engine.DEFAULT_PARAMS
    ch: dict[str, Any] = {}
    if options.get("max_radius"):
        r = float(options["max_radius"])
        if r <= 0:
            raise ValidationError("the radius must be positive")
        ch["ladder"] = (r / 3, 2 * r / 3, r)
    if "national" in options:
        ch["national"] = bool(options["national"])
    if options.get("trust_rule"):
        ch["trust_rule"] = options["trust_rule"]
    index = {o.pk: j for j, o in enumerate(offers)}
    if options.get("extra_capacity"):
        ch["extra_capacity"] = tuple(
            (index[int(k)], int(v)) for k, v in dict(options["extra_capacity"]).items() if int(k) in index
        )
    if options.get("exclude_offers"):
        ch["exclude"] = tuple(index[int(k)] for k in options["exclude_offers"] if int(k) in index)
    try:
        return p.with_(**ch)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def support_from(options: dict[str, Any]) -> dt.date:
    """The matching's reference date ("support starting from"): options["support_from"] (a date or ISO string),
    default today. Only offers available on that date take part."""
    v = options.get("support_from")
    if not v:
        return timezone.localdate()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError as exc:
        raise ValidationError("support_from must be a date (YYYY-MM-DD)") from exc


def run_matching(user: Any, region: str, options: dict[str, Any] | None = None) -> MatchingRun:
    """Solve the region; store one MatchResult per open need. Only a broker for the region may run it.
    Offers take part only when available on the reference date `options["support_from"]` (default today)."""
    require(is_broker_for(user, region), "Only a broker for this region can run its matching.")
    options = dict(options or {})
    on = support_from(options)
    options["support_from"] = on.isoformat()
    what_if = any(options.get(k) for k in ("max_radius", "extra_capacity", "exclude_offers")) or (
        "national" in options and not options["national"]
    )
    with transaction.atomic():
        run = MatchingRun.objects.create(region=region, created_by=user, params=options, what_if=what_if)
        record(
            "brokerage.matching.start",
            actor=user,
            object_type="brokerage.MatchingRun",
            object_id=run.pk,
            data={"region": region, "options": options},
        )
    t0 = time.perf_counter()
    try:
        prob = build_problem(region, on)
        params = params_from(options, prob["offers"])
        t1 = time.perf_counter()
        sol = engine.solve(prob["n"], prob["s"], params)
        with transaction.atomic():
            _store(run, prob, sol)
            run.status = MatchingRun.Status.DONE
            run.summary = {
                "needs": len(prob["needs"]),
                "located_needs": len(prob["located"]),
                "offers": len(prob["offers"]),
                "support_from": on.isoformat(),
                "unavailable_offers": prob["unavailable"],
                "arcs": sol.arcs.size,
                "served": sol.served,
                "unserved": len(prob["needs"]) - sol.served,
                "cost": sol.cost,
                "arc_cost": sol.arc_cost,
                "solve_seconds": round(sol.timings.get("total", 0.0), 3),
                "read_seconds": round(t1 - t0, 3),
                "total_seconds": round(time.perf_counter() - t0, 3),
                "params": {k: v for k, v in asdict(params).items() if k not in ("extra_capacity", "exclude")},
            }
            run.save(update_fields=["status", "summary"])
            record(
                "brokerage.matching.done",
                actor=user,
                object_type="brokerage.MatchingRun",
                object_id=run.pk,
                data={"served": sol.served, "needs": len(prob["needs"])},
            )
    except Exception as exc:
        MatchingRun.objects.filter(pk=run.pk).update(status=MatchingRun.Status.FAILED, error=str(exc)[:2000])
        raise
    return run


def _store(run: MatchingRun, prob: dict[str, Any], sol: engine.Solution) -> None:
    located, offers = prob["located"], prob["offers"]
    matches = {m.need: m for m in sol.matches()}
    rows = []
    for i, need in enumerate(located):
        m = matches.get(i)
        nearest = float(sol.nearest_miles[i])
        nearest_v = round(nearest, 2) if np.isfinite(nearest) else None
        if m is None:
            rows.append(
                MatchResult(
                    run=run, need=need, unmatched_reason=str(sol.unmatched_reason[i]), nearest_miles=nearest_v
                )
            )
            continue
        o = offers[m.offer]
        rows.append(
            MatchResult(
                run=run,
                need=need,
                offer=o,
                miles=round(m.miles, 2),
                cost=m.cost,
                nearest_miles=nearest_v,
                reason=engine.explain(m, need.get_area_display(), sol.params),
                alternatives=[
                    {
                        "offer": offers[a.offer].pk,
                        "school": offers[a.offer].school_id,
                        "name": offers[a.offer].school.name,
                        "miles": round(a.miles, 1),
                        "cost": a.cost,
                    }
                    for a in m.alternatives
                ],
            )
        )
    located_ids = {n.pk for n in located}
    for need in prob["needs"]:
        if need.pk not in located_ids:
            rows.append(MatchResult(run=run, need=need, unmatched_reason="no_location"))
    MatchResult.objects.bulk_create(rows, batch_size=2000)


UNMATCHED_LABELS = {**engine.UNMATCHED_REASONS, "no_location": "The school has no recorded location"}


def latest_run(region: str) -> MatchingRun | None:
    return MatchingRun.objects.filter(region__iexact=region, status=MatchingRun.Status.DONE).first()


def can_view_run(user: Any, run: MatchingRun) -> bool:
    return is_broker_for(user, run.region)


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


def cold_spots(run: MatchingRun) -> dict[str, list[dict[str, Any]]]:
    """Needs with no compatible offer within 50 / 75 miles, counted by local authority and region."""
    by_la: dict[tuple[str, str], dict[str, int]] = {}
    by_region: dict[str, dict[str, int]] = {}
    points = []
    for r in run.results.select_related("need__school"):
        s = r.need.school
        nm = r.nearest_miles if r.nearest_miles is not None else float("inf")
        la = by_la.setdefault(
            (s.region_name, s.la_name), {"needs": 0, "over_50": 0, "over_75": 0, "unserved": 0}
        )
        rg = by_region.setdefault(s.region_name, {"needs": 0, "over_50": 0, "over_75": 0, "unserved": 0})
        for d in (la, rg):
            d["needs"] += 1
            d["over_50"] += nm > 50
            d["over_75"] += nm > 75
            d["unserved"] += r.offer_id is None
        if nm > 50 and s.latitude is not None:
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
        {"region": k[0], "la": k[1], **v} for k, v in sorted(by_la.items()) if v["over_50"] or v["unserved"]
    ]
    regs = [{"region": k, **v} for k, v in sorted(by_region.items())]
    return {"by_la": las, "by_region": regs, "points": points}


@transaction.atomic
def send_proposals(user: Any, run: MatchingRun, result_ids: Iterable[int]) -> list[Proposal]:
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
                data={"need": r.need_id, "offer": r.offer_id, "run": run.pk},
            )
        out.append(p)
    return out


def sides_for(user: Any, proposal: Proposal) -> list[str]:
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


def _support_hook() -> Any:
    """Integration point with the support ledger (support/services.py), looked up at call time."""
    try:
        mod = importlib.import_module("support.services")
    except ImportError:
        return None
    return getattr(mod, "record_brokered_deployment", None)


def respond(user: Any, proposal_id: int, side: str, accept: bool) -> Proposal:
    """Accept or decline one side of a proposal. When both sides have accepted, a deployment becomes active,
    taking one place of the offer: the offer row is locked (SELECT ... FOR UPDATE) and its active deployments
    counted in the same transaction, so concurrent acceptances can never overbook it."""
    with transaction.atomic():
        base = Proposal.objects.select_related("need", "offer").get(pk=proposal_id)
        require(side in sides_for(user, base), "You cannot answer this proposal for that school.")
        # lock order: offer, then proposal (every path takes them in this order)
        offer = Offer.objects.select_for_update().get(pk=base.offer_id)
        p = Proposal.objects.select_for_update().select_related("need").get(pk=proposal_id)
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
            data={"side": side},
        )
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
                data={"proposal": p.pk, "offer": offer.pk, "need": p.need_id},
            )
            _to_ledger(d, user)
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


def _to_ledger(d: Deployment, actor: Any) -> None:
    """Send an active/updated/closed deployment to the support ledger (same transaction), if it exists."""
    hook = _support_hook()
    if hook is not None:
        hook(ledger_payload(d), actor=actor)


def can_manage_deployment(user: Any, d: Deployment) -> bool:
    return broker_for_school_region(user, d.need.school.region_name)


@transaction.atomic
def update_deployment(
    user: Any,
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
        data={"support_type": d.support_type, "days": d.days, "start": str(d.start), "end": str(d.end)},
    )
    return d


@transaction.atomic
def close_deployment(user: Any, deployment_id: int, outcome: str) -> Deployment:
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
        data={"outcome": d.outcome},
    )
    return d


# ---------------------------------------------------------------------------------------------------------------
# Reads for pages and the API
# ---------------------------------------------------------------------------------------------------------------
def proposals_for(user: Any) -> QuerySet[Proposal]:
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


def proposal_rows(user: Any) -> list[dict[str, Any]]:
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


def deployments_for(user: Any) -> QuerySet[Deployment]:
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


def deployment_rows(user: Any) -> list[dict[str, Any]]:
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


def check_view_run(user: Any, run: MatchingRun) -> None:
    if not can_view_run(user, run):
        raise PermissionDenied("Only a broker for this region can see its matchings.")
