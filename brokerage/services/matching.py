"""Brokerage matching: turn the database into the engine's arrays (`build_problem`), solve a region
(`run_matching`, audited) and store one `MatchResult` per open need. The matching itself is `brokerage.engine`
(pure)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.permissions import require
from audit.services import record
from brokerage import engine
from brokerage.models import (
    AREA_INDEX,
    Area,
    Deployment,
    MatchingRun,
    MatchResult,
    Need,
    Offer,
)
from brokerage.queries import is_broker_for
from brokerage.services.derive import PHASE_BITS, area_z, current_similarity
from partnerships.models import Membership
from schoolpartners.regions import region_q
from schoolpartners.types import Actor, User


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
    run, sims = current_similarity()
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


def run_matching(user: Actor, region: str, options: dict[str, Any] | None = None) -> MatchingRun:
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
        run = MatchingRun.objects.create(
            region=region,
            created_by=user if isinstance(user, User) else None,
            params=options,
            what_if=what_if,
        )
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
