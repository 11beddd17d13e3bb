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
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from accounts.permissions import can_act_for_school, require
from audit.services import record
from brokerage.models import (
    AREA_INDEX,
    Area,
    Designation,
    Need,
    Offer,
)
from brokerage.queries import is_system_leader, recorded_designations
from schoolpartners.types import Actor, User
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


def eligible_ratings() -> tuple[str, ...]:
    return tuple(getattr(settings, "BROKERAGE_ELIGIBLE_RATINGS", ("Good", "Outstanding")))


def capacity_for(designation: str) -> int:
    caps = {"": 2, "nle": 4, "lle": 3, "sle": 2}
    caps.update(getattr(settings, "BROKERAGE_CAPACITY", {}))
    return int(caps.get(designation, caps[""]))


# ---------------------------------------------------------------------------------------------------------------
# Derive needs and default offers from the register (idempotent)
# ---------------------------------------------------------------------------------------------------------------
def current_similarity() -> tuple[Any, dict[int, Any]]:
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
def derive_from_register(actor: Actor | None = None) -> dict[str, int]:
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

    _, sims = current_similarity()
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
    record("brokerage.derive", actor=actor, object_type="brokerage", data=counts)  # every run, even a no-op
    return counts


# ---------------------------------------------------------------------------------------------------------------
# Needs and offers declared by users
# ---------------------------------------------------------------------------------------------------------------
@transaction.atomic
def declare_need(user: Actor, school_urn: int, area: str, severity: int, evidence: str = "") -> Need:
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
    user: Actor,
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
    """A school user offers their school's support; a system leader (SYSTEM_LEADER role) offers their own.

    An offer is made in a school's name, so it needs that school's consent (issue 10, hole 3):
    - a school offer: the user is a school user of `school_urn`;
    - a system-leader offer (`as_system_leader`): the user holds the SYSTEM_LEADER role AND either is a school
      user of `school_urn` or has a current NLE/LLE/SLE designation recorded at that school under their name
      (partnerships register, recorded by staff or the regional director's office; matched on the user's full
      name);
    - a designation on the offer is never self-declared: it must be one currently recorded at that school (for
      a system-leader offer, recorded for that leader; for a school offer, for anyone at the school).
    Anything else raises PermissionDenied (403) and writes nothing. Capacity is the consenting party's call
    within the form's range.
    """
    if as_system_leader:
        require(is_system_leader(user), "Only a system leader can make a system leader offer.")
        mine = recorded_designations(school_urn, user)
        require(
            can_act_for_school(user, school_urn) or bool(mine),
            "A system leader can offer in a school's name only as that school's user or with a designation "
            "recorded for them at that school.",
        )
    else:
        require(can_act_for_school(user, school_urn), "You can only make offers for your own school.")
        mine = recorded_designations(school_urn) if designation else set()
    areas, phases = [a for a in areas], [p for p in phases]
    if not areas or any(a not in AREA_INDEX for a in areas):
        raise ValidationError("choose at least one valid area")
    if not phases or any(p not in ("primary", "secondary") for p in phases):
        raise ValidationError("choose primary and/or secondary")
    if designation not in Designation.values:
        raise ValidationError("unknown designation")
    if designation:
        require(
            designation in mine,
            f"The designation {designation!r} is not recorded for this offer at school {school_urn}; ask staff "
            "or the regional director's office to record it.",
        )
    offer = Offer.objects.create(
        school_id=school_urn,
        leader=user if as_system_leader and isinstance(user, User) else None,
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
